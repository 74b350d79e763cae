#!/usr/bin/env python3
"""chaos: clone then retire through the real CLI, round after round, on the simulator's realism profile.

    python3 tests/cloudsim/chaos.py [--rounds 50] [--fault-rate 0.2] [--time-scale 0.05] [--seed 12]
                                    [--mitosis build/mitosis] [--keep]

Each round runs `mitosis clone --json` (one droplet) and then `mitosis retire ID --no-wait --json`
for every droplet the clone reported. The simulator runs `--profile real` (boot 30-60 s, address
and tag-listing lag, delete delay, strict actions, ...) with every delay multiplied by
--time-scale, and --fault-rate of the API requests fail: a quarter each as 500 before the endpoint
runs, 500 after it ran, 429 with retry-after, and a timeout after it ran (the client's api_timeout
is shorter than the hold). On top, creates vanish after their 202 and deletes are lost (204, droplet
kept) at --fault-rate / 4 each.

At the end (after the longest delete delay) it prints droplets created, deleted, leaked (still there:
must be 0), duplicates (two droplets of one name billed at the same time: must be 0; a create that
vanished and was made again is not one) and the cost meter's total against
the minimum possible for the same work (one droplet per successful round, each billed its minimum
charge). Exit status 1 when anything leaked or was doubled, 0 otherwise.
"""

import argparse
import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import sim_core  # noqa: E402
import sim_real  # noqa: E402

CLONE_SIZE = "s-1vcpu-1gb"
WORST_DELETE_DELAY = 75.0  # the real profile's delete_delay upper bound, seconds at scale 1


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=50)
    p.add_argument("--fault-rate", type=float, default=0.2, help="share of API requests that fail (default 0.2)")
    p.add_argument("--time-scale", type=float, default=0.05, help="the simulator's time factor (default 0.05)")
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--mitosis", default=os.path.join(REPO, "build", "mitosis"))
    p.add_argument("--round-timeout", type=float, default=300.0, help="bound on each CLI command, seconds")
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs, config) and print it")
    a = p.parse_args()
    if a.rounds < 1 or not 0 <= a.fault_rate < 1 or a.time_scale <= 0:
        p.error("need --rounds >= 1, 0 <= --fault-rate < 1 and --time-scale > 0")
    return a


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fault_config(rate, seed):
    """rate split in four request faults with exact shares (each rule only sees what the earlier ones left)."""
    kinds = [{"error": 500}, {"error": 500, "after": True}, {"error": 429, "retry_after": 1},
             {"error": "timeout", "after": True, "hold": 4}]
    share, left, rules = rate / len(kinds), 1.0, []
    for k in kinds:
        rules.append(dict(k, path="/v2/*", rate=share / left if left > 0 else 0))
        left -= share
    return {"rules": rules, "seed": seed, "boot_failure": {"mode": "vanish", "rate": rate / 4},
            "delete_lost": {"rate": rate / 4}}


class Sim:
    def __init__(self, work, a):
        self.work = work
        self.token_file = os.path.join(work, "token")
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, ("dop_v1_chaos_" + os.urandom(12).hex() + "\n").encode())
        os.close(fd)
        ready = os.path.join(work, "ready.json")
        self.log = open(os.path.join(work, "dosim.log"), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "dosim.py"), "--port", "0", "--token-file", self.token_file,
             "--state-dir", os.path.join(work, "sim"), "--ready-file", ready, "--profile", "real",
             "--time-scale", str(a.time_scale), "--seed", str(a.seed), "--kill-grace", "1",
             "--metadata-port", str(free_tcp_port()), "--droplet-limit", "100"],
            stdout=subprocess.DEVNULL, stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dosim did not start; see %s" % self.log.name)
            time.sleep(0.05)
        with open(ready) as f:
            self.url = json.load(f)["url"]

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + "/_sim" + path, data=data, method=method)
        if data:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.control("POST", "/shutdown")
            except OSError:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def write_config(work, sim, a):
    key = os.path.join(work, "cluster.key")
    subprocess.run([a.mitosis, "keygen", "-o", key], check=True, stdout=subprocess.DEVNULL)
    conf = os.path.join(work, "m.conf")
    # active_timeout and delete_timeout: the defaults (5 min, 2 min), scaled like the simulator's
    # delays (at least 10 s and 2 s).
    active = max(10, int(300 * a.time_scale))
    delete = max(2, int(120 * a.time_scale))
    with open(conf, "w") as f:
        f.write("cluster = chaos\nkey_file = %s\ncontrol_socket = %s\ntoken_file = %s\napi_url = %s\n"
                "clone_image = 100000001\nclone_size = %s\nclone_region = nyc3\nactive_timeout = %ds\n"
                "delete_timeout = %ds\napi_timeout = 3s\n" % (key, os.path.join(work, "m.sock"), sim.token_file,
                                                             sim.url, CLONE_SIZE, active, delete))
    return conf


