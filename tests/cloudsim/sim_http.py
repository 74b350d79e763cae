"""HTTP front of the simulator: the /v2 API, the /_sim control endpoints, the metadata listeners.

Request order on /v2: bearer token (401) -> rate limit (429) -> injected faults
(latency, 429/500/timeout) -> route. Every /v2 response carries the ratelimit-*
headers and is recorded in the request log. /_sim/* needs no token and is not
logged: it is the test's backdoor, not part of DigitalOcean's API.
"""

import json
import os
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import sim_runtime as rt
from sim_core import ApiError, BULK_ACTIONS, TAG_RE, not_found, unprocessable

ROUTES = []


def route(method, pattern):
    rx = re.compile("^" + pattern + "$")

    def deco(fn):
        ROUTES.append((method, rx, fn))
        return fn
    return deco


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dosim/1"
    sim = None  # set by make_api_server

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_HEAD(self):
        self.handle_any("HEAD")

    def read_raw(self):
        """Read the whole request body first, whatever the answer, so keep-alive connections stay in step."""
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > 4 << 20:
                    self.close_connection = True
                    raise ApiError(413, "request_too_large", "request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n > 4 << 20:
            self.close_connection = True
            raise ApiError(413, "request_too_large", "request body too large")
        return self.rfile.read(n) if n > 0 else b""

    def read_body(self):
        raw = self._raw
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(400, "bad_request", "unable to parse the request body as JSON")
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "the request body must be a JSON object")
        return body

    def send(self, status, body=None, headers=None, ctype="application/json; charset=utf-8"):
        self.log_request_once(status)
        if body is None or status == 204:
            data = b""
        elif isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
        else:
            data = (json.dumps(body, separators=(",", ":")) + "\n").encode()
        self.send_response(status)
        if self.close_connection:
            # Say so: a keep-alive client (Node's agent) would otherwise reuse the socket we are closing.
            self.send_header("Connection", "close")
        if data or status != 204:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)

    def log_request_once(self, status):
        """Logs the API request being answered, before its answer leaves: a client that reads the log right after
        the answer must find it there (logging after the write raced with the client's next request)."""
        entry, self._pending_log = getattr(self, "_pending_log", None), None
        if entry is None:
            return
        entry["status"] = status
        entry["duration"] = round(time.time() - entry["time"], 4)
        with self.sim.lock:
            self.sim.request_log.append(entry)

    def handle_any(self, method):
        sim = self.sim
        self._pending_log = None
        parts = urlsplit(self.path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self._raw = b""
        try:
            self._raw = self.read_raw()
        except ApiError as e:
            return self.send(e.status, {"id": e.ident, "message": e.message})
        except ValueError:
            self.close_connection = True
            return self.send(400, {"id": "bad_request", "message": "malformed chunked body"})
        if path.startswith("/_sim/") or path == "/_sim":
            return self.control(method, path, query)
        if path.startswith("/metadata/"):
            return self.send(404, {"id": "not_found", "message": "metadata is served on each droplet's own address"})
        t0 = time.time()
        self._pending_log = {"time": t0, "method": method, "path": self.path, "status": 0, "duration": 0.0,
                             "fault": None, "fault_after": False,
                             # who called, in which term: "mitosis/V node=N term=T op=N-K"
                             "agent": self.headers.get("User-Agent", "")}
        token = None
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        status, rheaders = 500, {}
        try:
            if token not in sim.cfg["tokens"]:
                with sim.lock:
                    rheaders = sim.rates.peek("", t0)
                raise ApiError(401, "unauthorized", "Unable to authenticate you")
            with sim.lock:
                ok, rheaders = sim.rates.check(token, t0)
            if not ok:
                raise ApiError(429, "too_many_requests", "API rate limit exceeded.")
            with sim.lock:
                latency, rule = sim.faults.match(method, path)
            if latency > 0:
                time.sleep(min(latency, 60.0))
            if rule is not None:
                fault, after = rule["error"], bool(rule.get("after"))
                self._pending_log.update(fault=fault, fault_after=after)
                with sim.lock:
                    sim.faults.injected.append({"time": t0, "method": method, "path": path, "error": fault,
                                                "after": after})
                if not after:
                    status = self.fault_answer(rule, rheaders)
                    return
            try:
                status, out = self.run_route(method, path, query)
            except ApiError:
                if rule is None:
                    raise
            if rule is not None:
                # "after": the endpoint ran (and changed what it changes); its answer is lost.
                status = self.fault_answer(rule, rheaders)
                return
            self.send(status, out, rheaders)
        except ApiError as e:
            status = e.status
            hdrs = dict(rheaders)
            hdrs.update(e.headers)
            out = e.body if e.body is not None else {"id": e.ident, "message": e.message,
                                                      "request_id": _request_id()}
            self.send(status, out, hdrs)
        except (BrokenPipeError, ConnectionResetError):
            status = 0
        except Exception as e:  # a simulator bug: answer 500 and say so, do not drop the connection
            import traceback
            status = 500
            sim.log("internal error on %s %s: %s" % (method, path, traceback.format_exc()))
            with sim.lock:
                sim.event("internal error on %s %s: %r" % (method, path, e))
            self.send(500, {"id": "server_error", "message": "dosim internal error: %r" % (e,)}, rheaders)
        finally:
            self.log_request_once(status)  # a dropped answer (timeout fault, broken pipe) is logged here

    def run_route(self, method, path, query):
        body = self.read_body() if method in ("POST", "PUT", "PATCH", "DELETE") else {}
        for m, rx, fn in ROUTES:
            mt = rx.match(path)
            if mt and m == method:
                return fn(self.sim, self, query, body, *mt.groups())
        if any(rx.match(path) for _, rx, _ in ROUTES):
            raise ApiError(405, "method_not_allowed", "method not allowed")
        raise not_found()

    def fault_answer(self, rule, rheaders):
        """Answers (or drops) the request as the fault rule says; returns the status for the log."""
        fault = rule["error"]
        if fault == "timeout":
            time.sleep(min(float(rule.get("hold", 10.0)), 120.0))
            self.log_request_once(0)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return 0
        if fault == "garbage":
            # A 200 whose body matches no schema: clients must survive it, Prism must flag it.
            self.send(200, {"dosim_garbage": True}, rheaders)
            return 200
        hdrs = dict(rheaders)
        if fault == 429:
            hdrs["retry-after"] = str(int(rule.get("retry_after", 1)))
            self.send(429, {"id": "too_many_requests", "message": "API rate limit exceeded.",
                            "request_id": _request_id()}, hdrs)
            return 429
        self.send(int(fault), {"id": "server_error", "message": "Server was unable to give you a response.",
                               "request_id": _request_id()}, hdrs)
        return int(fault)

    # ----- control endpoints -----

    def control(self, method, path, query):
        sim = self.sim
        try:
            body = self.read_body() if method in ("POST", "PUT", "PATCH") else {}
            if path == "/_sim/state" and method == "GET":
                return self.send(200, sim.state_json())
            if path == "/_sim/health" and method == "GET":
                return self.send(200, {"ok": True, "instance": sim.instance})
            if path == "/_sim/faults":
                if method == "POST":
                    with sim.lock:
                        sim.faults.set(body)
                with sim.lock:
                    return self.send(200, {"faults": sim.faults.cfg, "injected": sim.faults.injected})
            if path == "/_sim/snapshots" and method == "POST":
                img = sim.register_snapshot(body)
                with sim.lock:
                    return self.send(201, {"image": sim.image_json(img)})
            if path == "/_sim/config":
                if method == "POST":
                    sim.set_config(body)
                return self.send(200, {"config": sim.state_json()["config"]})
            if path == "/_sim/reset" and method == "POST":
                sim.reset()
                return self.send(200, {"ok": True})
            if path == "/_sim/shutdown" and method == "POST":
                self.send(200, {"ok": True})
                stop = sim.cfg.get("stop_event")
                if stop is not None:
                    stop.set()
                return None
            m = re.match(r"^/_sim/droplets/(\d+)/log/(agent|user-data)$", path)
            if m and method == "GET":
                with sim.lock:
                    d = sim.get_droplet(m.group(1))
                    p = os.path.join(d["root"], rt.LOG_DIR, m.group(2) + ".log")
                try:
                    with open(p, "rb") as f:
                        return self.send(200, f.read(), ctype="text/plain; charset=utf-8")
                except FileNotFoundError:
                    return self.send(200, b"", ctype="text/plain; charset=utf-8")
            if path == "/_sim/cost" and method == "GET":
                with sim.lock:
                    return self.send(200, sim.cost.report(time.monotonic(), sim.cfg["time_scale"]))
            m = re.match(r"^/_sim/droplets/(\d+)/health$", path)
            if m and method == "POST":
                return self.send(200, set_health_override(sim, m.group(1), body))
            m = re.match(r"^/_sim/load_balancers/([^/]+)/health$", path)
            if m and method == "GET":
                return self.send(200, lb_health(sim, m.group(1)))
            m = re.match(r"^/_sim/metadata/(\d+)(/.*)$", path)
            if m and method == "GET":
                return serve_metadata(self, sim, int(m.group(1)), m.group(2))
            raise not_found()
        except ApiError as e:
            return self.send(e.status, {"id": e.ident, "message": e.message})
        except (ValueError, TypeError, KeyError) as e:
            return self.send(400, {"id": "bad_request", "message": str(e)})


def set_health_override(sim, did, body):
    """Forces the health checks of droplet did to pass (true) or fail (false), or probe again (null)."""
    v = body.get("healthy", "missing")
    if v not in (True, False, None):
        raise ValueError("healthy must be true, false or null")
    with sim.lock:
        d = sim.get_droplet(did)
        d["health_override"] = v
        sim.event("droplet %d: health checks %s" % (d["id"], {True: "forced to pass", False: "forced to fail",
                                                              None: "probe the droplet again"}[v]))
        return {"droplet_id": d["id"], "health_override": v}


def lb_health(sim, lid):
    """Per-member health of one load balancer: DO's API has no such endpoint, so it lives under /_sim."""
    import sim_real
    with sim.lock:
        lb = sim.lbs.get(lid)
        if lb is None:
            raise not_found()
        members = []
        for i in sim.lb_members(lb):
            d = sim.droplets.get(i)
            if d is not None:
                members.append(dict(sim_real.member_health(sim, lb, i), address=d["private_ip"],
                                    port=int(lb["health_check"].get("port") or 80)))
        return {"load_balancer_id": lid, "health_check": dict(lb["health_check"]), "droplets": members,
                "lb_health": bool(sim.cfg.get("lb_health"))}


def _request_id():
    import uuid
    return str(uuid.uuid4())


def make_api_server(sim, host, port):
    handler = type("ApiHandler", (Handler,), {"sim": sim})
    return Server((host, port), handler)


# ----- metadata -----

def metadata_tree(sim, d):
    ifaces = {
        "public": {"0": {"mac": _mac(d["id"], 0), "type": "public",
                         "ipv4": {"address": d["public_ip"], "netmask": "255.255.0.0", "gateway": "127.77.0.1"},
                         "anchor_ipv4": {"address": d["private_ip"], "netmask": "255.255.0.0",
                                         "gateway": "127.78.0.1"}}},
        "private": {"0": {"mac": _mac(d["id"], 1), "type": "private",
                          "ipv4": {"address": d["private_ip"], "netmask": "255.255.0.0", "gateway": "0.0.0.0"}}},
    }
    return {
        "id": str(d["id"]), "hostname": d["name"], "user-data": d["user_data"], "vendor-data": "",
        "public-keys": "", "region": d["region"], "interfaces": ifaces,
        "dns": {"nameservers": "67.207.67.2\n67.207.67.3"},
        "tags": _Index(d["tags"]),
        "features": {"dhcp_enabled": "false"},
        "reserved_ip": {"ipv4": {"active": "false"}}, "floating_ip": {"ipv4": {"active": "false"}},
        "maintenance_event": "",
    }


class _Index(list):
    """An index whose entries are names, not sub-paths (tags/)."""


def _mac(did, n):
    v = (did * 2 + n) & 0xFFFFFFFF
    return "da:51:%02x:%02x:%02x:%02x" % ((v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255)


def metadata_json(sim, d):
    return {
        "droplet_id": d["id"], "hostname": d["name"], "region": d["region"], "user_data": d["user_data"],
        "vendor_data": "", "public_keys": [], "auth_key": "", "tags": list(d["tags"]),
        "interfaces": {
            "public": [{"mac": _mac(d["id"], 0), "type": "public",
                        "ipv4": {"ip_address": d["public_ip"], "netmask": "255.255.0.0", "gateway": "127.77.0.1"},
                        "anchor_ipv4": {"ip_address": d["private_ip"], "netmask": "255.255.0.0",
                                        "gateway": "127.78.0.1"}}],
            "private": [{"mac": _mac(d["id"], 1), "type": "private",
                         "ipv4": {"ip_address": d["private_ip"], "netmask": "255.255.0.0", "gateway": "0.0.0.0"}}]},
        "floating_ip": {"ipv4": {"active": False}}, "reserved_ip": {"ipv4": {"active": False}},
        "dns": {"nameservers": ["67.207.67.2", "67.207.67.3"]}, "features": {"dhcp_enabled": False},
    }


def serve_metadata(h, sim, did, path):
    with sim.lock:
        d = sim.droplets.get(did)
        if d is None:
            return h.send(404, "not found\n", ctype="text/plain; charset=utf-8")
        sim.metadata_log.append({"time": time.time(), "droplet_id": did, "path": path,
                                 "client": h.client_address[0]})
        if path == "/metadata/v1.json":
            return h.send(200, metadata_json(sim, d))
        tree = metadata_tree(sim, d)
    if path in ("/metadata", "/metadata/v1"):
        return h.send(301, "", {"Location": path + "/"}, ctype="text/plain; charset=utf-8")
    if path == "/metadata/":
        return h.send(200, "v1.json\nv1/", ctype="text/plain; charset=utf-8")
    if not path.startswith("/metadata/v1/"):
        return h.send(404, "not found\n", ctype="text/plain; charset=utf-8")
    rest = path[len("/metadata/v1/"):]
    node = tree
    segs = [s for s in rest.split("/") if s != ""]
    for s in segs:
        if isinstance(node, dict) and s in node:
            node = node[s]
        else:
            return h.send(404, "not found\n", ctype="text/plain; charset=utf-8")
    is_index = isinstance(node, (dict, _Index))
    if is_index and not path.endswith("/"):
        return h.send(301, "", {"Location": path + "/"}, ctype="text/plain; charset=utf-8")
    if not is_index and path.endswith("/"):
        return h.send(404, "not found\n", ctype="text/plain; charset=utf-8")
    if isinstance(node, _Index):
        text = "\n".join(node)
    elif isinstance(node, dict):
        text = "\n".join(k + "/" if isinstance(v, (dict, _Index)) else k for k, v in node.items())
    else:
        text = node
    return h.send(200, text, ctype="text/plain; charset=utf-8")


class MetadataHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dosim-metadata/1"
    sim = None
    droplet_id = None

    def log_message(self, fmt, *args):
        pass

    send = Handler.send
    log_request_once = Handler.log_request_once  # metadata is not an API request: it never has one to log

    def do_GET(self):
        serve_metadata(self, self.sim, self.droplet_id, urlsplit(self.path).path)

    def do_HEAD(self):
        self.do_GET()


def start_metadata_server(sim, did, ip, port):
    handler = type("MdHandler", (MetadataHandler,), {"sim": sim, "droplet_id": did})
    srv = Server((ip, port), handler)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, name="md-%d" % did,
                         daemon=True)
    t.start()
    return srv


# ----- /v2 routes -----

@route("GET", r"/v2/account")
def r_account(sim, h, q, b):
    with sim.lock:
        return 200, {"account": {"droplet_limit": sim.cfg["droplet_limit"], "floating_ip_limit": 3,
                                 "email": "sim@example.com", "name": "dosim", "uuid": sim.cfg["account_uuid"],
                                 "email_verified": True, "status": "active", "status_message": "",
                                 "team": {"uuid": sim.cfg["account_uuid"], "name": "dosim"}}}


@route("GET", r"/v2/sizes")
def r_sizes(sim, h, q, b):
    from sim_core import SIZES, size_json
    return sim.paginate("sizes", [size_json(s[0]) for s in SIZES], q, "/v2/sizes")


@route("GET", r"/v2/regions")
def r_regions(sim, h, q, b):
    from sim_core import REGIONS, region_json
    return sim.paginate("regions", [region_json(r) for r in sorted(REGIONS)], q, "/v2/regions")


@route("GET", r"/v2/droplets")
def r_droplets_list(sim, h, q, b):
    tag, name, kind = q.get("tag_name"), q.get("name"), q.get("type")
    if tag is not None and (name is not None or kind is not None):
        raise unprocessable("tag_name cannot be combined with name or type")
    with sim.lock:
        drops = sorted(sim.droplets.values(), key=lambda d: d["id"])
        if tag is not None:
            # tag_lag: a new droplet reaches the tag index a while after its create.
            now = time.monotonic()
            drops = [d for d in drops if tag in d["tags"] and now >= d.get("tag_visible_at", 0)]
        if name is not None:
            drops = [d for d in drops if d["name"].lower() == name.lower()]
        if kind == "gpus":
            drops = []
        return sim.paginate("droplets", [sim.droplet_json(d) for d in drops], q, "/v2/droplets")


@route("POST", r"/v2/droplets")
def r_droplets_create(sim, h, q, b):
    with sim.lock:
        return sim.create_droplets(b)


@route("DELETE", r"/v2/droplets")
def r_droplets_delete_tag(sim, h, q, b):
    tag = q.get("tag_name")
    if not tag:
        raise ApiError(400, "bad_request", "tag_name is required")
    with sim.lock:
        for d in [d for d in sim.droplets.values() if tag in d["tags"]]:
            sim.request_delete(d)
    return 204, None


@route("GET", r"/v2/droplets/(\d+)")
def r_droplet_get(sim, h, q, b, did):
    with sim.lock:
        return 200, {"droplet": sim.droplet_json(sim.get_droplet(did))}


@route("DELETE", r"/v2/droplets/(\d+)")
def r_droplet_delete(sim, h, q, b, did):
    with sim.lock:
        sim.request_delete(sim.get_droplet(did))
    return 204, None


@route("GET", r"/v2/droplets/(\d+)/snapshots")
def r_droplet_snapshots(sim, h, q, b, did):
    with sim.lock:
        d = sim.get_droplet(did)
        out = []
        for iid in d["snapshot_ids"]:
            img = sim.images.get(iid)
            if img is not None:
                j = sim.image_json(img)
                out.append({k: j[k] for k in ("id", "name", "created_at", "regions", "min_disk_size",
                                               "size_gigabytes", "type")})
        return sim.paginate("snapshots", out, q, "/v2/droplets/%s/snapshots" % did)


@route("GET", r"/v2/droplets/(\d+)/actions")
def r_droplet_actions(sim, h, q, b, did):
    with sim.lock:
        d = sim.get_droplet(did)
        acts = [sim.action_json(a) for a in sorted(sim.actions.values(), key=lambda a: -a["id"])
                if a["resource_type"] == "droplet" and a["resource_id"] == d["id"]]
        return sim.paginate("actions", acts, q, "/v2/droplets/%s/actions" % did)


@route("POST", r"/v2/droplets/(\d+)/actions")
def r_droplet_action(sim, h, q, b, did):
    with sim.lock:
        d = sim.get_droplet(did)
        a = sim.start_droplet_action(d, b)
        return 201, {"action": sim.action_json(a)}


@route("GET", r"/v2/droplets/(\d+)/actions/(\d+)")
def r_droplet_action_get(sim, h, q, b, did, aid):
    with sim.lock:
        d = sim.get_droplet(did)
        a = sim.actions.get(int(aid))
        if a is None or a["resource_id"] != d["id"]:
            raise not_found()
        return 200, {"action": sim.action_json(a)}


@route("POST", r"/v2/droplets/actions")
def r_droplet_bulk_action(sim, h, q, b):
    tag = q.get("tag_name")
    if not tag:
        raise unprocessable("tag_name is required")
    if b.get("type") not in BULK_ACTIONS:
        raise unprocessable("action type %r is not allowed by tag" % (b.get("type"),))
    with sim.lock:
        drops = [d for d in sorted(sim.droplets.values(), key=lambda d: d["id"]) if tag in d["tags"]]
        if any(d["pending_action"] is not None or d["status"] == "new" or d["deleting"] is not None
               for d in drops):
            raise unprocessable("Droplet already has a pending event.")
        if sim.cfg.get("strict_actions"):
            for d in drops:  # all or none, as for a busy droplet
                sim.check_strict(d, b["type"], b)
        return 201, {"actions": [sim.action_json(sim.start_droplet_action(d, b)) for d in drops]}


@route("GET", r"/v2/actions")
def r_actions(sim, h, q, b):
    with sim.lock:
        acts = [sim.action_json(a) for a in sorted(sim.actions.values(), key=lambda a: -a["id"])]
        return sim.paginate("actions", acts, q, "/v2/actions")


@route("GET", r"/v2/actions/(\d+)")
def r_action_get(sim, h, q, b, aid):
    with sim.lock:
        a = sim.actions.get(int(aid))
        if a is None:
            raise not_found()
        return 200, {"action": sim.action_json(a)}


@route("GET", r"/v2/images")
def r_images(sim, h, q, b):
    with sim.lock:
        imgs = sorted(sim.images.values(), key=lambda i: i["id"])
        if q.get("private") == "true":
            imgs = [i for i in imgs if not i["public"]]
        kind = q.get("type")
        if kind == "distribution":
            imgs = [i for i in imgs if i["public"] and i["type"] == "base"]
        elif kind == "application":
            imgs = []
        if q.get("tag_name"):
            imgs = [i for i in imgs if q["tag_name"] in i["tags"]]
        return sim.paginate("images", [sim.image_json(i) for i in imgs], q, "/v2/images")


def _image(sim, ref):
    img = sim.images.get(int(ref)) if ref.isdigit() else sim.resolve_image(ref)
    if img is None:
        raise not_found()
    return img


@route("GET", r"/v2/images/([^/]+)")
def r_image_get(sim, h, q, b, ref):
    with sim.lock:
        return 200, {"image": sim.image_json(_image(sim, ref))}


@route("DELETE", r"/v2/images/(\d+)")
def r_image_delete(sim, h, q, b, ref):
    with sim.lock:
        img = _image(sim, ref)
        if img["public"]:
            raise ApiError(403, "forbidden", "You do not have access for the attempted action.")
        _drop_image(sim, img)
    return 204, None


def _drop_image(sim, img):
    del sim.images[img["id"]]
    for d in sim.droplets.values():
        if img["id"] in d["snapshot_ids"]:
            d["snapshot_ids"].remove(img["id"])


def _snapshot_json(sim, img):
    j = sim.image_json(img)
    return {"id": str(img["id"]), "name": j["name"], "created_at": j["created_at"], "regions": j["regions"],
            "min_disk_size": j["min_disk_size"], "size_gigabytes": j["size_gigabytes"],
            "resource_id": str(img["source_droplet"] or 0), "resource_type": "droplet", "tags": j["tags"]}


@route("GET", r"/v2/snapshots")
def r_snapshots(sim, h, q, b):
    if q.get("resource_type") not in (None, "droplet", "volume"):
        raise unprocessable("resource_type must be droplet or volume")
    with sim.lock:
        imgs = []
        if q.get("resource_type") != "volume":
            imgs = [i for i in sorted(sim.images.values(), key=lambda i: i["id"]) if i["type"] == "snapshot"]
        return sim.paginate("snapshots", [_snapshot_json(sim, i) for i in imgs], q, "/v2/snapshots")


@route("GET", r"/v2/snapshots/([^/]+)")
def r_snapshot_get(sim, h, q, b, sid):
    with sim.lock:
        img = sim.images.get(int(sid)) if sid.isdigit() else None
        if img is None:
            raise not_found()
        if img["type"] != "snapshot":
            raise ApiError(400, "bad_request", "the resource is not a snapshot")
        return 200, {"snapshot": _snapshot_json(sim, img)}


@route("DELETE", r"/v2/snapshots/([^/]+)")
def r_snapshot_delete(sim, h, q, b, sid):
    with sim.lock:
        img = sim.images.get(int(sid)) if sid.isdigit() else None
        if img is None:
            raise not_found()
        if img["type"] != "snapshot":
            raise ApiError(400, "bad_request", "the resource is not a snapshot")
        _drop_image(sim, img)
    return 204, None


# domains

def _domain(sim, name):
    dom = sim.domains.get(name.lower())
    if dom is None:
        raise not_found()
    return dom


@route("GET", r"/v2/domains")
def r_domains(sim, h, q, b):
    with sim.lock:
        return sim.paginate("domains", [sim.domain_json(d) for _, d in sorted(sim.domains.items())], q,
                            "/v2/domains")


@route("POST", r"/v2/domains")
def r_domain_create(sim, h, q, b):
    name = b.get("name")
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}\.?$", name):
        raise unprocessable("name must be a domain name")
    with sim.lock:
        dom = sim.add_domain(name, b.get("ip_address"))
        return 201, {"domain": sim.domain_json(dom)}


