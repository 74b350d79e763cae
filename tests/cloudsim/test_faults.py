"""Fault injection: per-endpoint errors, timeouts, latency, failing boots, seeded determinism."""

import json
import os
import socket
import tempfile
import time
import unittest
import urllib.error

from simtest import SimTestCase


class TestFaults(SimTestCase):
    def test_500_on_one_endpoint_with_count(self):
        sim = self.start_sim("--boot-delay", "30")
        r = sim.control("POST", "/faults", {"rules": [{"method": "GET", "path": "/v2/account", "error": 500,
                                                       "count": 2}]})
        self.assertEqual(r.status, 200)
        self.assertError(sim.api("GET", "/v2/account"), 500, "server_error")
        self.assertError(sim.api("GET", "/v2/account"), 500, "server_error")
        self.assertEqual(sim.api("GET", "/v2/account").status, 200)
        self.assertEqual(sim.api("GET", "/v2/sizes").status, 200)
        inj = sim.state()["injected"]
        self.assertEqual([(i["path"], i["error"]) for i in inj], [("/v2/account", 500)] * 2)
        # Injected errors still carry the rate-limit headers.
        sim.control("POST", "/faults", {"rules": [{"path": "/v2/sizes", "error": 500}]})
        self.assertIn("ratelimit-remaining", sim.api("GET", "/v2/sizes").headers)

    def test_injected_429_has_retry_after(self):
        sim = self.start_sim("--boot-delay", "30")
        sim.control("POST", "/faults", {"rules": [{"path": "/v2/droplets*", "error": 429, "retry_after": 7}]})
        r = sim.api("GET", "/v2/droplets")
        self.assertError(r, 429, "too_many_requests")
        self.assertEqual(r.headers["retry-after"], "7")
        self.assertEqual(sim.api("GET", "/v2/account").status, 200)

    def test_timeout_holds_then_closes(self):
        sim = self.start_sim("--boot-delay", "30")
        sim.control("POST", "/faults", {"rules": [{"method": "POST", "path": "/v2/droplets", "error": "timeout",
                                                   "hold": 1.0}]})
        t0 = time.monotonic()
        with self.assertRaises((urllib.error.URLError, ConnectionError, socket.timeout, OSError)) as cm:
            sim.api("POST", "/v2/droplets", {"name": "x", "size": "s-1vcpu-1gb", "image": sim.images[0]},
                    timeout=5)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9, cm.exception)
        self.assertEqual(sim.api("GET", "/v2/droplets").json["meta"]["total"], 0)
        # A client with a shorter timeout gives up first.
        with self.assertRaises((socket.timeout, TimeoutError, urllib.error.URLError)):
            sim.api("POST", "/v2/droplets", {"name": "x", "size": "s-1vcpu-1gb", "image": sim.images[0]},
                    timeout=0.3)

    def test_latency(self):
        sim = self.start_sim("--boot-delay", "30")
        sim.control("POST", "/faults", {"latency": 0.3})
        t0 = time.monotonic()
        self.assertEqual(sim.api("GET", "/v2/account").status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.29)
        sim.control("POST", "/faults", {"latency": 0, "rules": [{"path": "/v2/sizes", "latency": 0.4}]})
        t0 = time.monotonic()
        sim.api("GET", "/v2/account")
        self.assertLess(time.monotonic() - t0, 0.25)
        t0 = time.monotonic()
        sim.api("GET", "/v2/sizes")
        self.assertGreaterEqual(time.monotonic() - t0, 0.39)

    def test_boot_failure_stuck(self):
        sim = self.start_sim("--boot-delay", "0.2")
        sim.control("POST", "/faults", {"boot_failure": {"rate": 1.0, "mode": "stuck", "count": 1}})
        r = sim.api("POST", "/v2/droplets", {"name": "doomed", "size": "s-1vcpu-1gb", "image": sim.images[0]})
        did, aid = r.json["droplet"]["id"], r.json["links"]["actions"][0]["id"]
        act = sim.wait(lambda: (lambda a: a if a["status"] != "in-progress" else None)(
            sim.api("GET", "/v2/actions/%d" % aid).json["action"]), what="create action")
        self.assertEqual(act["status"], "errored")
        d = sim.api("GET", "/v2/droplets/%d" % did).json["droplet"]
        self.assertEqual(d["status"], "new")
        self.assertEqual(d["networks"]["v4"], [])
        # count was 1: the next droplet boots.
        ok = sim.create("fine")
        sim.wait_active(ok)

    def test_boot_failure_agent(self):
        sim = self.start_sim("--boot-delay", "0.1")
        sim.control("POST", "/faults", {"boot_failure": {"rate": 1.0, "mode": "agent"}})
        did = sim.create("sick")
        sim.wait_active(did)
        log = sim.wait(lambda: (lambda t: t if b"injected agent failure" in t else None)(
            sim.control("GET", "/droplets/%d/log/agent" % did).raw), what="failing agent log")
        self.assertIn(b"dosim: injected agent failure", log)

    def test_faults_file_and_seed_are_deterministic(self):
        tmp = tempfile.mkdtemp(prefix="dosim-faults-")
        self.addCleanup(lambda: __import__("shutil").rmtree(tmp, ignore_errors=True))
        path = os.path.join(tmp, "faults.json")
        with open(path, "w") as f:
            json.dump({"rules": [{"path": "/v2/account", "error": 500, "rate": 0.5}]}, f)
        runs = []
        for _ in range(2):
            sim = self.start_sim("--boot-delay", "30", "--faults", path, "--seed", "42")
            runs.append([sim.api("GET", "/v2/account").status for _ in range(20)])
        self.assertEqual(runs[0], runs[1])
        self.assertIn(500, runs[0])
        self.assertIn(200, runs[0])

    def test_bad_fault_config_rejected(self):
        sim = self.start_sim("--boot-delay", "30")
        r = sim.control("POST", "/faults", {"rules": [{"error": 418}]})
        self.assertEqual(r.status, 400)
        self.assertIn("rule error must be", r.json["message"])


if __name__ == "__main__":
    unittest.main()
