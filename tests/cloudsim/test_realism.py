"""The realism knobs (--profile real and each knob alone): every test fails when its knob does nothing.

Delays run under --time-scale so that the whole file takes seconds; the cost meter is checked
in simulated seconds (wall seconds / time_scale).
"""

import http.server
import socket
import threading
import time
import unittest
import urllib.error

from simtest import SimTestCase

SMALL = "s-1vcpu-1gb"  # 25 GB disk, $6/month


def v4_types(droplet):
    return sorted(n["type"] for n in droplet["networks"]["v4"])


class Listener:
    """A TCP (or HTTP) server on ip:port that a test opens and closes, to be health-checked."""

    def __init__(self, ip, http=False):
        self.ip, self.http = ip, http
        self.srv = None
        s = socket.socket()
        s.bind((ip, 0))
        self.port = s.getsockname()[1]
        s.close()

    def open(self):
        if self.http:
            class Ok(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    code = 200 if self.path == "/healthz" else 404
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

                def log_message(self, *a):
                    pass
            self.srv = http.server.ThreadingHTTPServer((self.ip, self.port), Ok)
        else:
            self.srv = socketserver_tcp(self.ip, self.port)
        threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        if self.srv is not None:
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None


def socketserver_tcp(ip, port):
    import socketserver

    class Drop(socketserver.BaseRequestHandler):
        def handle(self):
            pass
    socketserver.TCPServer.allow_reuse_address = True
    return socketserver.ThreadingTCPServer((ip, port), Drop)


class TestRealism(SimTestCase):
    def get(self, sim, did):
        return sim.api("GET", "/v2/droplets/%d" % did)

    def action(self, sim, did, body):
        return sim.api("POST", "/v2/droplets/%d/actions" % did, body)

    def booted(self, name, *flags):
        """A simulator with quick boots and actions (flags given later win), and one active droplet on it."""
        sim = self.start_sim("--boot-delay", "0.1", "--action-delay", "0.2", *flags)
        did = sim.create(name)
        sim.wait_active(did)
        return sim, did

    # ----- profile and configuration -----

    def test_profile_real_and_overrides(self):
        sim = self.start_sim("--profile", "real", "--time-scale", "0.01", "--strict-actions", "off",
                             "--tag-lag", "2")
        cfg = sim.control("GET", "/config").json["config"]
        self.assertEqual(cfg["profile"], "real")
        self.assertEqual(cfg["boot_delay"], [30.0, 60.0])
        self.assertEqual(cfg["delete_delay"], [5.0, 75.0])
        self.assertEqual((cfg["public_ip_lag"], cfg["private_ip_lag"]), ([-10.0, 10.0], [-10.0, 10.0]))
        self.assertEqual(cfg["time_scale"], 0.01)
        self.assertTrue(cfg["lb_health"] and cfg["burst_remaining_zero"])
        self.assertFalse(cfg["strict_actions"])  # the flag wins over the profile
        self.assertEqual(cfg["tag_lag"], 2.0)
        r = sim.control("POST", "/config", {"profile": "default", "delete_delay": "1:2"})
        self.assertEqual(r.status, 200, r)
        cfg = r.json["config"]
        self.assertEqual((cfg["boot_delay"], cfg["lb_health"], cfg["delete_delay"]), (3.0, False, [1.0, 2.0]))
        for bad in ({"delete_delay": "2:1"}, {"tag_lag": -1}, {"time_scale": 0}, {"profile": "fake"},
                    {"strict_actions": "maybe"}, {"ip_lag": [1, 2, 3]}):
            r = sim.control("POST", "/config", bad)
            self.assertEqual(r.status, 400, (bad, r))
        self.assertEqual(sim.control("GET", "/config").json["config"]["delete_delay"], [1.0, 2.0])

    # ----- boot, addresses, tag listings -----

    def test_time_scale_scales_boot(self):
        sim = self.start_sim("--boot-delay", "20", "--time-scale", "0.05")
        t0 = time.monotonic()
        did = sim.create("scaled")
        sim.wait_active(did, timeout=5)
        took = time.monotonic() - t0
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 3.0)

    def test_boot_delay_range_is_drawn_per_droplet(self):
        sim = self.start_sim("--boot-delay", "0.5:1.5", "--seed", "3")
        t0 = time.monotonic()
        ids = [sim.create("b%d" % i) for i in range(4)]
        seen = {}
        while len(seen) < len(ids) and time.monotonic() - t0 < 5:
            for d in sim.api("GET", "/v2/droplets").json["droplets"]:
                if d["status"] == "active" and d["id"] not in seen:
                    seen[d["id"]] = time.monotonic() - t0
            time.sleep(0.02)
        self.assertEqual(sorted(seen), ids)
        self.assertGreaterEqual(min(seen.values()), 0.45, seen)
        self.assertLessEqual(max(seen.values()), 1.8, seen)
        self.assertGreater(max(seen.values()) - min(seen.values()), 0.1, seen)

    def test_ip_lag_after_active(self):
        sim = self.start_sim("--boot-delay", "0.2", "--ip-lag", "1")
        did = sim.create("late-ip")
        sim.wait_active(did)
        d = self.get(sim, did).json["droplet"]
        self.assertEqual((d["status"], d["networks"]["v4"]), ("active", []))
        sim.wait(lambda: v4_types(self.get(sim, did).json["droplet"]) == ["private", "public"], timeout=3,
                 what="addresses after the lag")

    def test_ip_lag_before_active(self):
        sim = self.start_sim("--boot-delay", "1.5", "--ip-lag=-1")
        r = sim.api("POST", "/v2/droplets", {"name": "early-ip", "size": SMALL, "image": sim.images[0]})
        self.assertEqual(r.json["droplet"]["networks"]["v4"], [])  # a 202 never has addresses
        did = r.json["droplet"]["id"]
        d = sim.wait(lambda: (lambda x: x if x["networks"]["v4"] else None)(self.get(sim, did).json["droplet"]),
                     timeout=3, what="addresses while new")
        self.assertEqual(d["status"], "new")
        self.assertEqual(v4_types(d), ["private", "public"])

    def test_ip_lag_public_and_private_apart(self):
        sim = self.start_sim("--boot-delay", "0.2", "--public-ip-lag=-0.1", "--private-ip-lag", "1")
        did = sim.create("half")
        sim.wait_active(did)
        self.assertEqual(v4_types(self.get(sim, did).json["droplet"]), ["public"])
        sim.wait(lambda: v4_types(self.get(sim, did).json["droplet"]) == ["private", "public"], timeout=3,
                 what="the private address")
        # --ip-lag sets both; a range is drawn apart for each address.
        r = sim.control("POST", "/config", {"ip_lag": "0:1.5"}).json["config"]
        self.assertEqual((r["public_ip_lag"], r["private_ip_lag"]), ([0.0, 1.5], [0.0, 1.5]))

    def test_tag_lag(self):
        sim = self.start_sim("--boot-delay", "0.1", "--tag-lag", "1")
        t0 = time.monotonic()
        did = sim.create("tagged", tags=["grp"])
        self.assertEqual(self.get(sim, did).status, 200)
        self.assertEqual([d["id"] for d in sim.api("GET", "/v2/droplets").json["droplets"]], [did])
        self.assertEqual(sim.api("GET", "/v2/droplets?tag_name=grp").json["meta"]["total"], 0)
        sim.wait(lambda: sim.api("GET", "/v2/droplets?tag_name=grp").json["meta"]["total"] == 1, timeout=3,
                 what="tag listing")
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)

    # ----- deletes -----

    def test_delete_delay_keeps_it_listed_counted_and_billed(self):
        sim, did = self.booted("going", "--delete-delay", "1.2", "--droplet-limit", "1")
        t0 = time.monotonic()
        self.assertEqual(sim.api("DELETE", "/v2/droplets/%d" % did).status, 204)
        d = self.get(sim, did)
        self.assertEqual((d.status, d.json["droplet"]["status"]), (200, "active"))
        self.assertEqual(sim.api("GET", "/v2/droplets").json["meta"]["total"], 1)
        self.assertError(sim.api("POST", "/v2/droplets", {"name": "x", "size": SMALL, "image": sim.images[0]}),
                         422, "unprocessable_entity")
        self.assertError(self.action(sim, did, {"type": "power_off"}), 422, "unprocessable_entity",
                         "Droplet already has a pending event.")
        self.assertEqual(sim.api("DELETE", "/v2/droplets/%d" % did).status, 204)
        self.assertTrue(sim.state()["cost"]["droplets"][0]["alive"])
        sim.wait(lambda: self.get(sim, did).status == 404, timeout=4, what="the 404")
        self.assertGreaterEqual(time.monotonic() - t0, 1.1)
        self.assertFalse(sim.state()["cost"]["droplets"][0]["alive"])

    def test_delete_lost(self):
        sim, did = self.booted("sticky", "--delete-lost", "1")
        self.assertEqual(sim.api("DELETE", "/v2/droplets/%d" % did).status, 204)
        time.sleep(0.5)
        self.assertEqual(self.get(sim, did).json["droplet"]["status"], "active")
        self.assertIn("delete_lost", [i["error"] for i in sim.state()["injected"]])
        # count 1 through /_sim/faults: the first DELETE is lost, the next one works.
        sim.control("POST", "/faults", {"delete_lost": {"rate": 1, "count": 1}})
        self.assertEqual(sim.api("DELETE", "/v2/droplets/%d" % did).status, 204)
        time.sleep(0.3)
        self.assertEqual(self.get(sim, did).status, 200)
        self.assertEqual(sim.api("DELETE", "/v2/droplets/%d" % did).status, 204)
        sim.wait(lambda: self.get(sim, did).status == 404, what="the second delete")

    # ----- create failures -----

    def test_vanish_after_202(self):
        sim = self.start_sim("--boot-delay", "0.3", "--boot-failure", "vanish")
        r = sim.api("POST", "/v2/droplets", {"name": "ghost", "size": SMALL, "image": sim.images[0]})
        self.assertEqual(r.status, 202)
        did, aid = r.json["droplet"]["id"], r.json["links"]["actions"][0]["id"]
        self.assertEqual(self.get(sim, did).status, 200)
        sim.wait(lambda: self.get(sim, did).status == 404, timeout=3, what="the vanish")
        self.assertEqual(sim.api("GET", "/v2/actions/%d" % aid).json["action"]["status"], "errored")
        self.assertFalse(sim.state()["cost"]["droplets"][0]["alive"])

    def test_capacity_422_with_available_regions(self):
        sim = self.start_sim("--boot-delay", "30", "--capacity", "nyc3,ams3")
        r = sim.api("POST", "/v2/droplets", {"name": "full", "size": SMALL, "image": sim.images[0],
                                             "region": "nyc3"})
        self.assertError(r, 422, "unprocessable_entity", "Size is not available in this region.")
        hint = r.json["error_attributes"]["available_regions"]
        self.assertNotIn("nyc3", hint)
        self.assertNotIn("ams3", hint)
        self.assertIn("sfo3", hint)
        self.assertEqual(sim.api("GET", "/v2/droplets").json["meta"]["total"], 0)
        ok = sim.api("POST", "/v2/droplets", {"name": "fine", "size": SMALL, "image": sim.images[0],
                                              "region": "sfo3"})
        self.assertEqual(ok.status, 202)
        # Through /_sim/faults, for one size only.
        sim.control("POST", "/faults", {"capacity": {"regions": ["sfo3"], "sizes": ["s-8vcpu-16gb"]}})
        self.assertEqual(sim.api("POST", "/v2/droplets", {"name": "f2", "size": SMALL, "image": sim.images[0],
                                                          "region": "sfo3"}).status, 202)
        self.assertEqual(sim.api("POST", "/v2/droplets", {"name": "f3", "size": "s-8vcpu-16gb",
                                                          "image": sim.images[0], "region": "sfo3"}).status, 422)

    # ----- faults that run the endpoint first -----

    def test_after_fault_500_create_happened(self):
        sim = self.start_sim("--boot-delay", "30")
        sim.control("POST", "/faults", {"rules": [{"method": "POST", "path": "/v2/droplets", "error": 500,
                                                   "after": True, "count": 1}]})
        r = sim.api("POST", "/v2/droplets", {"name": "lost-answer", "size": SMALL, "image": sim.images[0]})
        self.assertError(r, 500, "server_error")
        names = [d["name"] for d in sim.api("GET", "/v2/droplets").json["droplets"]]
        self.assertEqual(names, ["lost-answer"])
        self.assertEqual(sim.state()["request_log"][0]["fault_after"], True)

    def test_after_fault_timeout_and_other_endpoints(self):
        sim = self.start_sim("--boot-delay", "0.1", "--domain", "example.com")
        sim.control("POST", "/faults", {"rules": [
            {"method": "POST", "path": "/v2/droplets", "error": "timeout", "hold": 0.3, "after": True, "count": 1},
            {"method": "POST", "path": "/v2/domains/*/records", "error": 503, "after": True, "count": 1},
            {"method": "DELETE", "path": "/v2/droplets/*", "error": "garbage", "after": True, "count": 1}]})
        with self.assertRaises((urllib.error.URLError, ConnectionError, socket.timeout, OSError)):
            sim.api("POST", "/v2/droplets", {"name": "t-out", "size": SMALL, "image": sim.images[0]}, timeout=5)
        drops = sim.api("GET", "/v2/droplets").json["droplets"]
        self.assertEqual([d["name"] for d in drops], ["t-out"])
        r = sim.api("POST", "/v2/domains/example.com/records", {"type": "A", "name": "www", "data": "127.77.1.1",
                                                                "ttl": 60})
        self.assertEqual(r.status, 503)
        recs = sim.api("GET", "/v2/domains/example.com/records?type=A").json["domain_records"]
        self.assertEqual([x["data"] for x in recs], ["127.77.1.1"])
        sim.wait_active(drops[0]["id"])
        r = sim.api("DELETE", "/v2/droplets/%d" % drops[0]["id"])
        self.assertEqual((r.status, r.json), (200, {"dosim_garbage": True}))
        self.assertEqual(self.get(sim, drops[0]["id"]).status, 404)
        r = sim.control("POST", "/faults", {"rules": [{"path": "/v2/*", "error": 429, "after": True}]})
        self.assertEqual(r.status, 400)

    # ----- actions -----

    def test_action_time_in_proportion_to_disk(self):
        sim, did = self.booted("disky", "--action-delay", "0.1", "--action-per-gb", "0.04")
        for body, lo, hi in (({"type": "snapshot", "name": "s1"}, 0.95, 3.0), ({"type": "power_off"}, 0.0, 0.7)):
            t0 = time.monotonic()
            a = self.action(sim, did, body).json["action"]
            self.assertEqual(sim.wait_action(did, a["id"])["status"], "completed")
            took = time.monotonic() - t0
            self.assertTrue(lo <= took <= hi, (body, took))

    def test_action_failure(self):
        sim, did = self.booted("flaky", "--action-failure", "1")
        a = self.action(sim, did, {"type": "power_off"}).json["action"]
        self.assertEqual(sim.wait_action(did, a["id"])["status"], "errored")
        self.assertEqual(self.get(sim, did).json["droplet"]["status"], "active")
        sim.control("POST", "/faults", {"action_failure": {"rate": 1, "types": ["snapshot"]}})
        a = self.action(sim, did, {"type": "power_off"}).json["action"]
        self.assertEqual(sim.wait_action(did, a["id"])["status"], "completed")

    def test_action_status_lag(self):
        sim, did = self.booted("lagging", "--action-status-lag", "1")
        t0 = time.monotonic()
        a = self.action(sim, did, {"type": "power_off"}).json["action"]
        sim.wait(lambda: self.get(sim, did).json["droplet"]["status"] == "off", what="off")
        got = sim.api("GET", "/v2/actions/%d" % a["id"]).json["action"]
        self.assertEqual((got["status"], got["completed_at"]), ("in-progress", None))
        self.assertEqual(sim.wait_action(did, a["id"], timeout=3)["status"], "completed")
        self.assertGreaterEqual(time.monotonic() - t0, 1.1)

    def test_droplet_status_lag(self):
        sim, did = self.booted("stale", "--droplet-status-lag", "1")
        a = self.action(sim, did, {"type": "power_off"}).json["action"]
        self.assertEqual(sim.wait_action(did, a["id"])["status"], "completed")
        self.assertEqual(self.get(sim, did).json["droplet"]["status"], "active")
        self.assertEqual(sim.droplet_state(did)["sim"]["true_status"], "off")
        sim.wait(lambda: self.get(sim, did).json["droplet"]["status"] == "off", timeout=3, what="status catches up")

    def test_strict_actions(self):
        sim, did = self.booted("strict", "--action-delay", "0.3", "--strict-actions")
        self.assertError(self.action(sim, did, {"type": "resize", "size": "s-2vcpu-4gb", "disk": False}), 422,
                         "unprocessable_entity", "Droplet is currently on. Please power it off to run this event.")
        self.assertError(self.action(sim, did, {"type": "power_on"}), 422, "unprocessable_entity",
                         "Droplet is already powered on.")
        a = self.action(sim, did, {"type": "power_off"}).json["action"]
        self.assertTrue(self.get(sim, did).json["droplet"]["locked"])
        self.assertError(self.action(sim, did, {"type": "power_on"}), 422, "unprocessable_entity",
                         "Droplet already has a pending event.")
        sim.wait_action(did, a["id"])
        self.assertFalse(self.get(sim, did).json["droplet"]["locked"])
        self.assertError(self.action(sim, did, {"type": "power_off"}), 422, "unprocessable_entity",
                         "Droplet is already powered off.")
        self.assertError(self.action(sim, did, {"type": "shutdown"}), 422, "unprocessable_entity",
                         "Droplet is already powered off.")
        # disk: false keeps the disk, so the resize can be undone.
        a = self.action(sim, did, {"type": "resize", "size": "s-2vcpu-4gb", "disk": False}).json["action"]
        sim.wait_action(did, a["id"])
        d = self.get(sim, did).json["droplet"]
        self.assertEqual((d["size_slug"], d["memory"], d["disk"]), ("s-2vcpu-4gb", 4096, 25))
        a = self.action(sim, did, {"type": "resize", "size": SMALL, "disk": False}).json["action"]
        self.assertEqual(sim.wait_action(did, a["id"])["status"], "completed")
        # disk: true grows it for good: smaller disks are refused from then on.
        a = self.action(sim, did, {"type": "resize", "size": "s-2vcpu-4gb", "disk": True}).json["action"]
        sim.wait_action(did, a["id"])
        self.assertEqual(self.get(sim, did).json["droplet"]["disk"], 80)
        self.assertError(self.action(sim, did, {"type": "resize", "size": "s-1vcpu-2gb", "disk": False}), 422,
                         "unprocessable_entity", "Size can not be smaller than the Droplet's original size.")

    def test_strict_bulk_action_all_or_none(self):
        sim, first = self.booted("on", "--strict-actions")
        second = sim.create("off")
        sim.wait_active(second)
        sim.wait_action(second, self.action(sim, second, {"type": "power_off"}).json["action"]["id"])
        sim.api("POST", "/v2/tags", {"name": "grp"})
        sim.api("POST", "/v2/tags/grp/resources", {"resources": [
            {"resource_id": str(i), "resource_type": "droplet"} for i in (first, second)]})
        self.assertError(sim.api("POST", "/v2/droplets/actions?tag_name=grp", {"type": "power_off"}), 422,
                         "unprocessable_entity", "Droplet is already powered off.")
        acts = sim.api("GET", "/v2/droplets/%d/actions" % first).json["actions"]
        self.assertEqual([a["type"] for a in acts], ["create"])  # the active one was not touched either

    # ----- rate limits -----

    def test_burst_remaining_zero_with_hourly_reset(self):
        sim = self.start_sim("--boot-delay", "30", "--burst-limit", "3", "--burst-window", "2",
                             "--burst-remaining-zero")
        first = int(time.time())
        for _ in range(3):
            self.assertEqual(sim.api("GET", "/v2/account").status, 200)
        r = sim.api("GET", "/v2/account")
        self.assertError(r, 429, "too_many_requests", "API rate limit exceeded.")
        self.assertEqual(r.headers["ratelimit-remaining"], "0")
        self.assertTrue(first + 3600 <= int(r.headers["ratelimit-reset"]) <= first + 3602, r.headers)
        self.assertIn(r.headers["retry-after"], ("1", "2"))
        time.sleep(int(r.headers["retry-after"]) + 0.1)
        ok = sim.api("GET", "/v2/account")
        self.assertEqual((ok.status, ok.headers["ratelimit-remaining"]), (200, "4996"))

    def test_hourly_limit_apart_from_burst(self):
        sim = self.start_sim("--boot-delay", "30", "--rate-limit", "3", "--burst-remaining-zero")
        for _ in range(3):
            sim.api("GET", "/v2/sizes")
        r = sim.api("GET", "/v2/sizes")
        self.assertError(r, 429, "too_many_requests")
        self.assertEqual(r.headers["ratelimit-remaining"], "0")
        self.assertNotIn("retry-after", r.headers)

    # ----- load balancer health -----

    def lb_with(self, sim, did, hc):
        rules = [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": hc["port"]}]
        r = sim.api("POST", "/v2/load_balancers", {"name": "lb", "region": "nyc3", "forwarding_rules": rules,
                                                   "droplet_ids": [did], "health_check": hc})
        self.assertEqual(r.status, 202, r)
        return r.json["load_balancer"]["id"]

    def health(self, sim, lid):
        return sim.control("GET", "/load_balancers/%s/health" % lid).json["droplets"][0]

    def test_lb_members_down_until_healthy(self):
        sim = self.start_sim("--boot-delay", "0.1", "--time-scale", "0.03", "--lb-health")
        did = sim.create("web")
        sim.wait_active(did, timeout=3)
        ip = sim.droplet_state(did)["sim"]["private_ipv4"]
        app = Listener(ip)
        app.open()
        self.addCleanup(app.close)
        hc = {"protocol": "tcp", "port": app.port, "check_interval_seconds": 10, "response_timeout_seconds": 5,
              "healthy_threshold": 3, "unhealthy_threshold": 2}
        t0 = time.monotonic()
        lid = self.lb_with(sim, did, hc)
        self.assertEqual(self.health(sim, lid)["health_status"], "unhealthy")
        self.assertEqual(sim.api("GET", "/v2/load_balancers/%s" % lid).json["load_balancer"]["droplet_ids"], [did])
        sim.wait(lambda: self.health(sim, lid)["health_status"] == "healthy", timeout=5, what="healthy")
        self.assertGreaterEqual(time.monotonic() - t0, 0.85)  # 3 checks x 10 s x 0.03
        app.close()
        sim.wait(lambda: self.health(sim, lid)["health_status"] == "unhealthy", timeout=5, what="unhealthy")
        self.assertIn("fail", self.health(sim, lid)["last_check"])
        members = [lb for lb in sim.state()["load_balancers"] if lb["id"] == lid][0]["members"]
        self.assertEqual(members[0]["health_status"], "unhealthy")
        # The toggle: forced to pass, through the same thresholds.
        self.assertEqual(sim.control("POST", "/droplets/%d/health" % did, {"healthy": True}).status, 200)
        sim.wait(lambda: self.health(sim, lid)["health_status"] == "healthy", timeout=5, what="forced healthy")

    def test_lb_http_health_check_path(self):
        sim = self.start_sim("--boot-delay", "0.1", "--time-scale", "0.02", "--lb-health")
        did = sim.create("web")
        sim.wait_active(did, timeout=3)
        app = Listener(sim.droplet_state(did)["sim"]["private_ipv4"], http=True)
        app.open()
        self.addCleanup(app.close)
        hc = {"protocol": "http", "port": app.port, "path": "/nope", "check_interval_seconds": 10,
              "healthy_threshold": 2, "unhealthy_threshold": 2}
        lid = self.lb_with(sim, did, hc)
        sim.wait(lambda: (self.health(sim, lid)["last_check"] or "").startswith("fail"), timeout=3,
                 what="a failed check")
        self.assertEqual(self.health(sim, lid)["health_status"], "unhealthy")
        lb = sim.api("GET", "/v2/load_balancers/%s" % lid).json["load_balancer"]
        lb["health_check"]["path"] = "/healthz"
        body = {k: lb[k] for k in ("name", "region", "forwarding_rules", "health_check", "droplet_ids")}
        body["region"] = lb["region"]["slug"]
        self.assertEqual(sim.api("PUT", "/v2/load_balancers/%s" % lid, body).status, 200)
        sim.wait(lambda: self.health(sim, lid)["health_status"] == "healthy", timeout=3, what="healthy on /healthz")

    # ----- cost meter -----

    def test_cost_meter(self):
        sim = self.start_sim("--boot-delay", "0", "--time-scale", "0.002", "--action-delay", "0")
        big = sim.create("big", size="s-8vcpu-16gb")  # $96/month: $0.14286/h
        small = sim.create("small")
        sim.api("DELETE", "/v2/droplets/%d" % small)
        time.sleep(1.0)
        sim.api("DELETE", "/v2/droplets/%d" % big)
        cost = sim.control("GET", "/cost").json
        bills = {b["droplet_id"]: b for b in cost["droplets"]}
        b = bills[big]
        self.assertFalse(b["alive"])
        self.assertAlmostEqual(b["seconds"], b["wall_seconds"] / 0.002, delta=1.0)
        self.assertTrue(480 <= b["seconds"] <= 600, b)
        self.assertAlmostEqual(b["cost"], b["seconds"] * 0.14286 / 3600, places=5)
        self.assertEqual(bills[small]["cost"], 0.01)  # the minimum charge
        self.assertAlmostEqual(cost["total"], b["cost"] + 0.01, places=6)
        self.assertEqual(sim.state()["cost"]["total"], cost["total"])


if __name__ == "__main__":
    unittest.main()