def run_cli(a, work, tag, argv):
    """One CLI command: (exit code, parsed --json output or None, seconds)."""
    out_path = os.path.join(work, "%s.json" % tag)
    err_path = os.path.join(work, "%s.err" % tag)
    t0 = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            rc = subprocess.run([a.mitosis] + argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                timeout=a.round_timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    took = time.monotonic() - t0
    try:
        with open(out_path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        doc = None
    return rc, doc, took


def rounds(a, work, conf):
    """Runs every round; returns per-round records."""
    recs = []
    for n in range(1, a.rounds + 1):
        rc, doc, took = run_cli(a, work, "clone%02d" % n, ["clone", "-c", conf, "--json"])
        ids = [d["id"] for d in (doc or {}).get("droplets", [])]
        rec = {"round": n, "clone_rc": rc, "clone_s": round(took, 1), "ids": ids, "retire": []}
        for did in ids:
            rrc, rdoc, rtook = run_cli(a, work, "retire%02d-%d" % (n, did),
                                       ["retire", str(did), "-c", conf, "--no-wait", "--json"])
            rec["retire"].append({"id": did, "rc": rrc, "s": round(rtook, 1),
                                  "error": (rdoc or {}).get("error")})
        ops = (doc or {}).get("operations") or [{}]
        rec["clone_error"] = ops[0].get("error")
        recs.append(rec)
        print("round %2d: clone rc=%s %.1fs droplets=%s%s; retire %s" % (
            n, rc, took, ids, " (%s)" % rec["clone_error"] if rec["clone_error"] else "",
            ", ".join("%d rc=%s" % (r["id"], r["rc"]) for r in rec["retire"]) or "-"), flush=True)
    return recs


def report(a, sim, recs, wall):
    st = sim.control("GET", "/state")
    bills = st["cost"]["droplets"]
    # A double is two droplets of one name billed at once. A create that
    # vanished (DigitalOcean's create failed after its 202) and was made again
    # is a name billed twice, one after the other: not a double.
    end = time.time()
    dups = {}
    for b in bills:
        overlap = [o for o in bills if o is not b and o["name"] == b["name"] and o["droplet_id"] > b["droplet_id"] and
                   o["created_at"] < (b["destroyed_at"] or end)]
        if overlap:
            dups[b["name"]] = dups.get(b["name"], 1) + len(overlap)
    leaked = [b for b in bills if b["alive"]]
    ok_rounds = sum(1 for r in recs if r["clone_rc"] == 0 and r["ids"] and all(x["rc"] == 0 for x in r["retire"]))
    unit = sim_real.CostMeter.charge(0, sim_core.size_json(CLONE_SIZE)["price_hourly"], 0)
    faults = collections.Counter(str(i["error"]) + (" after" if i.get("after") else "") for i in st["injected"])
    print()
    print("chaos: %d rounds, fault rate %.0f%%, time scale %g, seed %d, %.0f s" % (
        a.rounds, a.fault_rate * 100, a.time_scale, a.seed, wall))
    print("rounds fully ok (clone 0, every retire 0): %d of %d" % (ok_rounds, a.rounds))
    print("clone failures: %d; retire failures: %d" % (
        sum(1 for r in recs if r["clone_rc"] != 0), sum(1 for r in recs for x in r["retire"] if x["rc"] != 0)))
    print("API requests: %d; faults injected: %s" % (len(st["request_log"]), dict(sorted(faults.items()))))
    print("droplets created: %d" % len(bills))
    print("droplets deleted: %d" % sum(1 for b in bills if not b["alive"]))
    print("leaked: %d%s" % (len(leaked), " %s" % [(b["droplet_id"], b["name"]) for b in leaked] if leaked else ""))
    print("duplicates: %d%s" % (sum(c - 1 for c in dups.values()), " %s" % dups if dups else ""))
    print("cost: $%.4f metered, minimum possible $%.4f (%d droplets x $%.4f, the minimum charge), ratio %.2f" % (
        st["cost"]["total"], ok_rounds * unit, ok_rounds, unit,
        st["cost"]["total"] / (ok_rounds * unit) if ok_rounds else float("inf")))
    return len(leaked), sum(c - 1 for c in dups.values())


def main():
    a = parse_args()
    if not os.access(a.mitosis, os.X_OK):
        sys.stderr.write("chaos: %s is not built (make)\n" % a.mitosis)
        return 2
    work = tempfile.mkdtemp(prefix="mitosis-chaos-")
    sim = None
    t0 = time.monotonic()
    try:
        sim = Sim(work, a)
        conf = write_config(work, sim, a)
        sim.control("POST", "/faults", fault_config(a.fault_rate, a.seed))
        recs = rounds(a, work, conf)
        # Every delete the client believes done must have reached its 404 by now.
        time.sleep(WORST_DELETE_DELAY * a.time_scale + 2)
        sim.control("POST", "/faults", {"rules": []})
        leaked, dups = report(a, sim, recs, time.monotonic() - t0)
    finally:
        if sim is not None:
            sim.stop()
        if a.keep:
            print("work dir kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if leaked or dups:
        print("CHAOS FAIL: %d leaked, %d duplicates" % (leaked, dups))
        return 1
    print("CHAOS OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