@route("GET", r"/v2/domains/([^/]+)")
def r_domain_get(sim, h, q, b, name):
    with sim.lock:
        return 200, {"domain": sim.domain_json(_domain(sim, name))}


@route("DELETE", r"/v2/domains/([^/]+)")
def r_domain_delete(sim, h, q, b, name):
    with sim.lock:
        del sim.domains[_domain(sim, name)["name"]]
    return 204, None


@route("GET", r"/v2/domains/([^/]+)/records")
def r_records(sim, h, q, b, name):
    with sim.lock:
        dom = _domain(sim, name)
        recs = sorted(dom["records"].values(), key=lambda r: r["id"])
        if q.get("type"):
            recs = [r for r in recs if r["type"] == q["type"].upper()]
        if q.get("name"):
            want = q["name"].rstrip(".").lower()
            recs = [r for r in recs if sim.record_fqdn(dom, r).lower() == want]
        return sim.paginate("domain_records", [dict(r) for r in recs], q, "/v2/domains/%s/records" % name)


@route("POST", r"/v2/domains/([^/]+)/records")
def r_record_create(sim, h, q, b, name):
    with sim.lock:
        dom = _domain(sim, name)
        rec = sim.add_record(dom, b)
        sim.event("dns %s: +%s %s %s" % (dom["name"], rec["type"], rec["name"], rec["data"]))
        return 201, {"domain_record": dict(rec)}


