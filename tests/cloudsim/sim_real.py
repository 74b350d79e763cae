"""The realism knobs: profiles, their parsing, the cost meter and the load balancer health prober.

The default profile is the simulator as it always was: quick and kind. Each knob below
makes one unkindness of the real DigitalOcean visible; `--profile real` sets them all to
values taken from DO's documentation, its Terraform provider and its community answers
(docs/cloudsim.md, "Realism profile"). Every delay the simulator makes is multiplied by
`time_scale`, so a test can run the real profile in seconds; the cost meter divides by
it again, so its figures are what DigitalOcean would bill for the same run at scale 1.
"""

import socket
import threading
import time

# Knobs that hold a duration range [lo, hi] in seconds (drawn per droplet or action, then scaled).
RANGE_KNOBS = ("boot_delay", "action_delay", "public_ip_lag", "private_ip_lag", "tag_lag", "delete_delay",
               "action_status_lag", "droplet_status_lag")
# Accepted in configuration and on the command line, setting several knobs at once.
ALIASES = {"ip_lag": ("public_ip_lag", "private_ip_lag")}
FLOAT_KNOBS = ("time_scale", "action_per_gb")
BOOL_KNOBS = ("strict_actions", "burst_remaining_zero", "lb_health")
REALISM_KNOBS = RANGE_KNOBS + FLOAT_KNOBS + BOOL_KNOBS + tuple(ALIASES)

PROFILES = {
    # Exactly the simulator before the realism knobs existed.
    "default": {"boot_delay": [3.0, 3.0], "action_delay": [2.0, 2.0], "public_ip_lag": [0.0, 0.0],
                "private_ip_lag": [0.0, 0.0],
                "tag_lag": [0.0, 0.0], "delete_delay": [0.0, 0.0], "action_status_lag": [0.0, 0.0],
                "droplet_status_lag": [0.0, 0.0], "action_per_gb": 0.0, "strict_actions": False,
                "burst_remaining_zero": False, "lb_health": False},
    # DigitalOcean as clients meet it; time_scale is left alone (a test sets it).
    "real": {"boot_delay": [30.0, 60.0], "action_delay": [5.0, 15.0], "public_ip_lag": [-10.0, 10.0],
             "private_ip_lag": [-10.0, 10.0],
             "tag_lag": [0.0, 10.0], "delete_delay": [5.0, 75.0], "action_status_lag": [0.0, 3.0],
             "droplet_status_lag": [0.0, 3.0], "action_per_gb": 1.0, "strict_actions": True,
             "burst_remaining_zero": True, "lb_health": True},
}

# Billing since 2026-01-01: per second, at least 60 s or $0.01, whichever costs more.
MIN_BILLED_SECONDS = 60.0
MIN_CHARGE = 0.01


def parse_range(key, v):
    """A number, [lo, hi] or "lo:hi" -> [lo, hi] floats; ValueError names the key."""
    try:
        if isinstance(v, str):
            parts = v.split(":")
            if len(parts) not in (1, 2):
                raise ValueError
            lo, hi = float(parts[0]), float(parts[-1])
        elif isinstance(v, (list, tuple)):
            if len(v) != 2:
                raise ValueError
            lo, hi = float(v[0]), float(v[1])
        elif isinstance(v, bool):
            raise ValueError
        else:
            lo = hi = float(v)
    except (TypeError, ValueError):
        raise ValueError("%s must be a number of seconds, [lo, hi] or \"lo:hi\"" % key)
    if hi < lo:
        raise ValueError("%s: the upper bound %g is below the lower bound %g" % (key, hi, lo))
    if lo < 0 and not key.endswith("ip_lag"):
        raise ValueError("%s must not be negative (only the ip lags may be)" % key)
    return [lo, hi]


def parse_bool(key, v):
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return v.lower() in ("1", "true", "yes", "on")
    if isinstance(v, int):
        return v != 0
    raise ValueError("%s must be true or false" % key)


def parse_knobs(key, v):
    """{knob: value} for one key (an alias sets several knobs)."""
    val = parse_knob(key, v)
    return {k: list(val) for k in ALIASES[key]} if key in ALIASES else {key: val}


