#!/usr/bin/env python3
"""Helpers for scripts/demo.sh: build the demo snapshot, create droplets, draw the live view.

    demo_view.py snapshot --config F --key F --out F [--fake-agent]
    demo_view.py create --url U --token-file F --image ID --count N [--prefix demo]
    demo_view.py view --url U [--agent BIN] [--once] [--since EPOCH --count N]
    demo_view.py mission --url U --token-file F --agent BIN --tmp DIR [--seconds S]

The mission (make demo): two droplets of a snapshot whose agent runs the
scaling policy on the custom metric; the demo raises the metric on them, the
leader clones a third and a fourth node and registers them, then the metric
drops and the leader drains and retires them. The view then also shows each
member's load, the leader's policy view (`mitosis status`) and its last
decisions (the `policy:` lines of its log).

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
    return ("#cloud-config\nwrite_files:\n  - path: /etc/mitosis/conf.d/50-user-data.conf\n"
            "    content: |\n" + "".join("      %s\n" % ln for ln in lines))


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


MISSION_CONF = """cluster = demo
log_level = info
api_url = {url}
registrars = do-lb
lb_id = {lb}
health_timeout = 0
dns_ttl = 30
drain_timeout = 0
reconcile_interval = 2s
clone_image = {image}
clone_size = s-1vcpu-1gb
clone_region = nyc3
load_interval = 500ms
load_change = 0
policy_metrics = custom
target_custom = 100
policy_interval = 500ms
scale_out_window = 3s
scale_out_cooldown = 20s
scale_in_window = 5s
scale_in_cooldown = 10s
warmup = 5s
billing_hold = no
min_nodes = 2
max_nodes = 4
retire_leave_timeout = 10s
"""


def mission_image(a, token):
    """Registers the mission's snapshot. Its configuration names its own image
    id as clone_image: the simulator numbers images in sequence, so a probe
    snapshot tells the next id, which is checked."""
    def register(spec):
        req = urllib.request.Request(a.url + "/_sim/snapshots", data=json.dumps(spec).encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)["image"]["id"]
    lb = api(a.url, token, "POST", "/v2/load_balancers", {
        "name": "demo-lb", "region": "nyc3",
        "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http",
                              "target_port": 80}]})["load_balancer"]["id"]
    image = register({"name": "probe", "files": {}}) + 1
    with open(a.key, "rb") as f:
        key = f.read()
    conf = MISSION_CONF.format(url=a.url, lb=lb, image=image)
    spec = {"name": "mitosis-mission", "files": {
        "/etc/mitosis/mitosis.conf": {"content": conf, "mode": "0644"},
        "/etc/mitosis/cluster.key": {"content_b64": base64.b64encode(key).decode(), "mode": "0600"},
        "/etc/mitosis/token": {"content": token, "mode": "0600"}},
        "command": ["{mitosis}", "agent", "-c", "{root}/etc/mitosis/mitosis.conf",
                    "--key-file", "{root}/etc/mitosis/cluster.key", "--token-file", "{root}/etc/mitosis/token",
                    "--metadata-url", "{metadata_url}", "--control-socket", "{root}/run/mitosis/mitosis.sock",
                    "--state-dir", "{root}/var/lib/mitosis", "--custom-metric-file", "{root}/load"]}
    if register(spec) != image:
        raise SystemExit("demo: the mission snapshot did not get image id %d" % image)
    return image


def set_load(droplet, value):
    path = os.path.join(droplet["sim"]["root"], "load")
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % value)
    os.replace(path + ".tmp", path)


def ctl(agent, droplet, *args):
    sock = os.path.join(droplet["sim"]["root"], "run/mitosis/mitosis.sock")
    try:
        out = subprocess.run([agent] + list(args) + ["-s", sock], capture_output=True, timeout=5)
        return out.stdout.decode(errors="replace") if out.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def leader_of(agent, droplets):
    for d in droplets:
        if d["status"] == "active" and d["sim"]["agent_alive"]:
            out = ctl(agent, d, "leader", "--json")
            try:
                e = json.loads(out) if out else None
            except ValueError:
                e = None
            if e and e.get("role") == "leader":
                return d
    return None


class Mission:
    """The load the demo drives, phase by phase."""

    def __init__(self, first):
        self.first, self.phase, self.since = first, "forming", time.monotonic()

    def step(self, st, leader, members):
        active = [d for d in st["droplets"] if d["status"] == "active"]
        in_lb = sum(len(lb["droplet_ids"]) for lb in st.get("load_balancers") or [])
        elapsed = time.monotonic() - self.since
        if self.phase == "forming" and leader is not None and len(members) >= 2:
            for d in st["droplets"]:
                if d["id"] in self.first:
                    set_load(d, 175)
            self.phase, self.since = "overload", time.monotonic()
        elif self.phase == "overload" and len(active) >= 4 and in_lb >= 4:
            self.phase, self.since = "serving", time.monotonic()
        elif self.phase == "serving" and elapsed >= 8:
            for d in active:
                set_load(d, 10)
            self.phase, self.since = "idle", time.monotonic()
        elif self.phase == "idle" and len(st["droplets"]) == 2 and in_lb == 2:
            self.phase = "done"
        return {"forming": "phase 1: two nodes form the cluster",
                "overload": "phase 2: custom metric 175 on both (target 100): the leader should clone 2",
                "serving": "phase 3: four nodes serve; the load drops in %.0f s" % max(0, 8 - elapsed),
                "idle": "phase 4: metric 10 everywhere: the leader drains and retires the clones",
                "done": "mission complete: scaled out to 4, back to 2, nothing left behind"}[self.phase]


def mission_draw(a, mission):
    try:
        with urllib.request.urlopen(a.url + "/_sim/state", timeout=5) as r:
            st = json.load(r)
    except OSError as e:
        return "simulator unreachable: %s" % e, False
    leader = leader_of(a.agent, st["droplets"])
    members = []
    if leader is not None:
        try:
            members = json.loads(ctl(a.agent, leader, "members", "--json") or "[]")
        except ValueError:
            members = []
    line = mission.step(st, leader, members)
    rows = ["mitosis demo: the mission  %s  (%s)   Ctrl-C to stop" % (a.url, time.strftime("%H:%M:%S")),
            line, "", "%-10s %-22s %-7s %-8s %-7s %s" % ("ID", "NAME", "STATUS", "MEMBER", "CUSTOM", "")]
    by_id = {m["id"]: m for m in members}
    for d in st["droplets"]:
        m = by_id.get(d["id"])
        custom = m["load"].get("custom") if m and m.get("load") else None
        rows.append("%-10d %-22s %-7s %-8s %-7s %s" % (
            d["id"], d["name"][:22], d["status"], m["state"] if m else "-",
            "%.0f" % custom if custom is not None else "-",
            ("leader" if leader is not None and d["id"] == leader["id"] else "") +
            (" draining" if m and m.get("draining") else "")))
    for lb in st.get("load_balancers") or []:
        rows.append("lb %s: %s" % (lb["name"], ", ".join(str(i) for i in lb["droplet_ids"]) or "-"))
    if leader is not None:
        status = ctl(a.agent, leader, "status") or ""
        pol = status[status.find("policy:"):] if "policy:" in status else ""
        rows += [""] + [shorten(ln, 110) for ln in pol.splitlines()[:8]]
        decisions = [ln for ln in open(leader["sim"]["agent_log"], errors="replace").read().splitlines()
                     if "policy: " in ln and "hold:" not in ln] if os.path.exists(leader["sim"]["agent_log"]) else []
        rows += ["", "last decisions and operations (the leader's log):"]
        rows += ["  " + shorten(ln[ln.find("policy: ") + 8:], 106) for ln in decisions[-6:]]
    return "\n".join(rows), mission.phase == "done"


def cmd_mission(a):
    with open(a.token_file) as f:
        token = f.read().strip()
    image = mission_image(a, token)
    a.image = image
    first = create(a, token, ["demo-1"], FOUNDER_USER_DATA)[0]
    seed = private_ip_when_active(a, token, first["id"])
    second = create(a, token, ["demo-2"], seed_user_data(seed))[0]
    mission = Mission({first["id"], second["id"]})
    deadline = time.monotonic() + a.seconds if a.seconds else None
    tty = sys.stdout.isatty()
    done_at = None
    while True:
        text, done = mission_draw(a, mission)
        try:
            if tty:
                sys.stdout.write("\x1b[H\x1b[2J")
            sys.stdout.write(text + "\n" + ("" if tty else "----\n"))
            sys.stdout.flush()
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
        if done and done_at is None:
            done_at = time.monotonic()
        if (deadline is not None and time.monotonic() >= deadline) or \
                (done_at is not None and not a.stay and time.monotonic() - done_at > 4):
            return 0
        time.sleep(1)


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
    m = sub.add_parser("mission")
    m.add_argument("--url", required=True)
    m.add_argument("--token-file", required=True)
    m.add_argument("--key", required=True)
    m.add_argument("--agent", required=True)
    m.add_argument("--seconds", type=float, default=0)
    m.add_argument("--stay", action="store_true", help="keep the view after the mission completes")
    a = p.parse_args()
    try:
        return {"snapshot": cmd_snapshot, "create": cmd_create, "view": cmd_view,
                "mission": cmd_mission}[a.cmd](a)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