def _record(sim, name, rid):
    dom = _domain(sim, name)
    rec = dom["records"].get(int(rid))
    if rec is None:
        raise not_found()
    return dom, rec


@route("GET", r"/v2/domains/([^/]+)/records/(\d+)")
def r_record_get(sim, h, q, b, name, rid):
    with sim.lock:
        return 200, {"domain_record": dict(_record(sim, name, rid)[1])}


def _record_update(sim, h, q, b, name, rid):
    with sim.lock:
        dom, rec = _record(sim, name, rid)
        new = dict(rec)
        for k in ("type", "name", "data", "priority", "port", "ttl", "weight", "flags", "tag"):
            if k in b:
                new[k] = b[k]
        if isinstance(new["name"], str):
            new["name"] = sim.relative_name(dom, new["name"])
        sim.validate_record(new)
        rec.update(new)
        return 200, {"domain_record": dict(rec)}


route("PUT", r"/v2/domains/([^/]+)/records/(\d+)")(_record_update)
route("PATCH", r"/v2/domains/([^/]+)/records/(\d+)")(_record_update)


@route("DELETE", r"/v2/domains/([^/]+)/records/(\d+)")
def r_record_delete(sim, h, q, b, name, rid):
    with sim.lock:
        dom, rec = _record(sim, name, rid)
        del dom["records"][rec["id"]]
        sim.event("dns %s: -%s %s %s" % (dom["name"], rec["type"], rec["name"], rec["data"]))
    return 204, None