def parse_knob(key, v):
    """Checks and normalises one realism knob's value."""
    if key in RANGE_KNOBS or key in ALIASES:
        return parse_range(key, v)
    if key in BOOL_KNOBS:
        return parse_bool(key, v)
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError("%s must be a number" % key)
    if key == "time_scale" and not f > 0:
        raise ValueError("time_scale must be greater than 0")
    if f < 0:
        raise ValueError("%s must not be negative" % key)
    return f


def profile_values(name):
    if name not in PROFILES:
        raise ValueError("unknown profile %r (default, real)" % (name,))
    return {k: (list(v) if isinstance(v, list) else v) for k, v in PROFILES[name].items()}


def draw(rng, rng_lock, span):
    """One value from [lo, hi]; a point range draws nothing, so the default profile uses no randomness."""
    lo, hi = span
    if lo == hi:
        return lo
    with rng_lock:
        return rng.uniform(lo, hi)


def show_range(span):
    """How the config shows a range: a plain number when it is one."""
    return span[0] if span[0] == span[1] else list(span)


class CostMeter:
    """What DigitalOcean bills per droplet: seconds from the create to the 404, times price_hourly.

    Each droplet is a list of (start, price_hourly) segments on the monotonic clock (a resize opens a
    new one); seconds are wall seconds divided by time_scale. Callers hold the simulator's lock."""

    def __init__(self):
        self.bills = {}

    def open(self, did, name, size, price, now):
        self.bills[did] = {"droplet_id": did, "name": name, "size_slug": size, "segments": [[now, price]],
                           "destroyed": None}

    def resize(self, did, size, price, now):
        b = self.bills.get(did)
        if b is not None and b["destroyed"] is None and b["segments"][-1][1] != price:
            b["segments"].append([now, price])
            b["size_slug"] = size

    def close(self, did, now):
        b = self.bills.get(did)
        if b is not None and b["destroyed"] is None:
            b["destroyed"] = now

    def clear(self):
        self.bills.clear()

    @staticmethod
    def charge(seconds, first_price, cost):
        """The minimum charge: the larger of 60 s at the first price and $0.01."""
        return max(cost, MIN_BILLED_SECONDS * first_price / 3600.0, MIN_CHARGE)

    def report(self, now, scale):
        out, total = [], 0.0
        for did in sorted(self.bills):
            b = self.bills[did]
            end = b["destroyed"] if b["destroyed"] is not None else now
            segs = b["segments"]
            cost = 0.0
            for i, (start, price) in enumerate(segs):
                stop = segs[i + 1][0] if i + 1 < len(segs) else end
                cost += max(0.0, stop - start) / scale * price / 3600.0
            wall = max(0.0, end - segs[0][0])
            billed = self.charge(wall / scale, segs[0][1], cost)
            total += billed
            out.append({"droplet_id": did, "name": b["name"], "size_slug": b["size_slug"],
                        "price_hourly": segs[-1][1], "seconds": round(wall / scale, 3),
                        "wall_seconds": round(wall, 3), "alive": b["destroyed"] is None,
                        "created_at": round(segs[0][0], 3), "destroyed_at": b["destroyed"] and round(b["destroyed"], 3),
                        "cost": round(billed, 6)})
        return {"droplets": out, "total": round(total, 6), "time_scale": scale,
                "rule": "per second from create to 404 (seconds = wall / time_scale), at least max(60 s, $0.01)"}


def probe(ip, hc, timeout):
    """One health check of ip by the LB's settings: (passed, why)."""
    port = int(hc.get("port") or 80)
    proto = (hc.get("protocol") or "http").lower()
    try:
        with socket.create_connection((ip, port), timeout=timeout) as s:
            if proto == "tcp":
                return True, "tcp connect ok"
            path = hc.get("path") or "/"
            s.settimeout(timeout)
            s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: dosim-lb-health\r\n\r\n" % (path, ip)).encode())
            head = s.recv(64).decode("latin-1", "replace")
    except OSError as e:
        return False, "%s:%d: %s" % (ip, port, e.strerror or e)
    parts = head.split(" ", 2)
    if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1][:1] in ("2", "3"):
        return True, "HTTP %s" % parts[1]
    return False, "%s:%d: answered %r" % (ip, port, head[:40])


