"""The simulator's state: droplets, images, actions, domains, load balancers, tags.

Everything lives in one Sim object guarded by one lock. HTTP handlers (sim_http)
call Sim methods under its lock; errors are raised as ApiError and become {id, message} bodies.
Delays (boot, actions, load balancer start) run on one Scheduler thread; the
slow work of a boot (files, user-data, agent start) and of a stop (SIGTERM, grace,
SIGKILL) runs on short-lived worker threads that check the droplet's generation
number so a boot that was overtaken by a delete or a power_off never starts
anything that outlives it.
"""

import datetime
import errno
import heapq
import itertools
import json
import os
import random
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections import deque

import sim_real
import sim_runtime as rt

# runcmd words that would act on the host itself, which droplets share here.
HOST_COMMANDS = {"systemctl", "service", "reboot", "shutdown", "poweroff", "halt", "init", "telinit"}

REGIONS = {
    "nyc1": "New York 1", "nyc3": "New York 3", "sfo3": "San Francisco 3", "ams3": "Amsterdam 3",
    "fra1": "Frankfurt 1", "lon1": "London 1", "sgp1": "Singapore 1", "tor1": "Toronto 1",
}
SIZES = [
    # slug, memory MiB, vcpus, disk GB, transfer TB, price_monthly
    ("s-1vcpu-512mb-10gb", 512, 1, 10, 0.5, 4.0),
    ("s-1vcpu-1gb", 1024, 1, 25, 1.0, 6.0),
    ("s-1vcpu-2gb", 2048, 1, 50, 2.0, 12.0),
    ("s-2vcpu-2gb", 2048, 2, 60, 3.0, 18.0),
    ("s-2vcpu-4gb", 4096, 2, 80, 4.0, 24.0),
    ("s-4vcpu-8gb", 8192, 4, 160, 5.0, 48.0),
    ("s-8vcpu-16gb", 16384, 8, 320, 6.0, 96.0),
]
SIZE_BY_SLUG = {s[0]: s for s in SIZES}
NAME_RE = re.compile(r"^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$")
TAG_RE = re.compile(r"^[a-zA-Z0-9_\-:]{1,255}$")
IPV4_RE = re.compile(r"^((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)$")
DROPLET_ACTIONS = ("snapshot", "resize", "shutdown", "power_off", "power_on", "reboot", "power_cycle",
                   "rename", "enable_ipv6", "enable_backups", "disable_backups")
BULK_ACTIONS = ("power_cycle", "power_on", "power_off", "shutdown", "enable_ipv6", "enable_backups",
                "disable_backups", "snapshot")
PUBLIC_NET, PRIVATE_NET, LB_NET = 77, 78, 79
BASE_IMAGE_ID = 100000001
MAX_ADDR_INDEX = 254 * 254


class ApiError(Exception):
    def __init__(self, status, ident, message, headers=None, body=None):
        super().__init__(message)
        self.status, self.ident, self.message = status, ident, message
        self.headers = headers or {}
        self.body = body


def not_found(what="The resource you were accessing could not be found."):
    return ApiError(404, "not_found", what)


def unprocessable(msg):
    return ApiError(422, "unprocessable_entity", msg)


