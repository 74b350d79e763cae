#!/usr/bin/env python3
"""Helpers for scripts/demo.sh: build the demo snapshot, create droplets, draw the live view.

    demo_view.py snapshot --config F --key F --out F [--fake-agent]
    demo_view.py create --url U --token-file F --image ID --count N [--prefix demo]
    demo_view.py view --url U [--agent BIN] [--once] [--since EPOCH --count N]

The view reads the simulator's /_sim/state (no token needed) every 2 s. With
--since and --count it says once, and keeps saying, when the cluster formed:
"cluster formed: 3 of 3 alive after 4.1 s" (every agent sees every droplet
alive), counted from --since (when the demo created the first droplet).
"""

import argparse
import base64
import json
import subprocess
import os
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def cmd_snapshot(a):
    with open(a.config) as f:
        conf = f.read()
    with open(a.key, "rb") as f:
        key = f.read()
    if a.fake_agent:
        command = [sys.executable, os.path.join(HERE, "fake_agent.py"), "--metadata-url", "{metadata_url}",
                   "--out", "{root}/var/lib/fake-agent.json"]
    else:
        command = ["{mitosis}", "agent", "-c", "{root}/etc/mitosis/mitosis.conf",
                   "--key-file", "{root}/etc/mitosis/cluster.key", "--metadata-url", "{metadata_url}",
                   "--control-socket", "{root}/run/mitosis/mitosis.sock",
                "--state-dir", "{root}/var/lib/mitosis"]
    snap = {"name": "mitosis-demo", "description": "demo image: mitosis agent + cluster key",
            "files": {"/etc/mitosis/mitosis.conf": {"content": conf, "mode": "0644"},
                      "/etc/mitosis/cluster.key": {"content_b64": base64.b64encode(key).decode(), "mode": "0600"}},
            "command": command}
    fd = os.open(a.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(snap, f)
    return 0


def api(url, token, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def dropin_user_data(*lines):
    """cloud-config that writes lines into a drop-in of their own (as cloud-init/clone.yaml does)."""
    return ("#cloud-config
write_files:
  - path: /etc/mitosis/conf.d/50-user-data.conf
"
            "    content: |
" + "".join("      %s
" % ln for ln in lines))


def seed_user_data(seed_ip):
    """cloud-config for a clone: the seed to join."""
    return dropin_user_data("seeds = %s" % seed_ip)


# The first droplet founds the cluster alone (docs/operations.md, "Founding a
# cluster"): only its user-data says so, never the snapshot.
FOUNDER_USER_DATA = dropin_user_data("bootstrap_expect = 1", "bootstrap_settle = 1s")


def create(a, token, names, user_data=None):
    body = {"names": names, "region": "nyc3", "size": "s-1vcpu-1gb", "image": a.image,
            "tags": ["mitosis", "mitosis-demo"], "monitoring": True}
    if user_data:
        body["user_data"] = user_data
    out = api(a.url, token, "POST", "/v2/droplets", body)
    for d in out["droplets"]:
        print("demo: created droplet %d (%s), status %s" % (d["id"], d["name"], d["status"]))
    return out["droplets"]


def private_ip_when_active(a, token, droplet_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = api(a.url, token, "GET", "/v2/droplets/%d" % droplet_id)["droplet"]
        if d["status"] == "active":
            for n in d["networks"]["v4"]:
                if n["type"] == "private":
                    return n["ip_address"]
        time.sleep(0.2)
    raise SystemExit("demo: droplet %d did not become active in %d s" % (droplet_id, timeout))


def cmd_create(a):
    """The first droplet starts a cluster; the others join it through user-data seeds."""
    with open(a.token_file) as f:
        token = f.read().strip()
    names = ["%s-%d" % (a.prefix, i + 1) for i in range(a.count)]
    first = create(a, token, names[:1], FOUNDER_USER_DATA)[0]
    if len(names) > 1:
        seed = private_ip_when_active(a, token, first["id"])
        print("demo: %s is active at %s; the others join through it" % (first["name"], seed))
        create(a, token, names[1:], seed_user_data(seed))
    return 0


def shorten(text, width):
    """text cut at a word boundary to fit width, with an ellipsis when cut."""
    if len(text) <= width:
        return text
    cut = text[:width - 1]
    space = cut.rfind(" ")
    if space > width // 2:
        cut = cut[:space]
    return cut.rstrip() + "\u2026"


def last_line(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 4096))
            lines = [ln for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def members_of(agent, droplet):
    """This droplet's agent's member list (`mitosis members --json`), or None."""
    if not agent or droplet["status"] != "active":
        return None
    sock = os.path.join(droplet["sim"]["root"], "run/mitosis/mitosis.sock")
    try:
        out = subprocess.run([agent, "members", "--json", "-s", sock], capture_output=True, timeout=5)
        return json.loads(out.stdout) if out.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def leader_line(agent, droplets):
    """Who leads, as the first agent that answers `mitosis leader --json` says."""
    if not agent:
        return None
    for d in droplets:
        if d["status"] != "active":
            continue
        sock = os.path.join(d["sim"]["root"], "run/mitosis/mitosis.sock")
        try:
            out = subprocess.run([agent, "leader", "--json", "-s", sock], capture_output=True, timeout=5)
            e = json.loads(out.stdout) if out.returncode == 0 else None
        except (OSError, ValueError, subprocess.TimeoutExpired):
            e = None
        if e is None:
            continue
        if e.get("leader") is None:
            return "leader: none yet (%s)" % ("quorum lost" if e.get("quorum_lost") else "electing")
        return "leader: node %d \"%s\" in term %d, %d voter%s" % (
            e["leader"], e.get("leader_name") or "?", e["term"], len(e["voters"]),
            "" if len(e["voters"]) == 1 else "s")
    return None


def members_hook(agent, droplet, members):
    """One line of this droplet's agent's view of the cluster."""
    if not agent or droplet["status"] != "active":
        return None
    if members is None:
        return "(agent not answering yet)"
    alive = [m for m in members if m["state"] == "alive"]
    parts = []
    for m in sorted(members, key=lambda m: m["name"]):
        cpu = m["load"]["cpu"] if m.get("load") and m["load"].get("cpu") is not None else None
        parts.append("%s %s%s" % (m["name"], m["state"], " cpu %.0f%%" % (cpu * 100) if cpu is not None else ""))
    return "%d alive of %d: %s" % (len(alive), len(members), ", ".join(parts))


class Formed:
    """When every agent first saw every droplet alive: the demo's headline."""

    def __init__(self, since, count):
        self.since, self.count, self.line = since, count, None

    def check(self, views):
        """views: each active droplet's member list (None when it does not answer)."""
        if self.line is not None or not self.since or len(views) < self.count:
            return
        for members in views:
            if members is None or sum(1 for m in members if m["state"] == "alive") < self.count:
                return
        self.line = "cluster formed: %d of %d alive after %.1f s" % (
            self.count, self.count, time.time() - self.since)


def draw(url, agent, formed=None):
    try:
        with urllib.request.urlopen(url + "/_sim/state", timeout=5) as r:
            st = json.load(r)
    except OSError as e:
        return "simulator unreachable: %s" % e
    rows = ["mitosis demo  %s  (%s)   Ctrl-C to stop" % (url, time.strftime("%H:%M:%S")), ""]
    views = []
    rows.append("%-10s %-8s %-7s %-13s %-13s %-6s %s" % ("ID", "NAME", "STATUS", "PUBLIC", "PRIVATE", "AGENT",
                                                           "LAST LOG LINE"))
    for d in st["droplets"]:
        s = d["sim"]
        nets = {n["type"]: n["ip_address"] for n in d["networks"]["v4"]}
        alive = "up" if s["agent_alive"] else ("-" if d["status"] != "active" else "DOWN")
        line = shorten(last_line(s["agent_log"]), 70)
        rows.append("%-10d %-8s %-7s %-13s %-13s %-6s %s" % (d["id"], d["name"][:8], d["status"],
                                                               nets.get("public", "-"), nets.get("private", "-"),
                                                               alive, line))
        members = members_of(agent, d)
        if agent and d["status"] == "active":
            views.append(members)
        extra = members_hook(agent, d, members)
        if extra:
            rows.append("           members: %s" % extra)
    lead = leader_line(agent, st["droplets"])
    if lead:
        rows.append(lead)
    lbs = st.get("load_balancers") or []
    for lb in lbs:
        rows.append("lb %s: %s" % (lb["name"], ", ".join(str(m["droplet_id"]) for m in lb["members"]) or "-"))
    # DNS only once a registrar has put records there: no registrar, no line.
    for name, dom in sorted((st.get("domains") or {}).items()):
        a = ["%s=%s" % (r["fqdn"], r["data"]) for r in dom["records"] if r["type"] == "A"]
        if a:
            rows.append("dns %s: %s" % (name, ", ".join(a)))
    if formed is not None:
        formed.check(views)
        if formed.line is not None:
            rows.insert(1, formed.line)
    ev = st.get("events") or []
    rows.append("")
    rows.append("recent events:")
    for e in ev[-5:]:
        rows.append("  " + time.strftime("%H:%M:%S", time.localtime(e["time"])) + " " + e["message"])
    return "\n".join(rows)


def cmd_view(a):
    deadline = time.monotonic() + a.seconds if a.seconds else None
    tty = sys.stdout.isatty()
    formed = Formed(a.since, a.count)
    while True:
        text = draw(a.url, a.agent, formed)
        try:
            if tty:
                sys.stdout.write("\x1b[H\x1b[2J")
            sys.stdout.write(text + "\n" + ("" if tty else "----\n"))
            sys.stdout.flush()
        except BrokenPipeError:
            # Our reader went away (demo.sh | head): say so by status, not by traceback.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
        if a.once or (deadline is not None and time.monotonic() >= deadline):
            return 0
        time.sleep(2 if deadline is None else max(0.0, min(2.0, deadline - time.monotonic())))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("--config", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--fake-agent", action="store_true")
    c = sub.add_parser("create")
    c.add_argument("--url", required=True)
    c.add_argument("--token-file", required=True)
    c.add_argument("--image", type=int, required=True)
    c.add_argument("--count", type=int, default=3)
    c.add_argument("--prefix", default="demo")
    v = sub.add_parser("view")
    v.add_argument("--url", required=True)
    v.add_argument("--agent")
    v.add_argument("--seconds", type=float, default=0)
    v.add_argument("--once", action="store_true")
    v.add_argument("--since", type=float, default=0)
    v.add_argument("--count", type=int, default=0)
    a = p.parse_args()
    try:
        return {"snapshot": cmd_snapshot, "create": cmd_create, "view": cmd_view}[a.cmd](a)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