# load balancers

def _lb(sim, lid):
    lb = sim.lbs.get(lid)
    if lb is None:
        raise not_found()
    return lb


@route("GET", r"/v2/load_balancers")
def r_lbs(sim, h, q, b):
    with sim.lock:
        return sim.paginate("load_balancers", [sim.lb_json(lb) for lb in sim.lbs.values()], q,
                            "/v2/load_balancers")


@route("POST", r"/v2/load_balancers")
def r_lb_create(sim, h, q, b):
    with sim.lock:
        return 202, {"load_balancer": sim.lb_json(sim.create_lb(b))}


@route("GET", r"/v2/load_balancers/([^/]+)")
def r_lb_get(sim, h, q, b, lid):
    with sim.lock:
        return 200, {"load_balancer": sim.lb_json(_lb(sim, lid))}


@route("PUT", r"/v2/load_balancers/([^/]+)")
def r_lb_put(sim, h, q, b, lid):
    with sim.lock:
        lb = _lb(sim, lid)
        lb.update(sim.lb_body(b, lb))
        return 200, {"load_balancer": sim.lb_json(lb)}


@route("DELETE", r"/v2/load_balancers/([^/]+)")
def r_lb_delete(sim, h, q, b, lid):
    with sim.lock:
        del sim.lbs[_lb(sim, lid)["id"]]
    return 204, None