def now_iso(t=None):
    t = time.time() if t is None else t
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def addr(net, index):
    return "127.%d.%d.%d" % (net, 1 + (index - 1) // 254, 1 + (index - 1) % 254)


def region_json(slug):
    return {"name": REGIONS[slug], "slug": slug, "available": True,
            "features": ["private_networking", "backups", "ipv6", "metadata", "install_agent"],
            "sizes": [s[0] for s in SIZES]}


def size_json(slug):
    s = SIZE_BY_SLUG[slug]
    return {"slug": s[0], "memory": s[1], "vcpus": s[2], "disk": s[3], "transfer": s[4],
            "price_monthly": s[5], "price_hourly": round(s[5] / 672.0, 5), "regions": sorted(REGIONS),
            "available": True, "description": "Basic",
            "disk_info": [{"type": "local", "size": {"amount": s[3], "unit": "gib"}}]}


class Scheduler(threading.Thread):
    """Runs short callbacks at given times; long work must hand itself to a worker thread."""

    def __init__(self, log):
        super().__init__(name="scheduler", daemon=True)
        self.cv = threading.Condition()
        self.heap = []
        self.seq = itertools.count()
        self.stopped = False
        self.log = log

    def at(self, delay, fn, *args):
        with self.cv:
            heapq.heappush(self.heap, (time.monotonic() + max(0.0, delay), next(self.seq), fn, args))
            self.cv.notify()

    def stop(self):
        with self.cv:
            self.stopped = True
            self.cv.notify()

    def run(self):
        while True:
            with self.cv:
                while not self.stopped and (not self.heap or self.heap[0][0] > time.monotonic()):
                    timeout = self.heap[0][0] - time.monotonic() if self.heap else None
                    self.cv.wait(timeout if timeout is None else max(0.0, min(timeout, 1.0)))
                if self.stopped:
                    return
                _, _, fn, args = heapq.heappop(self.heap)
            try:
                fn(*args)
            except Exception as e:  # a bug in one callback must not stop the clock
                self.log("scheduler callback %s failed: %r" % (getattr(fn, "__name__", fn), e))


class RateLimiter:
    """Per-token sliding windows: an hourly-style limit and a burst limit (DO: 5000/h, 250/min)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.buckets = {}

    def check(self, token, now):
        """Return (allowed, headers). Counts the request when allowed."""
        limit, window = self.cfg["rate_limit"], self.cfg["rate_window"]
        burst, bwindow = self.cfg["burst_limit"], self.cfg["burst_window"]
        q = self.buckets.setdefault(token, deque())
        while q and q[0] <= now - window:
            q.popleft()
        recent = sum(1 for t in q if t > now - bwindow)
        allowed, retry = True, None
        if len(q) >= limit:
            allowed = False
        elif recent >= burst:
            allowed = False
            first_recent = next(t for t in q if t > now - bwindow)
            retry = max(1, int(first_recent + bwindow - now + 0.999))
        if allowed:
            q.append(now)
        reset = int(q[0] + window) if q else int(now + window)
        remaining = max(0, limit - len(q))
        if retry is not None and self.cfg.get("burst_remaining_zero"):
            # Real DO (openapi PR #816): the burst 429 says 0 left, with the *hourly* reset.
            remaining = 0
        headers = {"ratelimit-limit": str(limit), "ratelimit-remaining": str(remaining),
                   "ratelimit-reset": str(reset)}
        if retry is not None:
            headers["retry-after"] = str(retry)
        return allowed, headers

    def peek(self, token, now):
        limit, window = self.cfg["rate_limit"], self.cfg["rate_window"]
        q = self.buckets.get(token) or deque()
        live = [t for t in q if t > now - window]
        reset = int(live[0] + window) if live else int(now + window)
        return {"ratelimit-limit": str(limit), "ratelimit-remaining": str(max(0, limit - len(live))),
                "ratelimit-reset": str(reset)}


# Probabilistic faults besides the per-request rules: {rate, count} plus their own fields.
CHANCE_FAULTS = {
    "boot_failure": {"rate": 0.0, "mode": "stuck", "count": None},
    "delete_lost": {"rate": 0.0, "count": None},
    "capacity": {"rate": 1.0, "count": None, "regions": [], "sizes": None},
    "action_failure": {"rate": 0.0, "count": None, "types": None},
}
BOOT_FAILURE_MODES = ("stuck", "agent", "vanish")


class Faults:
    """Injected failures.

    Rules: {method, path (glob), error: 429|500|502|503|"timeout"|"garbage", rate, count, hold,
    retry_after, latency, after}; with "after": true the endpoint runs first and the error replaces
    its answer. Chances (CHANCE_FAULTS): boot_failure, delete_lost, capacity, action_failure."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.cfg = {"rules": [], "latency": 0.0}
        self.cfg.update({k: dict(v) for k, v in CHANCE_FAULTS.items()})
        self.injected = []

    @staticmethod
    def check_rules(rules):
        if not isinstance(rules, list):
            raise ValueError("rules must be a list")
        for r in rules:
            if not isinstance(r, dict):
                raise ValueError("each rule must be an object")
            err = r.get("error")
            if err not in (None, 429, 500, 502, 503, "timeout", "garbage"):
                raise ValueError("rule error must be 429, 500, 502, 503, \"timeout\" or \"garbage\"")
            if r.get("after") and err in (None, 429):
                raise ValueError("\"after\": true needs error 500, 502, 503, \"timeout\" or \"garbage\" "
                                 "(DigitalOcean refuses a 429 before acting)")

    def merged_chance(self, new, key):
        c = dict(self.cfg[key])
        given = new.get(key)
        if given is not None and not isinstance(given, dict):
            raise ValueError("%s must be an object" % key)
        c.update(given or {})
        if key == "boot_failure" and c.get("mode") not in BOOT_FAILURE_MODES:
            raise ValueError("boot_failure.mode must be \"stuck\", \"agent\" or \"vanish\"")
        if key == "capacity" and (not isinstance(c.get("regions"), list) or
                                  not (c.get("sizes") is None or isinstance(c["sizes"], list))):
            raise ValueError("capacity.regions must be a list and capacity.sizes a list or null")
        if key == "action_failure" and not (c.get("types") is None or isinstance(c["types"], list)):
            raise ValueError("action_failure.types must be a list or null")
        return c

    def set(self, new):
        if not isinstance(new, dict):
            raise ValueError("faults must be an object")
        rules = new.get("rules", self.cfg["rules"])
        self.check_rules(rules)
        cfg = {"rules": [dict(r) for r in rules], "latency": float(new.get("latency", self.cfg["latency"]))}
        for key in CHANCE_FAULTS:
            cfg[key] = self.merged_chance(new, key)
        self.cfg = cfg
        if "seed" in new:
            self.rng.seed(new["seed"])

    def match(self, method, path):
        """Return (latency, rule-or-None) for a request."""
        import fnmatch
        latency, hit = self.cfg["latency"], None
        for r in self.cfg["rules"]:
            if r.get("method") and r["method"].upper() != method:
                continue
            if r.get("path") and not fnmatch.fnmatchcase(path, r["path"]):
                continue
            if r.get("count") is not None and r["count"] <= 0:
                continue
            if self.rng.random() >= float(r.get("rate", 1.0)):
                continue
            latency += float(r.get("latency", 0.0))
            if r.get("error") is not None and hit is None:
                hit = r
                if r.get("count") is not None:
                    r["count"] -= 1
        return latency, hit

    def chance(self, key, applies=True):
        """True when the chance fault `key` fires now (it is then counted)."""
        c = self.cfg[key]
        if not applies or (c.get("count") is not None and c["count"] <= 0):
            return False
        if self.rng.random() >= float(c.get("rate") or 0.0):
            return False
        if c.get("count") is not None:
            c["count"] -= 1
        return True

    def boot_fails(self):
        return self.cfg["boot_failure"]["mode"] if self.chance("boot_failure") else None

    def no_capacity(self, region, size):
        """The regions to suggest when a create in region/size hits the capacity fault, else None."""
        c = self.cfg["capacity"]
        hit = region in c["regions"] and (c.get("sizes") is None or size in c["sizes"])
        if not self.chance("capacity", hit):
            return None
        return sorted(r for r in REGIONS if r not in c["regions"])

    def action_fails(self, kind):
        types = self.cfg["action_failure"].get("types")
        return self.chance("action_failure", types is None or kind in types)


class Sim:
    def __init__(self, cfg, log):
        self.cfg = cfg
        self.log = log
        self.lock = threading.RLock()
        self.instance = cfg.get("instance") or uuid.uuid4().hex[:12]
        self.state_dir = cfg["state_dir"]
        self.droplets = {}
        self.images = {}
        self.actions = {}
        self.domains = {}
        self.lbs = {}
        self.tags = {}
        self.request_log = deque(maxlen=cfg.get("request_log_max", 20000))
        self.metadata_log = deque(maxlen=5000)
        self.events = deque(maxlen=2000)
        self.faults = Faults(cfg.get("seed"))
        # Timing draws (boot, lags, delays) have their own RNG, so a profile never shifts the faults.
        self.timing = random.Random(None if cfg.get("seed") is None else cfg["seed"] * 7919 + 1)
        self.timing_lock = threading.Lock()
        self.cost = sim_real.CostMeter()
        self.prober = sim_real.HealthProber(self)
        self.rates = RateLimiter(cfg)
        self.ids = {"droplet": itertools.count(300000001), "image": itertools.count(BASE_IMAGE_ID + 1),
                    "action": itertools.count(700000001), "record": itertools.count(900000001)}
        self.next_addr = cfg.get("addr_base") or 1
        self.next_lb_addr = 1
        self.scheduler = Scheduler(log)
        self.workers = set()
        self.closing = False
        self.base_url = ""
        self.images[BASE_IMAGE_ID] = {
            "id": BASE_IMAGE_ID, "name": "12 x64", "type": "base", "distribution": "Debian",
            "slug": "debian-12-x64", "public": True, "created_at": now_iso(), "files": {}, "command": None,
            "tags": [], "source_droplet": None, "description": "Debian 12 (no agent)"}

    # ----- life cycle of the simulator -----

    def start(self):
        self.scheduler.start()
        self.prober.start()

    def delay(self, key):
        """A duration for knob `key`: drawn from its range, times time_scale."""
        return sim_real.draw(self.timing, self.timing_lock, self.cfg[key]) * self.cfg["time_scale"]

    def event(self, msg):
        self.events.append({"time": time.time(), "message": msg})
        self.log(msg)

    def spawn(self, fn, *args):
        t = threading.Thread(target=self._worker, args=(fn, args), daemon=True)
        with self.lock:
            self.workers.add(t)
        t.start()
        return t

    def _worker(self, fn, args):
        try:
            fn(*args)
        except Exception as e:
            self.log("worker %s failed: %r" % (fn.__name__, e))
        finally:
            with self.lock:
                self.workers.discard(threading.current_thread())

    def shutdown(self):
        """Stop every droplet's processes and metadata listener; bounded by the kill grace."""
        with self.lock:
            self.closing = True
            drops = list(self.droplets.values())
            self.droplets = {}
        self.scheduler.stop()
        self.prober.stop_evt.set()
        threads = [threading.Thread(target=self._stop_droplet, args=(d, True), daemon=True) for d in drops]
        for t in threads:
            t.start()
        deadline = time.monotonic() + self.cfg["kill_grace"] + 5
        for t in threads:
            t.join(max(0.1, deadline - time.monotonic()))
        with self.lock:
            workers = list(self.workers)
        for t in workers:
            t.join(max(0.1, deadline - time.monotonic()))
        # Last sweep: anything that still carries this instance's marker.
        rt.kill_groups([], "DOSIM_INSTANCE=" + self.instance, 1.0, self.log)

    # ----- helpers -----

    def new_action(self, kind, resource_id, region, resource_type="droplet", status="in-progress"):
        aid = next(self.ids["action"])
        a = {"id": aid, "status": status, "type": kind, "started_at": now_iso(), "completed_at": None,
             "resource_id": resource_id, "resource_type": resource_type, "region_slug": region}
        self.actions[aid] = a
        return a

    def finish_action(self, a, ok=True):
        a["status"] = "completed" if ok else "errored"
        a["completed_at"] = now_iso()

    def action_json(self, a):
        out = {k: v for k, v in a.items() if not k.startswith("_")}
        if a.get("_reveal_at") is not None and time.monotonic() < a["_reveal_at"]:
            # action_status_lag: done inside, still in-progress to the API for a while.
            out["status"], out["completed_at"] = "in-progress", None
        out["region"] = region_json(a["region_slug"]) if a.get("region_slug") else None
        if out["region"] is None:
            del out["region"]
        return out

    def image_json(self, img):
        size = sum(len(rt.file_entry_bytes(f)) for f in img["files"].values())
        return {"id": img["id"], "name": img["name"], "type": img["type"], "distribution": img["distribution"],
                "slug": img["slug"], "public": img["public"], "regions": sorted(REGIONS),
                "created_at": img["created_at"], "min_disk_size": 25,
                "size_gigabytes": round(max(size / 1e9, 0.01), 2), "description": img.get("description", ""),
                "tags": list(img["tags"]), "status": "available", "error_message": ""}

    def ip_visible(self, d, kind, now):
        """public_ip_lag/private_ip_lag: an address shows lag seconds after active (negative: while new)."""
        at, lag = d["ip_at"][kind]
        if d["boot_error"] is not None and not d["booted_once"]:
            return False
        if lag > 0:
            return d["booted_once"] and now >= at
        return d["booted_once"] or (lag < 0 and now >= at)

    def shown_status(self, d, now):
        old = d.get("_status_shown")
        return old[0] if old is not None and now < old[1] else d["status"]

    def droplet_json(self, d):
        size = size_json(d["size_slug"])
        nets = {"v4": [], "v6": []}
        now = time.monotonic()
        if d["status"] in ("new", "active", "off"):
            # The spec types the gateway as a string; DO sends null for private entries, we omit it.
            if self.ip_visible(d, "public", now):
                nets["v4"].append({"ip_address": d["public_ip"], "netmask": "255.255.0.0",
                                   "gateway": "127.%d.0.1" % PUBLIC_NET, "type": "public"})
            if self.ip_visible(d, "private", now):
                nets["v4"].append({"ip_address": d["private_ip"], "netmask": "255.255.0.0", "type": "private"})
        img = self.images.get(d["image_id"]) or d["image_snapshot"]
        pending = self.actions.get(d["pending_action"]) if d["pending_action"] else None
        locked = bool(self.cfg.get("strict_actions") and pending is not None and pending["type"] != "create")
        disk_info = [{"type": "local", "size": {"amount": d["disk"], "unit": "gib"}}]
        return {"id": d["id"], "name": d["name"], "memory": size["memory"], "vcpus": size["vcpus"],
                "disk": d["disk"], "disk_info": disk_info, "locked": locked, "status": self.shown_status(d, now),
                "kernel": None, "created_at": d["created_at"], "features": list(d["features"]),
                "backup_ids": [], "next_backup_window": None, "snapshot_ids": list(d["snapshot_ids"]),
                "image": self.image_json(img), "volume_ids": [], "size": size, "size_slug": d["size_slug"],
                "networks": nets, "region": region_json(d["region"]), "tags": list(d["tags"]),
                "vpc_uuid": d["vpc_uuid"]}

    def paginate(self, key, items, query, path):
        try:
            page = max(1, int(query.get("page", "1")))
            per_page = min(200, max(1, int(query.get("per_page", "20"))))
        except ValueError:
            raise ApiError(400, "bad_request", "page and per_page must be integers")
        total = len(items)
        last = max(1, (total + per_page - 1) // per_page)
        chunk = items[(page - 1) * per_page: page * per_page]

        def url(p):
            q = dict(query)
            q["page"] = str(p)
            q["per_page"] = str(per_page)
            from urllib.parse import urlencode
            return "%s%s?%s" % (self.base_url, path, urlencode(sorted(q.items())))
        pages = {}
        if page > 1:
            pages["first"] = url(1)
            pages["prev"] = url(min(page - 1, last))
        if page < last:
            pages["next"] = url(page + 1)
            pages["last"] = url(last)
        return 200, {key: chunk, "links": {"pages": pages} if pages else {}, "meta": {"total": total}}

    def get_droplet(self, did):
        try:
            d = self.droplets.get(int(did))
        except ValueError:
            d = None
        if d is None:
            raise not_found()
        return d

    def resolve_image(self, ref):
        if isinstance(ref, bool):
            return None
        if isinstance(ref, int):
            return self.images.get(ref)
        if isinstance(ref, str):
            for img in self.images.values():
                if img["slug"] and img["slug"] == ref:
                    return img
        return None

    def alloc_addr(self):
        """Next droplet address index whose private address is free for metadata and the agent's port."""
        while self.next_addr <= MAX_ADDR_INDEX:
            idx = self.next_addr
            self.next_addr += 1
            if self._addr_free(addr(PRIVATE_NET, idx)) and self._addr_free(addr(PUBLIC_NET, idx)):
                return idx
        raise ApiError(500, "server_error", "simulator ran out of droplet addresses")

    def _addr_free(self, ip):
        probes = [(socket.SOCK_STREAM, self.cfg["metadata_port"]), (socket.SOCK_DGRAM, self.cfg["agent_port"])]
        for kind, port in probes:
            s = socket.socket(socket.AF_INET, kind)
            if kind == socket.SOCK_STREAM:
                # As the metadata server will: TIME_WAIT leftovers must not count as "in use".
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((ip, port))
            except OSError as e:
                if e.errno == errno.EADDRINUSE:
                    return False
                raise
            finally:
                s.close()
        return True

    def placeholders(self, d):
        vals = dict(self.cfg.get("placeholders") or {})
        vals.update({"root": d["root"], "metadata_url": d["metadata_url"], "public_ipv4": d["public_ip"],
                     "private_ipv4": d["private_ip"], "droplet_id": d["id"], "hostname": d["name"],
                     "region": d["region"], "api_url": self.base_url})
        return vals

    def droplet_env(self, d):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOSIM_", "MITOSIS_SIM_"))}
        env.update({"DOSIM_INSTANCE": self.instance, "DOSIM_DROPLET": "%s:%d" % (self.instance, d["id"]),
                    "MITOSIS_SIM_ROOT": d["root"], "MITOSIS_SIM_DROPLET_ID": str(d["id"]),
                    "MITOSIS_SIM_HOSTNAME": d["name"], "MITOSIS_SIM_PUBLIC_IPV4": d["public_ip"],
                    "MITOSIS_SIM_PRIVATE_IPV4": d["private_ip"], "MITOSIS_SIM_METADATA_URL": d["metadata_url"],
                    "MITOSIS_SIM_API_URL": self.base_url})
        return env

    # ----- droplet lifecycle -----

    def create_droplets(self, body):
        names = body.get("names")
        if names is not None and "name" in body:
            raise unprocessable("name and names are mutually exclusive")
        if names is None:
            if "name" not in body:
                raise unprocessable("name is required")
            names = [body["name"]]
            single = True
        else:
            single = False
            if not isinstance(names, list) or not names:
                raise unprocessable("names must be a non-empty array")
            if len(names) > 10:
                raise unprocessable("names may hold at most 10 names")
        for n in names:
            if not isinstance(n, str) or len(n) > 255 or not NAME_RE.match(n):
                raise unprocessable("Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)")
        size = body.get("size")
        if size not in SIZE_BY_SLUG:
            raise unprocessable("You specified an invalid size for Droplet creation.")
        img = self.resolve_image(body.get("image"))
        if img is None:
            raise unprocessable("You specified an invalid image for Droplet creation.")
        region = body.get("region") or "nyc3"
        if region not in REGIONS:
            match = sorted(r for r in REGIONS if r.startswith(region))
            if not match:
                raise unprocessable("You specified an invalid region for Droplet creation.")
            region = match[0]
        tags = body.get("tags") or []
        if not isinstance(tags, list) or any(not isinstance(t, str) or not TAG_RE.match(t) for t in tags):
            raise unprocessable("tags must be an array of valid tag names")
        user_data = body.get("user_data") or ""
        if not isinstance(user_data, str) or len(user_data.encode()) > 65536:
            raise unprocessable("user_data must be a string of at most 64 KiB")
        limit = self.cfg["droplet_limit"]
        if len(self.droplets) + len(names) > limit:
            raise unprocessable("creating this/these droplet(s) will exceed your droplet limit")
        self.check_capacity(region, size)
        for t in tags:
            self.ensure_tag(t)
        out, links = [], []
        for n in names:
            d = self._new_droplet(n, size, img, region, tags, user_data, body)
            a = self.new_action("create", d["id"], region)
            d["pending_action"] = a["id"]
            self.schedule_boot(d, a)
            j = self.droplet_json(d)
            j["networks"] = {"v4": [], "v6": []}  # a 202 never has addresses, whatever the ip lags say
            out.append(j)
            links.append({"id": a["id"], "rel": "create", "href": "%s/v2/actions/%d" % (self.base_url, a["id"])})
            self.event("droplet %d (%s) created from image %d" % (d["id"], n, img["id"]))
        if single:
            return 202, {"droplet": out[0], "links": {"actions": links}}
        return 202, {"droplets": out, "links": {"actions": links}}

    def check_capacity(self, region, size):
        """The capacity fault: DO's 422, with the regions that can take the size now."""
        regions = self.faults.no_capacity(region, size)
        if regions is None:
            return
        msg = ("The size you selected is temporarily unavailable because of High CPU server capacity"
               if size.startswith("c-") else "Size is not available in this region.")
        self.event("create in %s (%s): injected capacity 422" % (region, size))
        self.faults.injected.append({"time": time.time(), "method": "POST", "path": "/v2/droplets",
                                     "error": "capacity", "region": region})
        raise ApiError(422, "unprocessable_entity", msg, body={
            "id": "unprocessable_entity", "message": msg, "request_id": str(uuid.uuid4()),
            "error_attributes": {"available_regions": regions}})

    def schedule_boot(self, d, a):
        """Draws this droplet's boot time and when its addresses and its tag listing show up."""
        now = time.monotonic()
        boot = self.delay("boot_delay")
        scale = self.cfg["time_scale"]
        d["ip_at"] = {}
        for kind in ("public", "private"):
            lag = sim_real.draw(self.timing, self.timing_lock, self.cfg[kind + "_ip_lag"])
            d["ip_at"][kind] = (now + max(0.0, boot + lag * scale), lag)
        d["tag_visible_at"] = now + self.delay("tag_lag")
        self.scheduler.at(boot, self.boot_done, d["id"], a["id"], d["gen"])

    def _new_droplet(self, name, size, img, region, tags, user_data, body):
        did = next(self.ids["droplet"])
        idx = self.alloc_addr()
        root = os.path.join(self.state_dir, "droplets", str(did))
        private_ip = addr(PRIVATE_NET, idx)
        features = ["private_networking"]
        if body.get("monitoring"):
            features.append("monitoring")
        if body.get("ipv6"):
            features.append("ipv6")
        d = {"id": did, "name": name, "status": "new", "size_slug": size, "image_id": img["id"],
             "image_snapshot": img, "region": region, "tags": list(dict.fromkeys(tags)), "user_data": user_data,
             "created_at": now_iso(), "snapshot_ids": [], "features": features,
             "vpc_uuid": self.cfg["vpc_uuid"], "addr_index": idx, "public_ip": addr(PUBLIC_NET, idx),
             "private_ip": private_ip,
             "metadata_url": "http://%s:%d" % (private_ip, self.cfg["metadata_port"]),
             "root": root, "gen": 0, "pgids": [], "procs": [], "booted_once": False, "pending_action": None,
             "boot_error": None, "user_data_result": None, "agent_pid": None,
             "md_server": None, "boot_count": 0, "inject_agent_failure": False,
             "disk": SIZE_BY_SLUG[size][3], "deleting": None, "health_override": None}
        self.droplets[did] = d
        self.cost.open(did, name, size, size_json(size)["price_hourly"], time.monotonic())
        return d

    def boot_done(self, did, aid, gen):
        with self.lock:
            d = self.droplets.get(did)
            a = self.actions.get(aid)
            if d is None or a is None or d["gen"] != gen or self.closing:
                if a is not None and a["status"] == "in-progress":
                    self.finish_action(a, ok=False)
                return
            mode = self.faults.boot_fails()
            if mode == "vanish":
                # The create failed after its 202: the droplet is simply gone (404).
                self.event("droplet %d: injected boot failure (vanished)" % did)
                self.faults.injected.append({"time": time.time(), "method": "POST", "path": "/v2/droplets",
                                             "error": "vanish", "droplet_id": did})
                d["boot_error"] = "injected boot failure: droplet vanished"
                self.delete_droplet(d)
                return
            if mode == "stuck":
                self.finish_action(a, ok=False)
                d["pending_action"] = None
                d["boot_error"] = "injected boot failure: droplet stays new"
                self.event("droplet %d: injected boot failure (stuck in new)" % did)
                return
            d["inject_agent_failure"] = mode == "agent"
            try:
                self.start_metadata(d)
            except OSError as e:
                self.finish_action(a, ok=False)
                d["pending_action"] = None
                d["boot_error"] = "metadata listener: %s" % e
                self.event("droplet %d: cannot start metadata listener: %s" % (did, e))
                return
            d["status"] = "active"
            d["booted_once"] = True
            d["pending_action"] = None
            self.finish_action(a)
            self.event("droplet %d active at %s / %s" % (did, d["public_ip"], d["private_ip"]))
        self.spawn(self.run_boot, did, gen, True)

    def start_metadata(self, d):
        if d["md_server"] is None:
            import sim_http
            d["md_server"] = sim_http.start_metadata_server(self, d["id"], d["private_ip"], self.cfg["metadata_port"])

    def run_boot(self, did, gen, first):
        """Worker thread: files, user-data (first boot only), then the image's command."""
        with self.lock:
            d = self.droplets.get(did)
            if d is None or d["gen"] != gen:
                return
            img = d["image_snapshot"]
            d["boot_count"] += 1
            env = self.droplet_env(d)
            root = d["root"]
        logdir = os.path.join(root, rt.LOG_DIR)
        os.makedirs(logdir, exist_ok=True)
        os.makedirs(os.path.join(root, rt.SIM_DIR), exist_ok=True)
        if first:
            rt.restore_dirs(root, img.get("dirs") or {})
            for path, entry in sorted(img["files"].items()):
                rt.write_file(root, path, rt.file_entry_bytes(entry), rt.parse_mode(entry.get("mode")))
            result = self.run_user_data(d, env, gen)
            with self.lock:
                d["user_data_result"] = result
            if result.get("power_state") in ("poweroff", "halt"):
                self.power_off_self(did, gen)
                return
        self.start_agent(did, gen, img, env)
        with self.lock:
            gone = d.get("deleted") and not self.cfg.get("keep")
        if gone:
            # Deleted while booting: the delete's clean-up may have run before our writes.
            shutil.rmtree(root, ignore_errors=True)

    def run_user_data(self, d, env, gen):
        ud = d["user_data"]
        root = d["root"]
        log_path = os.path.join(root, rt.LOG_DIR, "user-data.log")
        if not ud.strip():
            return {"kind": "none"}
        if ud.startswith("#!"):
            script = os.path.join(root, rt.SIM_DIR, "user-data")
            rt.write_file(root, "/" + rt.SIM_DIR + "/user-data", ud, 0o700)
            rc = self.run_droplet_cmd(d, gen, [script], env, log_path)
            return {"kind": "script", "exit_codes": [rc]}
        if ud.startswith("#cloud-config"):
            try:
                files, cmds, ignored = rt.parse_cloud_config(ud)
            except rt.CloudConfigError as e:
                self._append_log(log_path, "dosim: cloud-config rejected: %s\n" % e)
                return {"kind": "cloud-config", "error": str(e)}
            if ignored:
                self._append_log(log_path, "dosim: ignoring unsupported cloud-config keys: %s\n" % ", ".join(ignored))
            for f in files:
                if f["append"]:
                    host = rt.safe_join(root, f["path"])
                    os.makedirs(os.path.dirname(host), exist_ok=True)
                    with open(host, "ab") as fh:
                        fh.write(f["data"])
                    os.chmod(host, f["mode"])
                else:
                    rt.write_file(root, f["path"], f["data"], f["mode"])
            codes = []
            for c in cmds:
                argv = c if isinstance(c, list) else ["/bin/sh", "-c", c]
                # Droplets share the host: a command that manages the host's
                # services or power (systemctl restart mitosis in clone user-data)
                # is logged, not run. The agent was started from the snapshot anyway.
                word = os.path.basename(argv[0] if isinstance(c, list) else c.strip().split(" ")[0])
                if word in HOST_COMMANDS:
                    self._append_log(log_path, "dosim: not running host command %r\n" % (c,))
                    codes.append(0)
                    continue
                codes.append(self.run_droplet_cmd(d, gen, argv, env, log_path))
            return {"kind": "cloud-config", "files": [f["path"] for f in files], "exit_codes": codes,
                    "ignored_keys": ignored, "power_state": rt.parse_power_state(ud)}
        self._append_log(log_path, "dosim: user-data is neither #! nor #cloud-config; ignored\n")
        return {"kind": "ignored"}

    def power_off_self(self, did, gen):
        """cloud-init's power_state after the user-data (a bake's builder): the droplet turns itself
        off, with no API action, and its status reads "off" (its image's command never starts)."""
        with self.lock:
            d = self.droplets.get(did)
            if d is None or d["gen"] != gen or d.get("deleted"):
                return
            d["status"] = "off"
            self.stop_processes(d)
            self.event("droplet %d: powered itself off (cloud-init power_state)" % did)

    def _append_log(self, path, text):
        with open(path, "a") as f:
            f.write(text)

    def _popen(self, d, gen, argv, env, log_path):
        """Start argv in its own session for droplet d; None when the droplet went away meanwhile."""
        with open(log_path, "ab") as logf:
            p = subprocess.Popen(argv, cwd=d["root"], env=env, stdin=subprocess.DEVNULL, stdout=logf,
                                 stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
        with self.lock:
            current = self.droplets.get(d["id"])
            alive = current is d and d["gen"] == gen and not self.closing
            if alive:
                d["pgids"].append(p.pid)
                d["procs"].append(p)
        if not alive:
            rt.kill_groups([p.pid], "DOSIM_DROPLET=%s:%d" % (self.instance, d["id"]), 1.0, self.log)
            return None
        return p

    def run_droplet_cmd(self, d, gen, argv, env, log_path):
        """Run one user-data command to completion (bounded); its background children stay tracked."""
        try:
            p = self._popen(d, gen, argv, env, log_path)
        except OSError as e:
            self._append_log(log_path, "dosim: cannot run %s: %s\n" % (argv[0], e))
            return 127
        if p is None:
            return None
        deadline = time.monotonic() + self.cfg["user_data_timeout"]
        while time.monotonic() < deadline:
            # With the reaper running, only it may wait for children (Popen.poll would report 0 on ECHILD).
            rc = self.reaper_status(p.pid) if self.cfg.get("reaper") else p.poll()
            if rc is not None:
                return rc
            time.sleep(0.02)
        self._append_log(log_path, "dosim: user-data command timed out after %ss\n" % self.cfg["user_data_timeout"])
        return None

    def reaper_status(self, pid):
        reaper = self.cfg.get("reaper")
        if reaper is None:
            return None
        st = reaper.status.get(pid)
        if st is None:
            return None
        return os.waitstatus_to_exitcode(st)

    def start_agent(self, did, gen, img, env):
        with self.lock:
            d = self.droplets.get(did)
            if d is None or d["gen"] != gen:
                return
            command = img.get("command")
            inject = d["inject_agent_failure"]
            vals = self.placeholders(d)
        log_path = os.path.join(d["root"], rt.LOG_DIR, "agent.log")
        if inject:
            argv = ["/bin/sh", "-c", "echo 'dosim: injected agent failure' >&2; exit 1"]
        elif not command:
            return
        else:
            try:
                argv = [rt.substitute(a, vals) for a in command]
            except KeyError as e:
                with self.lock:
                    d["boot_error"] = "unknown placeholder {%s} in the image command" % e.args[0]
                self._append_log(log_path, "dosim: %s\n" % d["boot_error"])
                self.event("droplet %d: %s" % (did, d["boot_error"]))
                return
        try:
            p = self._popen(d, gen, argv, env, log_path)
        except OSError as e:
            with self.lock:
                d["boot_error"] = "cannot start agent %s: %s" % (argv[0], e.strerror)
            self._append_log(log_path, "dosim: %s\n" % d["boot_error"])
            self.event("droplet %d: %s" % (did, d["boot_error"]))
            return
        if p is not None:
            with self.lock:
                d["agent_pid"] = p.pid
            self.event("droplet %d: agent started, pid %d" % (did, p.pid))

    def stop_processes(self, d):
        """Caller holds the lock. Bumps the generation and hands the kill to a worker."""
        d["gen"] += 1
        pgids, d["pgids"], d["procs"] = d["pgids"], [], []
        d["agent_pid"] = None
        marker = "DOSIM_DROPLET=%s:%d" % (self.instance, d["id"])
        self.spawn(rt.kill_groups, pgids, marker, self.cfg["kill_grace"], self.log)

    def _stop_droplet(self, d, final):
        with self.lock:
            d["gen"] += 1
            pgids, d["pgids"], d["procs"] = d["pgids"], [], []
            md, d["md_server"] = d["md_server"], None
        rt.kill_groups(pgids, "DOSIM_DROPLET=%s:%d" % (self.instance, d["id"]), self.cfg["kill_grace"], self.log)
        if md is not None:
            md.shutdown()
            md.server_close()
        if final and not self.cfg.get("keep"):
            shutil.rmtree(d["root"], ignore_errors=True)

    def request_delete(self, d):
        """Caller holds the lock. A DELETE that answers 204: destroyed now, after delete_delay, or (the
        delete_lost fault) never. Until then the droplet stays listed, counted and billed."""
        if d["deleting"] is not None:
            return
        if self.faults.chance("delete_lost"):
            self.faults.injected.append({"time": time.time(), "method": "DELETE",
                                         "path": "/v2/droplets/%d" % d["id"], "error": "delete_lost"})
            self.event("droplet %d: injected delete_lost (204, droplet kept)" % d["id"])
            return
        wait = self.delay("delete_delay")
        if wait <= 0:
            self.delete_droplet(d)
            return
        d["deleting"] = time.monotonic() + wait
        self.event("droplet %d: delete accepted, destroyed in %.1fs" % (d["id"], wait))
        self.scheduler.at(wait, self._destroy_later, d["id"])

    def _destroy_later(self, did):
        with self.lock:
            d = self.droplets.get(did)
            if d is not None and not self.closing:
                self.delete_droplet(d)

    def delete_droplet(self, d):
        """Caller holds the lock. Destroys the droplet now: 404 from here on, billing stops."""
        del self.droplets[d["id"]]
        self.cost.close(d["id"], time.monotonic())
        d["deleted"] = True
        for lb in self.lbs.values():
            if d["id"] in lb["droplet_ids"]:
                lb["droplet_ids"].remove(d["id"])
        if d["pending_action"] and d["pending_action"] in self.actions:
            a = self.actions[d["pending_action"]]
            if a["status"] == "in-progress":
                self.finish_action(a, ok=False)
        self.event("droplet %d (%s) deleted" % (d["id"], d["name"]))
        self.spawn(self._stop_droplet, d, True)

    # ----- droplet actions -----

    def start_droplet_action(self, d, body):
        kind = body.get("type")
        if kind not in DROPLET_ACTIONS:
            raise unprocessable("dosim does not support the action type %r" % (kind,))
        if d["pending_action"] is not None or d["status"] == "new" or d["deleting"] is not None:
            raise unprocessable("Droplet already has a pending event.")
        if kind == "resize" and body.get("size") not in SIZE_BY_SLUG:
            raise unprocessable("You specified an invalid size for the resize.")
        if kind == "rename" and (not isinstance(body.get("name"), str) or not NAME_RE.match(body["name"])):
            raise unprocessable("Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)")
        if self.cfg.get("strict_actions"):
            self.check_strict(d, kind, body)
        a = self.new_action(kind, d["id"], d["region"])
        d["pending_action"] = a["id"]
        # Decided now, so an action that will fail does not stop the droplet first.
        a["_fails"] = self.faults.action_fails(kind)
        if a["_fails"]:
            self.faults.injected.append({"time": time.time(), "method": "POST",
                                         "path": "/v2/droplets/%d/actions" % d["id"], "error": "action_errored",
                                         "type": kind})
        elif kind in ("shutdown", "power_off", "reboot", "power_cycle"):
            self.stop_processes(d)
        took = self.action_time(d, kind, body)
        self.scheduler.at(took, self.action_done, d["id"], a["id"], dict(body))
        self.event("droplet %d: action %s %d started (%.1fs)" % (d["id"], kind, a["id"], took))
        return a

    def check_strict(self, d, kind, body):
        """strict_actions: the refusals real DigitalOcean answers with 422."""
        status = d["status"]
        if kind in ("power_off", "shutdown") and status == "off":
            raise unprocessable("Droplet is already powered off.")
        if kind == "power_on" and status == "active":
            raise unprocessable("Droplet is already powered on.")
        if kind == "resize":
            if status != "off":
                raise unprocessable("Droplet is currently on. Please power it off to run this event.")
            if SIZE_BY_SLUG[body["size"]][3] < d["disk"]:
                raise unprocessable("Size can not be smaller than the Droplet's original size.")

    def action_time(self, d, kind, body):
        """action_delay, plus action_per_gb for each GB a snapshot copies or a disk resize grows to."""
        gb = 0
        if kind == "snapshot":
            gb = d["disk"]
        elif kind == "resize" and body.get("disk") is True:
            gb = SIZE_BY_SLUG[body["size"]][3]
        return self.delay("action_delay") + gb * self.cfg["action_per_gb"] * self.cfg["time_scale"]

    def action_done(self, did, aid, body):
        with self.lock:
            d = self.droplets.get(did)
            a = self.actions.get(aid)
            if a is None or a["status"] != "in-progress":
                return
            if d is None or self.closing:
                self.finish_action(a, ok=False)
                return
            d["pending_action"] = None
            if a.get("_fails"):
                self.finish_action(a, ok=False)
                self.event("droplet %d: action %s %d errored (injected)" % (did, a["type"], aid))
                self.lag_action(a)
                return
            old = d["status"]
            boot = self.apply_action(d, a["type"], body)
            if d["status"] != old:
                lag = self.delay("droplet_status_lag")
                if lag > 0:
                    d["_status_shown"] = (old, time.monotonic() + lag)
            self.finish_action(a)
            self.lag_action(a)
            gen = d["gen"]
            self.event("droplet %d: action %s %d completed" % (did, a["type"], aid))
        if boot:
            self.spawn(self.run_boot, did, gen, False)

    def lag_action(self, a):
        """action_status_lag: the action reads in-progress a while after it is done."""
        lag = self.delay("action_status_lag")
        if lag > 0:
            a["_reveal_at"] = time.monotonic() + lag

    def apply_action(self, d, kind, body):
        """Caller holds the lock: what a completed action changes; True when the droplet boots again."""
        if kind in ("shutdown", "power_off"):
            d["status"] = "off"
        elif kind in ("power_on", "reboot", "power_cycle"):
            if kind == "power_on" and d["status"] == "active":
                return False
            d["status"] = "active"
            return True
        elif kind == "resize":
            d["size_slug"] = body["size"]
            grown = SIZE_BY_SLUG[body["size"]][3]
            # Kind mode: the disk follows the size. strict_actions: it grows only with "disk": true,
            # and then for good (check_strict refuses smaller disks from there on).
            if not self.cfg.get("strict_actions"):
                d["disk"] = grown
            elif body.get("disk") is True:
                d["disk"] = max(d["disk"], grown)
            self.cost.resize(d["id"], d["size_slug"], size_json(d["size_slug"])["price_hourly"], time.monotonic())
        elif kind == "rename":
            d["name"] = body["name"]
        elif kind == "snapshot":
            self.take_snapshot(d, body.get("name"))
        elif kind == "enable_ipv6" and "ipv6" not in d["features"]:
            d["features"].append("ipv6")
        return False

    def take_snapshot(self, d, name):
        """Caller holds the lock: the image's files plus what is on the droplet's disk now."""
        files = {k: dict(v) for k, v in d["image_snapshot"]["files"].items()}
        dirs = dict(d["image_snapshot"].get("dirs") or {})
        if os.path.isdir(d["root"]):
            files.update(rt.capture_files(d["root"]))
            dirs.update(rt.capture_dirs(d["root"]))
        iid = next(self.ids["image"])
        img = {"id": iid, "name": name or "%s-%d" % (d["name"], int(time.time())), "type": "snapshot",
               "distribution": "Debian", "slug": None, "public": False, "created_at": now_iso(), "files": files,
               "dirs": dirs, "command": d["image_snapshot"].get("command"), "tags": [], "source_droplet": d["id"],
               "description": ""}
        self.images[iid] = img
        d["snapshot_ids"].append(iid)
        self.event("droplet %d: snapshot image %d (%d files)" % (d["id"], iid, len(files)))
        return img

    def register_snapshot(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("snapshot must be an object")
        files = spec.get("files") or {}
        if not isinstance(files, dict):
            raise ValueError("files must map absolute paths to {content, mode}")
        clean = {}
        for path, entry in files.items():
            if not path.startswith("/"):
                raise ValueError("file path %r is not absolute" % path)
            rt.safe_join("/nonexistent", path)
            if isinstance(entry, str):
                entry = {"content": entry}
            if not isinstance(entry, dict) or ("content" not in entry and "content_b64" not in entry):
                raise ValueError("file %s needs content or content_b64" % path)
            mode = rt.parse_mode(entry.get("mode"), 0o644)
            e = {"mode": "%04o" % mode}
            if "content_b64" in entry:
                e["content_b64"] = entry["content_b64"]
            else:
                e["content"] = str(entry["content"])
            clean[path] = e
        cmd = spec.get("command")
        if cmd is not None and (not isinstance(cmd, list) or not all(isinstance(x, str) for x in cmd) or not cmd):
            raise ValueError("command must be a non-empty list of strings")
        name = spec.get("name") or "dosim-snapshot"
        with self.lock:
            iid = next(self.ids["image"])
            img = {"id": iid, "name": name, "type": "snapshot", "distribution": "Debian", "slug": None,
                   "public": False, "created_at": now_iso(), "files": clean, "command": cmd,
                   "tags": list(spec.get("tags") or []), "source_droplet": None,
                   "description": spec.get("description", "")}
            self.images[iid] = img
            self.event("registered snapshot image %d (%s)" % (iid, name))
            return img

    # ----- tags, load balancers -----

    def ensure_tag(self, name):
        for t in self.tags:
            if t.lower() == name.lower():
                return t
        self.tags[name] = {"name": name, "created": time.time()}
        return name

    def tag_json(self, name):
        drops = [d for d in self.droplets.values() if name in d["tags"]]
        imgs = [i for i in self.images.values() if name in i["tags"]]
        res = {"count": len(drops) + len(imgs),
               "droplets": {"count": len(drops)}, "images": {"count": len(imgs)},
               "volumes": {"count": 0}, "volume_snapshots": {"count": 0}, "databases": {"count": 0}}
        if drops:
            uri = "%s/v2/droplets/%d" % (self.base_url, drops[-1]["id"])
            res["droplets"]["last_tagged_uri"] = uri
            res["last_tagged_uri"] = uri
        return {"name": name, "resources": res}

    def lb_members(self, lb):
        if lb["tag"]:
            return sorted(d["id"] for d in self.droplets.values() if lb["tag"] in d["tags"])
        return list(lb["droplet_ids"])

    def lb_json(self, lb):
        out = {k: v for k, v in lb.items() if not k.startswith("_")}
        out["region"] = region_json(lb["region"])
        out["droplet_ids"] = self.lb_members(lb)
        return out

    def lb_body(self, body, old=None):
        region = body.get("region")
        if region not in REGIONS:
            raise unprocessable("You specified an invalid region for the load balancer.")
        rules = body.get("forwarding_rules")
        if not isinstance(rules, list) or not rules:
            raise unprocessable("forwarding_rules is required")
        for r in rules:
            if not isinstance(r, dict) or any(k not in r for k in
                                                ("entry_protocol", "entry_port", "target_protocol", "target_port")):
                raise unprocessable("each forwarding rule needs entry_protocol, entry_port, target_protocol, target_port")
        tag = body.get("tag") or ""
        ids = body.get("droplet_ids")
        if tag and ids:
            raise unprocessable("droplet_ids and tag are mutually exclusive")
        ids = ids or []
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise unprocessable("droplet_ids must be an array of integers")
        for i in ids:
            if i not in self.droplets:
                raise unprocessable("droplet %d does not exist" % i)
        if tag:
            tag = self.ensure_tag(tag)
        hc = {"protocol": "http", "port": 80, "path": "/", "check_interval_seconds": 10,
              "response_timeout_seconds": 5, "unhealthy_threshold": 5, "healthy_threshold": 3}
        hc.update(body.get("health_check") or {})
        ss = {"type": "none"}
        ss.update(body.get("sticky_sessions") or {})
        return {"name": body.get("name") or (old or {}).get("name") or "lb-%d" % int(time.time()),
                "size_unit": int(body.get("size_unit") or 1), "size": "lb-small",
                "forwarding_rules": [dict(r) for r in rules], "health_check": hc, "sticky_sessions": ss,
                "redirect_http_to_https": bool(body.get("redirect_http_to_https", False)),
                "enable_proxy_protocol": bool(body.get("enable_proxy_protocol", False)),
                "enable_backend_keepalive": bool(body.get("enable_backend_keepalive", False)),
                "http_idle_timeout_seconds": int(body.get("http_idle_timeout_seconds") or 60),
                "vpc_uuid": self.cfg["vpc_uuid"],
                "disable_lets_encrypt_dns_records": bool(body.get("disable_lets_encrypt_dns_records", False)),
                "firewall": body.get("firewall") or {"deny": [], "allow": []},
                "network": "EXTERNAL", "network_stack": "IPV4", "type": "REGIONAL", "region": region,
                "droplet_ids": list(dict.fromkeys(ids)), "tag": tag}

    def create_lb(self, body):
        lb = self.lb_body(body)
        lb.update({"id": str(uuid.uuid4()), "ip": addr(LB_NET, self.next_lb_addr), "status": "new",
                   "created_at": now_iso()})
        self.next_lb_addr += 1
        self.lbs[lb["id"]] = lb
        self.scheduler.at(self.delay("boot_delay"), self._lb_active, lb["id"])
        self.event("load balancer %s created (%s)" % (lb["id"], "tag " + lb["tag"] if lb["tag"] else "by id"))
        return lb

    def _lb_active(self, lid):
        with self.lock:
            lb = self.lbs.get(lid)
            if lb is not None and lb["status"] == "new":
                lb["status"] = "active"

    # ----- domains -----

    def add_domain(self, name, ip=None):
        name = name.lower().rstrip(".")
        if name in self.domains:
            raise unprocessable("Domain already exists.")
        dom = {"name": name, "ttl": 1800, "records": {}}
        self.domains[name] = dom
        for ns in ("ns1.digitalocean.com", "ns2.digitalocean.com", "ns3.digitalocean.com"):
            self.add_record(dom, {"type": "NS", "name": "@", "data": ns, "ttl": 1800})
        self.add_record(dom, {"type": "SOA", "name": "@", "data": "1800", "ttl": 1800})
        if ip:
            self.add_record(dom, {"type": "A", "name": "@", "data": ip, "ttl": 1800})
        return dom

    def domain_json(self, dom):
        return {"name": dom["name"], "ttl": dom["ttl"], "zone_file": self.zone_file(dom)}

    def zone_file(self, dom):
        lines = ["$ORIGIN %s." % dom["name"], "$TTL %d" % dom["ttl"]]
        for r in dom["records"].values():
            lines.append("%s %d IN %s %s" % (r["name"], r["ttl"], r["type"], r["data"]))
        return "\n".join(lines) + "\n"

    def relative_name(self, dom, name):
        n = name.rstrip(".")
        if n.lower() == dom["name"]:
            return "@"
        if n.lower().endswith("." + dom["name"]):
            return n[: -len(dom["name"]) - 1]
        return n

    def record_fqdn(self, dom, rec):
        return dom["name"] if rec["name"] == "@" else "%s.%s" % (rec["name"], dom["name"])

    def validate_record(self, rec):
        t = rec.get("type")
        if not isinstance(t, str) or t not in ("A", "AAAA", "CAA", "CNAME", "MX", "NS", "TXT", "SRV", "SOA"):
            raise unprocessable("type must be one of A, AAAA, CAA, CNAME, MX, NS, TXT, SRV")
        if not rec.get("name") or not isinstance(rec["name"], str):
            raise unprocessable("name is required")
        if rec.get("data") is None or not isinstance(rec["data"], str):
            raise unprocessable("data is required")
        if t == "A" and not IPV4_RE.match(rec["data"]):
            raise unprocessable("data must be a valid IPv4 address for an A record")
        ttl = rec.get("ttl")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 30:
            raise unprocessable("ttl must be an integer of at least 30")

    def add_record(self, dom, body):
        rec = {"id": next(self.ids["record"]), "type": body.get("type"), "name": body.get("name"),
               "data": body.get("data"), "priority": body.get("priority"), "port": body.get("port"),
               "ttl": body.get("ttl", 1800), "weight": body.get("weight"), "flags": body.get("flags"),
               "tag": body.get("tag")}
        if isinstance(rec["name"], str):
            rec["name"] = self.relative_name(dom, rec["name"])
        self.validate_record(rec)
        dom["records"][rec["id"]] = rec
        return rec

    # ----- inspection -----

    def state_json(self):
        with self.lock:
            drops = []
            for d in sorted(self.droplets.values(), key=lambda x: x["id"]):
                j = self.droplet_json(d)
                j["sim"] = {
                    "root": d["root"], "public_ipv4": d["public_ip"], "private_ipv4": d["private_ip"],
                    "metadata_url": d["metadata_url"], "metadata_listening": d["md_server"] is not None,
                    "agent_pid": d["agent_pid"],
                    "agent_alive": bool(d["agent_pid"]) and rt.proc_alive(d["agent_pid"]),
                    "agent_exit_code": self.reaper_status(d["agent_pid"]) if d["agent_pid"] else None,
                    "pgids": list(d["pgids"]),
                    "agent_log": os.path.join(d["root"], rt.LOG_DIR, "agent.log"),
                    "user_data_log": os.path.join(d["root"], rt.LOG_DIR, "user-data.log"),
                    "user_data_result": d["user_data_result"], "boot_error": d["boot_error"],
                    "boot_count": d["boot_count"], "pending_action": d["pending_action"],
                    "marker": "DOSIM_DROPLET=%s:%d" % (self.instance, d["id"]),
                    "deleting": d["deleting"] is not None, "true_status": d["status"],
                    "health_override": d["health_override"]}
                drops.append(j)
            return {
                "instance": self.instance, "base_url": self.base_url, "state_dir": self.state_dir,
                "config": self.config_json(),
                "droplets": drops,
                "images": [dict(self.image_json(i), files=sorted(i["files"]), command=i["command"],
                                source_droplet=i["source_droplet"]) for i in self.images.values()],
                "actions": [self.action_json(a) for a in sorted(self.actions.values(), key=lambda x: x["id"])],
                "domains": {n: {"records": [dict(r, fqdn=self.record_fqdn(dom, r)) for r in dom["records"].values()]}
                            for n, dom in self.domains.items()},
                "load_balancers": [dict(self.lb_json(lb), members=[
                    dict(sim_real.member_health(self, lb, i), public_ipv4=self.droplets[i]["public_ip"],
                         private_ipv4=self.droplets[i]["private_ip"], status=self.droplets[i]["status"])
                    for i in self.lb_members(lb) if i in self.droplets]) for lb in self.lbs.values()],
                "cost": self.cost.report(time.monotonic(), self.cfg["time_scale"]),
                "tags": sorted(self.tags),
                "faults": json.loads(json.dumps(self.faults.cfg)),
                "injected": list(self.faults.injected),
                "request_log": list(self.request_log),
                "metadata_log": list(self.metadata_log),
                "events": list(self.events),
            }

    def reset(self):
        with self.lock:
            for d in list(self.droplets.values()):
                self.delete_droplet(d)
            self.actions.clear()
            self.lbs.clear()
            self.tags.clear()
            for dom in self.domains.values():
                dom["records"] = {k: r for k, r in dom["records"].items() if r["type"] in ("NS", "SOA")}
            self.request_log.clear()
            self.metadata_log.clear()
            fresh = {k: dict(v) for k, v in CHANCE_FAULTS.items()}
            self.faults.set(dict(fresh, rules=[], latency=0.0))
            self.faults.injected = []
            self.rates.buckets.clear()
            self.cost.clear()

    def config_json(self):
        out = {k: v for k, v in self.cfg.items() if k in CONFIG_KEYS}
        for k in sim_real.RANGE_KNOBS:
            out[k] = sim_real.show_range(self.cfg[k])
        return out

    def set_config(self, body):
        """Checks every key first, then applies them all: {"profile": NAME} first, the other keys over it."""
        if not isinstance(body, dict):
            raise ValueError("config must be an object")
        new = {}
        if "profile" in body:
            new.update(sim_real.profile_values(body["profile"]))
            new["profile"] = body["profile"]
        for k, v in body.items():
            if k == "profile":
                continue
            if k not in MUTABLE_CONFIG:
                raise ValueError("unknown or read-only config key %r" % k)
            if k in sim_real.REALISM_KNOBS:
                new.update(sim_real.parse_knobs(k, v))
            else:
                new[k] = type(self.cfg[k])(v)
        with self.lock:
            self.cfg.update(new)


CONFIG_KEYS = ("boot_delay", "action_delay", "droplet_limit", "kill_grace", "rate_limit", "rate_window",
               "burst_limit", "burst_window", "metadata_port", "agent_port", "user_data_timeout", "seed",
               "placeholders", "vpc_uuid", "keep", "profile") + sim_real.RANGE_KNOBS + sim_real.FLOAT_KNOBS + \
    sim_real.BOOL_KNOBS
MUTABLE_CONFIG = ("droplet_limit", "kill_grace", "rate_limit", "rate_window", "burst_limit", "burst_window",
                  "user_data_timeout") + sim_real.REALISM_KNOBS
