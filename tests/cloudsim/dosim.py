#!/usr/bin/env python3
"""dosim: a local, stateful stand-in for the DigitalOcean API v2 and the droplet metadata service.

    python3 tests/cloudsim/dosim.py --port 0 --token-file F --agent build/mitosis --snapshot snap.json

prints the API base URL (http://127.0.0.1:PORT) as the first line of stdout, then
serves until SIGINT/SIGTERM or POST /_sim/shutdown. On exit every droplet process
is stopped (SIGTERM, then SIGKILL after --kill-grace) and every directory the
simulator made is removed. See docs/cloudsim.md for the whole story.
"""

import argparse
import atexit
import ipaddress
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sim_core  # noqa: E402
import sim_http  # noqa: E402
import sim_real  # noqa: E402
import sim_runtime as rt  # noqa: E402

# Realism knobs on the command line: flag -> (config key, help). A range takes S or LO:HI seconds.
KNOB_FLAGS = [
    ("--boot-delay", "boot_delay", "create -> active, S or LO:HI seconds (default 3; real 30:60)"),
    ("--action-delay", "action_delay", "a droplet action's base time, S or LO:HI (default 2; real 5:15)"),
    ("--ip-lag", "ip_lag", "both --public-ip-lag and --private-ip-lag (write --ip-lag=-1 for a negative one)"),
    ("--public-ip-lag", "public_ip_lag", "the public address shows this long after active, drawn apart from the "
                                         "private one; negative: while still new (default 0; real -10:10)"),
    ("--private-ip-lag", "private_ip_lag", "the same for the private address (default 0; real -10:10)"),
    ("--tag-lag", "tag_lag", "a new droplet shows in tag_name listings this long after its create "
                             "(default 0; real 0:10)"),
    ("--delete-delay", "delete_delay", "after the DELETE's 204 the droplet stays listed and billed this long "
                                       "(default 0; real 5:75)"),
    ("--action-status-lag", "action_status_lag", "a finished action still reads in-progress this long "
                                                 "(default 0; real 0:3)"),
    ("--droplet-status-lag", "droplet_status_lag", "the droplet's status shows an action's change this long "
                                                   "after the action completed (default 0; real 0:3)"),
    ("--action-per-gb", "action_per_gb", "extra seconds per GB a snapshot copies or a disk resize grows to "
                                         "(default 0; real 1)"),
    ("--time-scale", "time_scale", "multiplies every simulated delay, e.g. 0.05 (default 1)"),
]
BOOL_FLAGS = [
    ("--strict-actions", "strict_actions", "DO's 422s: resize only when off, disk:false kept, no smaller disk, "
                                           "already powered off/on; locked while an action runs (real: on)"),
    ("--burst-remaining-zero", "burst_remaining_zero", "the burst 429 says ratelimit-remaining: 0 (real: on)"),
    ("--lb-health", "lb_health", "load balancer members are DOWN until they pass the LB's health checks "
                                 "(real: on)"),
]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="dosim", description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (127.0.0.0/8 only)")
    p.add_argument("--port", type=int, default=0, help="API port; 0 picks a free one (default)")
    p.add_argument("--token", action="append", default=[], help="accepted bearer token (repeatable)")
    p.add_argument("--token-file", action="append", default=[], help="file holding an accepted token")
    p.add_argument("--agent", help="agent binary; becomes the {mitosis} placeholder")
    p.add_argument("--placeholder", action="append", default=[], metavar="NAME=VALUE",
                   help="extra placeholder for snapshot commands (repeatable)")
    p.add_argument("--snapshot", action="append", default=[], metavar="FILE",
                   help="register a snapshot image from a JSON file (repeatable)")
    p.add_argument("--domain", action="append", default=[], help="create this DNS domain at start (repeatable)")
    p.add_argument("--state-dir", help="where droplet roots live (default: a fresh temp dir, removed on exit)")
    p.add_argument("--keep", action="store_true", help="keep droplet roots on exit (debugging)")
    p.add_argument("--profile", choices=sorted(sim_real.PROFILES), default="default",
                   help="default (quick and kind) or real (DigitalOcean's delays and refusals); "
                        "flags below override it")
    for flag, key, text in KNOB_FLAGS:
        p.add_argument(flag, dest=key, default=None, metavar="S" if key in sim_real.FLOAT_KNOBS else "S|LO:HI",
                       help=text)
    for flag, key, text in BOOL_FLAGS:
        p.add_argument(flag, dest=key, nargs="?", const="on", default=None, metavar="on|off", help=text)
    p.add_argument("--boot-failure", metavar="MODE[:RATE]",
                   help="boot failures: stuck, agent or vanish (404 after the 202), at RATE (default 1)")
    p.add_argument("--delete-lost", type=float, metavar="RATE", help="a DELETE answers 204 and keeps the droplet")
    p.add_argument("--capacity", metavar="REGION[,REGION]", help="creates in these regions get DO's capacity 422")
    p.add_argument("--action-failure", type=float, metavar="RATE", help="droplet actions end errored")
    p.add_argument("--droplet-limit", type=int, default=25, help="account droplet_limit (default 25)")
    p.add_argument("--kill-grace", type=float, default=3.0, help="SIGTERM to SIGKILL grace, seconds (default 3)")
    p.add_argument("--rate-limit", type=int, default=5000, help="requests per --rate-window per token")
    p.add_argument("--rate-window", type=float, default=3600.0)
    p.add_argument("--burst-limit", type=int, default=250, help="requests per --burst-window per token")
    p.add_argument("--burst-window", type=float, default=60.0)
    p.add_argument("--metadata-port", type=int, default=8169, help="metadata port on each droplet's address")
    p.add_argument("--addr-base", type=int, default=1,
                   help="index of the first droplet address (1 = 127.77.1.1 and 127.78.1.1; 255 = 127.7x.2.1): "
                        "simulators running side by side take separate blocks")
    p.add_argument("--agent-port", type=int, default=7950, help="UDP port checked free when allocating addresses")
    p.add_argument("--user-data-timeout", type=float, default=60.0, help="bound on each user-data command")
    p.add_argument("--faults", metavar="FILE", help="initial fault configuration (JSON, as POST /_sim/faults)")
    p.add_argument("--seed", type=int, default=None, help="seed for fault injection")
    p.add_argument("--ready-file", help="write {url, pid, instance, state_dir} here once serving")
    p.add_argument("--instance", help="instance id used in process markers (default: random)")
    p.add_argument("--quiet", action="store_true", help="no event lines on stderr")
    a = p.parse_args(argv)
    try:
        loopback = ipaddress.ip_address(a.host) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        loopback = False
    if not loopback:
        p.error("--host must be a 127.0.0.0/8 address")
    if not 1 <= a.addr_base <= sim_core.MAX_ADDR_INDEX:
        p.error("--addr-base must be 1..%d" % sim_core.MAX_ADDR_INDEX)
    try:
        a.knobs = sim_real.profile_values(a.profile)
        for _flag, key, _text in KNOB_FLAGS + BOOL_FLAGS:
            if getattr(a, key) is not None:
                a.knobs.update(sim_real.parse_knobs(key, getattr(a, key)))
        a.knobs.setdefault("time_scale", 1.0)
        a.fault_flags = fault_flags(a)
    except ValueError as e:
        p.error(str(e))
    return a