def _lb_ids(b):
    ids = b.get("droplet_ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise unprocessable("droplet_ids must be an array of integers")
    return ids


@route("POST", r"/v2/load_balancers/([^/]+)/droplets")
def r_lb_add(sim, h, q, b, lid):
    with sim.lock:
        lb = _lb(sim, lid)
        if lb["tag"]:
            raise unprocessable("Load balancers that use a tag cannot have Droplets added or removed by id.")
        ids = _lb_ids(b)
        for i in ids:
            if i not in sim.droplets:
                raise unprocessable("droplet %d does not exist" % i)
        for i in ids:
            if i not in lb["droplet_ids"]:
                lb["droplet_ids"].append(i)
        sim.event("lb %s: +%s" % (lid, ids))
    return 204, None


@route("DELETE", r"/v2/load_balancers/([^/]+)/droplets")
def r_lb_remove(sim, h, q, b, lid):
    with sim.lock:
        lb = _lb(sim, lid)
        if lb["tag"]:
            raise unprocessable("Load balancers that use a tag cannot have Droplets added or removed by id.")
        ids = _lb_ids(b)
        lb["droplet_ids"] = [i for i in lb["droplet_ids"] if i not in ids]
        sim.event("lb %s: -%s" % (lid, ids))
    return 204, None


# tags

def _tag(sim, name):
    if name not in sim.tags:
        raise not_found()
    return name


@route("GET", r"/v2/tags")
def r_tags(sim, h, q, b):
    with sim.lock:
        return sim.paginate("tags", [sim.tag_json(t) for t in sorted(sim.tags)], q, "/v2/tags")


@route("POST", r"/v2/tags")
def r_tag_create(sim, h, q, b):
    name = b.get("name")
    if not isinstance(name, str) or not TAG_RE.match(name):
        raise ApiError(400, "bad_request", "invalid tag name", body={
            "error": "tag name must use letters, digits, ':', '-' or '_' (at most 255)", "messages": None,
            "root_causes": ["invalid tag name %r" % (name,)]}, headers={"x-request-id": _request_id()})
    with sim.lock:
        return 201, {"tag": sim.tag_json(sim.ensure_tag(name))}


@route("GET", r"/v2/tags/([^/]+)")
def r_tag_get(sim, h, q, b, name):
    with sim.lock:
        return 200, {"tag": sim.tag_json(_tag(sim, name))}


@route("DELETE", r"/v2/tags/([^/]+)")
def r_tag_delete(sim, h, q, b, name):
    with sim.lock:
        _tag(sim, name)
        for d in sim.droplets.values():
            if name in d["tags"]:
                d["tags"].remove(name)
        for i in sim.images.values():
            if name in i["tags"]:
                i["tags"].remove(name)
        del sim.tags[name]
    return 204, None


def _tag_resources(sim, name, b, add):
    _tag(sim, name)
    res = b.get("resources")
    if not isinstance(res, list) or not res:
        raise unprocessable("resources must be a non-empty array")
    targets = []
    for r in res:
        if not isinstance(r, dict) or not isinstance(r.get("resource_id"), str):
            raise unprocessable("resource_id must be a string")
        kind = r.get("resource_type")
        rid = r["resource_id"]
        if kind == "droplet":
            obj = sim.droplets.get(int(rid)) if rid.isdigit() else None
        elif kind == "image":
            obj = sim.images.get(int(rid)) if rid.isdigit() else None
        else:
            raise unprocessable("dosim only tags droplets and images")
        if obj is None:
            raise not_found("resource %s %s not found" % (kind, rid))
        targets.append(obj)
    for obj in targets:
        if add and name not in obj["tags"]:
            obj["tags"].append(name)
        if not add and name in obj["tags"]:
            obj["tags"].remove(name)


@route("POST", r"/v2/tags/([^/]+)/resources")
def r_tag_add(sim, h, q, b, name):
    with sim.lock:
        _tag_resources(sim, name, b, True)
    return 204, None


@route("DELETE", r"/v2/tags/([^/]+)/resources")
def r_tag_remove(sim, h, q, b, name):
    with sim.lock:
        _tag_resources(sim, name, b, False)
    return 204, None
