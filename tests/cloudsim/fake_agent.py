#!/usr/bin/env python3
"""A stand-in for `mitosis agent`, so the simulator's tests do not depend on the real agent.

    fake_agent.py --metadata-url URL --out FILE [--bind IP] [--exit-code N] [--ignore-term]

Fetches URL/metadata/v1.json, writes it to FILE (relative to the cwd, which the
simulator sets to the droplet root), logs the same identity line the real agent
logs, then sleeps until SIGTERM (exit 0). --ignore-term makes it survive SIGTERM
so tests can see the simulator's SIGKILL fallback. --spawn-daemon leaves a
grandchild in a new session, as a badly behaved service would.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--metadata-url", required=True)
    p.add_argument("--out", default="fake-agent.json")
    p.add_argument("--bind")
    p.add_argument("--exit-code", type=int)
    p.add_argument("--ignore-term", action="store_true")
    p.add_argument("--spawn-daemon", action="store_true")
    a = p.parse_args()
    with urllib.request.urlopen(a.metadata_url + "/metadata/v1.json", timeout=5) as r:
        md = json.load(r)
    sock = None
    if a.bind:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((a.bind, 7950))
    with open(a.out + ".tmp", "w") as f:
        json.dump({"metadata": md, "pid": os.getpid(), "pgid": os.getpgrp(), "argv": sys.argv}, f)
    os.replace(a.out + ".tmp", a.out)
    sys.stderr.write('fake-agent: identity: droplet_id=%d hostname="%s"\n' % (md["droplet_id"], md["hostname"]))
    sys.stderr.flush()
    if a.exit_code is not None:
        return a.exit_code
    if a.spawn_daemon:
        subprocess.Popen(["sleep", "300"], start_new_session=True)
    if a.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    for _ in range(3600):
        time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