def fault_flags(a):
    """The fault flags as a /_sim/faults body (empty when none is given)."""
    out = {}
    if a.boot_failure:
        mode, _, rate = a.boot_failure.partition(":")
        out["boot_failure"] = {"mode": mode, "rate": float(rate or 1.0)}
    if a.delete_lost is not None:
        out["delete_lost"] = {"rate": a.delete_lost}
    if a.capacity:
        out["capacity"] = {"regions": [r for r in a.capacity.split(",") if r]}
    if a.action_failure is not None:
        out["action_failure"] = {"rate": a.action_failure}
    return out


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    tokens = set(a.token)
    for f in a.token_file:
        with open(f) as fh:
            tok = fh.read().strip()
        if tok:
            tokens.add(tok)
    if not tokens:
        tokens.add("dosim-token")

    def log(msg):
        if not a.quiet:
            sys.stderr.write("dosim: %s\n" % msg)
            sys.stderr.flush()

    own_dir = a.state_dir is None
    state_dir = tempfile.mkdtemp(prefix="dosim-") if own_dir else os.path.abspath(a.state_dir)
    os.makedirs(os.path.join(state_dir, "droplets"), exist_ok=True)
    placeholders = {}
    if a.agent:
        placeholders["mitosis"] = os.path.abspath(a.agent)
    for kv in a.placeholder:
        k, _, v = kv.partition("=")
        placeholders[k] = v
    rt.become_subreaper()
    reaper = rt.Reaper()
    reaper.start()
    stop = threading.Event()
    cfg = {"droplet_limit": a.droplet_limit, "profile": a.profile,
           "kill_grace": a.kill_grace, "rate_limit": a.rate_limit, "rate_window": a.rate_window,
           "burst_limit": a.burst_limit, "burst_window": a.burst_window, "metadata_port": a.metadata_port,
           "addr_base": a.addr_base,
           "agent_port": a.agent_port, "user_data_timeout": a.user_data_timeout, "seed": a.seed,
           "placeholders": placeholders, "tokens": tokens, "state_dir": state_dir, "keep": a.keep,
           "instance": a.instance, "vpc_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "dosim-vpc")),
           "account_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "dosim-account")), "reaper": reaper,
           "stop_event": stop}
    cfg.update(a.knobs)
    sim = sim_core.Sim(cfg, log)
    cleaned = []

    def cleanup():
        if cleaned:
            return
        cleaned.append(True)
        sim.shutdown()
        if not a.keep:
            shutil.rmtree(os.path.join(state_dir, "droplets"), ignore_errors=True)
            if own_dir:
                shutil.rmtree(state_dir, ignore_errors=True)
        if a.ready_file:
            try:
                os.unlink(a.ready_file)
            except OSError:
                pass
    atexit.register(cleanup)

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    try:
        if a.faults:
            with open(a.faults) as fh:
                sim.faults.set(json.load(fh))
        if a.fault_flags:
            sim.faults.set(a.fault_flags)
        for f in a.snapshot:
            with open(f) as fh:
                sim.register_snapshot(json.load(fh))
        for d in a.domain:
            sim.add_domain(d)
        server = sim_http.make_api_server(sim, a.host, a.port)
    except (OSError, ValueError) as e:
        sys.stderr.write("dosim: %s\n" % e)
        cleanup()
        return 2
    host, port = server.server_address[:2]
    sim.base_url = "http://%s:%d" % (host, port)
    sim.start()
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    sys.stdout.write(sim.base_url + "\n")
    sys.stdout.flush()
    if a.ready_file:
        tmp = a.ready_file + ".tmp"
        with open(tmp, "w") as fh:
            json.dump({"url": sim.base_url, "pid": os.getpid(), "instance": sim.instance, "state_dir": state_dir,
                       "images": sorted(i for i in sim.images if i != sim_core.BASE_IMAGE_ID)}, fh)
        os.replace(tmp, a.ready_file)
    log("listening on %s (state %s, instance %s)" % (sim.base_url, state_dir, sim.instance))
    while not stop.wait(0.5):
        pass
    log("shutting down")
    server.shutdown()
    server.server_close()
    cleanup()
    reaper.stop_evt.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