class HealthProber(threading.Thread):
    """Checks every load balancer member as the LB would, while lb_health is on.

    A member starts unhealthy; it becomes healthy after healthy_threshold passes in a row and
    unhealthy again after unhealthy_threshold failures in a row, one check every
    check_interval_seconds (scaled), each bounded by response_timeout_seconds (scaled). The checks
    of one round run in parallel threads outside the simulator's lock."""

    def __init__(self, sim):
        super().__init__(name="lb-health", daemon=True)
        self.sim = sim
        self.stop_evt = threading.Event()

    def run(self):
        while not self.stop_evt.wait(0.05):
            try:
                self.round()
            except Exception as e:  # a bug here must not stop the checks for good
                self.sim.log("lb health round failed: %r" % (e,))

    def due(self, now):
        """Caller holds the lock: the checks to run now, as (lb id, droplet id, ip, hc, timeout, override)."""
        sim, scale, out = self.sim, self.sim.cfg["time_scale"], []
        for lb in sim.lbs.values():
            hc = lb["health_check"]
            state = lb.setdefault("_health", {})
            members = [i for i in sim.lb_members(lb) if i in sim.droplets]
            for gone in [i for i in state if i not in members]:
                del state[gone]
            interval = max(0.01, float(hc.get("check_interval_seconds") or 10) * scale)
            for i in members:
                st = state.get(i)
                if st is None:
                    state[i] = st = {"healthy": False, "passes": 0, "failures": 0, "last": None,
                                     "next": now + interval, "joined": now}
                if now < st["next"] or st.get("running"):
                    continue
                st["running"] = True
                d = sim.droplets[i]
                timeout = max(0.05, float(hc.get("response_timeout_seconds") or 5) * scale)
                out.append((lb["id"], i, d["private_ip"], dict(hc), timeout, d.get("health_override")))
        return out

    def round(self):
        sim = self.sim
        if not sim.cfg.get("lb_health"):
            return  # the default profile: no checks, and no contention on the lock every 50 ms
        with sim.lock:
            if not sim.cfg.get("lb_health") or sim.closing:
                return
            checks = self.due(time.monotonic())
        if not checks:
            return
        results = [None] * len(checks)

        def one(k, c):
            results[k] = (c[5], "forced by /_sim") if c[5] is not None else probe(c[2], c[3], c[4])
        threads = [threading.Thread(target=one, args=(k, c), daemon=True) for k, c in enumerate(checks)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10.0)
        with sim.lock:
            now = time.monotonic()
            for (lid, did, _ip, hc, _t, _o), res in zip(checks, results):
                self.record(lid, did, hc, res or (False, "check did not finish"), now)

    def record(self, lid, did, hc, res, now):
        lb = self.sim.lbs.get(lid)
        st = (lb or {}).get("_health", {}).get(did)
        if st is None:
            return
        ok, why = res
        st["running"] = False
        st["last"] = ("pass: " if ok else "fail: ") + why
        st["next"] = now + max(0.01, float(hc.get("check_interval_seconds") or 10) * self.sim.cfg["time_scale"])
        if ok:
            st["passes"], st["failures"] = st["passes"] + 1, 0
            if not st["healthy"] and st["passes"] >= int(hc.get("healthy_threshold") or 3):
                st["healthy"] = True
                self.sim.event("lb %s: droplet %d healthy (%s)" % (lid, did, why))
        else:
            st["passes"], st["failures"] = 0, st["failures"] + 1
            if st["healthy"] and st["failures"] >= int(hc.get("unhealthy_threshold") or 5):
                st["healthy"] = False
                self.sim.event("lb %s: droplet %d unhealthy (%s)" % (lid, did, why))


def member_health(sim, lb, did):
    """Caller holds the lock: one member's health as /_sim reports it."""
    if not sim.cfg.get("lb_health"):
        return {"droplet_id": did, "health_status": "healthy", "checked": False,
                "reason": "lb_health is off: members serve at once"}
    st = lb.get("_health", {}).get(did)
    if st is None:
        return {"droplet_id": did, "health_status": "unhealthy", "checked": True, "consecutive_passes": 0,
                "consecutive_failures": 0, "last_check": None, "reason": "not checked yet"}
    return {"droplet_id": did, "health_status": "healthy" if st["healthy"] else "unhealthy", "checked": True,
            "consecutive_passes": st["passes"], "consecutive_failures": st["failures"],
            "last_check": st["last"], "reason": None if st["healthy"] else (st["last"] or "not checked yet")}
