"""Contract test: every endpoint the project uses, driven through Prism's validating proxy.

Prism (`@stoplight/prism-cli`, from npm) runs as `prism proxy --errors` in front of
the simulator with the official spec (../shared/do-api/openapi.json from the repo
root, or $DO_OPENAPI). Prism marks any request or response that breaks the spec
with an `sl-violations` header and, with --errors, answers an error response of type
application/problem+json instead. Any such error fails this test. Prism is installed
into build/prism on first use (scripts/deps.sh installs Debian's nodejs and npm);
when npm or the spec is missing, or the install fails (no network), the test is
skipped with the reason, which run_tests.py prints as `SKIP <test>: <reason>`.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from simtest import REPO, SimTestCase

PRISM_DIR = os.path.join(REPO, "build", "prism")
PRISM = os.path.join(PRISM_DIR, "node_modules", ".bin", "prism")


def spec_path():
    for p in (os.environ.get("DO_OPENAPI"), os.path.join(REPO, "..", "shared", "do-api", "openapi.json")):
        if p and os.path.isfile(p):
            return os.path.abspath(p)
    return None


def ensure_prism():
    """Return (path, None) or (None, reason)."""
    if os.access(PRISM, os.X_OK):
        return PRISM, None
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm is not installed"
    if shutil.which("node") is None:
        return None, "node is not installed"
    try:
        p = subprocess.run([npm, "install", "--prefix", PRISM_DIR, "--no-audit", "--no-fund",
                            "--fetch-timeout=30000", "--fetch-retries=1",
                            "@stoplight/prism-cli@5"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=300)
    except subprocess.TimeoutExpired:
        return None, "npm install @stoplight/prism-cli timed out after 300 s"
    if p.returncode != 0 or not os.access(PRISM, os.X_OK):
        tail = p.stdout.decode(errors="replace").strip().splitlines()[-3:]
        return None, "npm install @stoplight/prism-cli failed: %s" % " | ".join(tail)
    return PRISM, None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Through:
    """A client that sends every call through Prism and records spec violations."""

    def __init__(self, base, token):
        self.base, self.token = base, token
        self.problems = []
        self.warnings = []
        self.calls = 0

    def call(self, method, path, body=None, expect=200, token=True):
        self.calls += 1
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + (self.token if token is True else token))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, headers, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, raw = e.code, e.headers, e.read()
        what = "%s %s" % (method, path)
        viol = headers.get("sl-violations")
        if viol:
            try:
                items = json.loads(viol)
            except ValueError:
                items = [{"severity": "Error", "message": viol}]
            for v in items:
                line = "%s -> %d: %s %s: %s" % (what, status, v.get("severity"), ".".join(
                    str(x) for x in v.get("location", [])), v.get("message"))
                (self.problems if v.get("severity") == "Error" else self.warnings).append(line)
        if "problem+json" in (headers.get("Content-Type") or ""):
            self.problems.append("%s -> %d problem+json: %s" % (what, status, raw[:600].decode(errors="replace")))
        elif status != expect:
            self.problems.append("%s -> %d, expected %d: %s" % (what, status, expect, raw[:300]))
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None


class TestContract(SimTestCase):
    def start_prism(self, prism, spec, upstream):
        port = free_port()
        log = tempfile.NamedTemporaryFile(prefix="dosim-prism-", suffix=".log", delete=False)
        self.addCleanup(os.unlink, log.name)
        p = subprocess.Popen([prism, "proxy", "--errors", "-h", "127.0.0.1", "-p", str(port), spec, upstream],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

        def stop():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(5)
            log.close()
        self.addCleanup(stop)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if p.poll() is not None:
                break
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return "http://127.0.0.1:%d" % port, log.name
            time.sleep(0.25)
        with open(log.name) as f:
            self.fail("prism did not start within 90 s: %s" % f.read()[-2000:])

    def test_every_endpoint_through_prism(self):
        spec = spec_path()
        if spec is None:
            self.skipTest("the DigitalOcean spec (../shared/do-api/openapi.json) is missing")
        prism, why = ensure_prism()
        if prism is None:
            self.skipTest(why)
        sim = self.start_sim("--boot-delay", "0.3", "--action-delay", "0.3", "--domain", "example.com")
        base, log = self.start_prism(prism, spec, sim.url)
        c = Through(base, sim.token)
        self.drive(c, sim)
        for w in c.warnings:
            print("contract warning: " + w)
        if c.problems:
            with open(log) as f:
                tail = f.read()[-3000:]
            self.fail("%d spec violations in %d calls:\n%s\n--- prism log tail ---\n%s\n--- dosim stderr ---\n%s" % (
                len(c.problems), c.calls, "\n".join(c.problems), tail, sim.stderr_text()[-3000:]))
        self.assertGreaterEqual(c.calls, 50)

    def drive(self, c, sim):
        img = sim.images[0]
        c.call("GET", "/v2/account")
        c.call("GET", "/v2/sizes?per_page=200")
        c.call("GET", "/v2/regions")
        one = c.call("POST", "/v2/droplets", {"name": "web-1", "region": "nyc3", "size": "s-1vcpu-1gb",
                                              "image": img, "tags": ["mitosis", "svc-web"], "monitoring": True,
                                              "ipv6": False, "user_data": "#cloud-config\nruncmd:\n  - true\n",
                                              "with_droplet_agent": False}, expect=202)
        did = one["droplet"]["id"]
        many = c.call("POST", "/v2/droplets", {"names": ["web-2", "web-3"], "region": "nyc3",
                                               "size": "s-1vcpu-1gb", "image": img, "tags": ["mitosis"]},
                      expect=202)
        ids = [d["id"] for d in many["droplets"]]
        c.call("GET", "/v2/droplets/%d" % did)
        c.call("GET", "/v2/actions/%d" % one["links"]["actions"][0]["id"])
        sim.wait_active(did)
        for i in ids:
            sim.wait_active(i)
        c.call("GET", "/v2/droplets/%d" % did)
        c.call("GET", "/v2/droplets?tag_name=mitosis&per_page=200&page=1")
        c.call("GET", "/v2/droplets?per_page=1&page=2")
        c.call("GET", "/v2/droplets?name=web-1")
        c.call("GET", "/v2/droplets/999", expect=404)
        # Actions.
        a = c.call("POST", "/v2/droplets/%d/actions" % did, {"type": "snapshot", "name": "golden"}, expect=201)
        c.call("POST", "/v2/droplets/%d/actions" % did, {"type": "power_off"}, expect=422)
        c.call("GET", "/v2/droplets/%d/actions/%d" % (did, a["action"]["id"]))
        sim.wait_action(did, a["action"]["id"])
        c.call("GET", "/v2/droplets/%d/actions?per_page=200" % did)
        c.call("GET", "/v2/actions?per_page=5")
        for kind in ({"type": "shutdown"}, {"type": "resize", "size": "s-2vcpu-4gb", "disk": False},
                     {"type": "power_on"}, {"type": "power_off"}):
            act = c.call("POST", "/v2/droplets/%d/actions" % ids[0], kind, expect=201)
            sim.wait_action(ids[0], act["action"]["id"])
        # Not driven: POST /v2/droplets/actions (bulk by tag). The spec's request body is a oneOf whose two
        # branches both match any {"type": ...}, so Prism rejects every such request; mitosis does not use it.
        # Snapshots and images.
        snaps = c.call("GET", "/v2/droplets/%d/snapshots?per_page=200" % did)
        sid = snaps["snapshots"][0]["id"]
        c.call("GET", "/v2/images?private=true&per_page=200")
        c.call("GET", "/v2/images?type=distribution")
        c.call("GET", "/v2/images/%d" % sid)
        c.call("GET", "/v2/snapshots?resource_type=droplet")
        c.call("GET", "/v2/snapshots/%d" % sid)
        clone = c.call("POST", "/v2/droplets", {"name": "clone-1", "size": "s-1vcpu-1gb", "image": sid,
                                                "region": "nyc3"}, expect=202)
        # Domains and records.
        c.call("GET", "/v2/domains")
        c.call("POST", "/v2/domains", {"name": "other.test"}, expect=201)
        c.call("GET", "/v2/domains/example.com")
        rec = c.call("POST", "/v2/domains/example.com/records",
                     {"type": "A", "name": "www", "data": "127.77.1.1", "ttl": 60}, expect=201)
        rid = rec["domain_record"]["id"]
        c.call("GET", "/v2/domains/example.com/records?type=A&name=www.example.com&per_page=200")
        c.call("GET", "/v2/domains/example.com/records/%d" % rid)
        c.call("PUT", "/v2/domains/example.com/records/%d" % rid, {"type": "A", "data": "127.77.1.2"})
        c.call("PATCH", "/v2/domains/example.com/records/%d" % rid, {"type": "A", "ttl": 120})
        c.call("DELETE", "/v2/domains/example.com/records/%d" % rid, expect=204)
        c.call("DELETE", "/v2/domains/example.com/records/%d" % rid, expect=404)
        c.call("DELETE", "/v2/domains/other.test", expect=204)
        # Load balancers.
        rules = [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 8080}]
        lb = c.call("POST", "/v2/load_balancers", {"name": "by-id", "region": "nyc3", "forwarding_rules": rules,
                                                   "droplet_ids": [did]}, expect=202)
        lid = lb["load_balancer"]["id"]
        tlb = c.call("POST", "/v2/load_balancers", {"name": "by-tag", "region": "nyc3", "forwarding_rules": rules,
                                                    "tag": "svc-web"}, expect=202)
        tid = tlb["load_balancer"]["id"]
        c.call("GET", "/v2/load_balancers/%s" % lid)
        c.call("GET", "/v2/load_balancers")
        c.call("POST", "/v2/load_balancers/%s/droplets" % lid, {"droplet_ids": ids}, expect=204)
        c.call("DELETE", "/v2/load_balancers/%s/droplets" % lid, {"droplet_ids": [ids[0]]}, expect=204)
        c.call("POST", "/v2/load_balancers/%s/droplets" % tid, {"droplet_ids": [did]}, expect=422)
        c.call("GET", "/v2/load_balancers/%s" % tid)
        # Tags.
        c.call("POST", "/v2/tags", {"name": "role:web"}, expect=201)
        c.call("GET", "/v2/tags")
        res = {"resources": [{"resource_id": str(ids[1]), "resource_type": "droplet"}]}
        c.call("POST", "/v2/tags/role:web/resources", res, expect=204)
        c.call("GET", "/v2/tags/role:web")
        c.call("DELETE", "/v2/tags/role:web/resources", res, expect=204)
        c.call("DELETE", "/v2/tags/role:web", expect=204)
        # Errors: 401, 429, 500.
        # Prism answers a missing token itself; a wrong one reaches the simulator's 401.
        c.call("GET", "/v2/account", token="wrong", expect=401)
        sim.control("POST", "/faults", {"rules": [{"path": "/v2/sizes", "error": 429, "count": 1},
                                                  {"path": "/v2/regions", "error": 500, "count": 1}]})
        c.call("GET", "/v2/sizes", expect=429)
        c.call("GET", "/v2/regions", expect=500)
        # Deletes.
        c.call("DELETE", "/v2/load_balancers/%s" % lid, expect=204)
        c.call("DELETE", "/v2/droplets/%d" % clone["droplet"]["id"], expect=204)
        c.call("DELETE", "/v2/droplets/%d" % did, expect=204)
        c.call("DELETE", "/v2/droplets?tag_name=mitosis", expect=204)
        c.call("DELETE", "/v2/snapshots/%d" % sid, expect=204)
        c.call("DELETE", "/v2/images/%d" % img, expect=204)
        c.call("GET", "/v2/droplets")
        self.drive_real(c, sim, img)
        # The check itself must be able to fail: a response that breaks the spec is caught.
        sim.control("POST", "/faults", {"rules": [{"path": "/v2/droplets", "error": "garbage", "count": 1}]})
        before = len(c.problems)
        c.call("GET", "/v2/droplets")
        caught = c.problems[before:]
        del c.problems[before:]
        if not caught:
            c.problems.append("prism did not flag a response without the required meta key")

    def drive_real(self, c, sim, img):
        """The realism profile's answers must fit the spec too: capacity 422s, strict 422s, locked,
        addresses while new, droplets listed while being deleted, faults after the endpoint ran."""
        sim.control("POST", "/config", {"profile": "real", "time_scale": 0.01, "ip_lag": -60,
                                        "delete_delay": 100, "action_status_lag": 100})
        img = sim.control("POST", "/snapshots", {"name": "again", "files": {}}).json["image"]["id"]
        sim.control("POST", "/faults", {"rules": [], "capacity": {"regions": ["ams3"]}})
        err = c.call("POST", "/v2/droplets", {"name": "full", "size": "s-1vcpu-1gb", "image": img,
                                              "region": "ams3"}, expect=422)
        if not (err or {}).get("error_attributes", {}).get("available_regions"):
            c.problems.append("capacity 422 without error_attributes.available_regions: %r" % (err,))
        d = c.call("POST", "/v2/droplets", {"name": "real-1", "size": "s-1vcpu-1gb", "image": img,
                                            "region": "nyc3", "tags": ["real"]}, expect=202)["droplet"]
        early = c.call("GET", "/v2/droplets/%d" % d["id"])["droplet"]
        if early["status"] != "new" or not early["networks"]["v4"]:
            c.problems.append("ip_lag -60 should show addresses while new: %r" % (early["networks"],))
        sim.wait_active(d["id"])
        c.call("POST", "/v2/droplets/%d/actions" % d["id"], {"type": "power_on"}, expect=422)
        c.call("POST", "/v2/droplets/%d/actions" % d["id"], {"type": "resize", "size": "s-2vcpu-4gb"}, expect=422)
        act = c.call("POST", "/v2/droplets/%d/actions" % d["id"], {"type": "power_off"}, expect=201)["action"]
        if not c.call("GET", "/v2/droplets/%d" % d["id"])["droplet"]["locked"]:
            c.problems.append("a droplet with an action in progress is not locked")
        sim.wait(lambda: sim.droplet_state(d["id"])["sim"]["true_status"] == "off", what="off")
        c.call("GET", "/v2/droplets/%d/actions/%d" % (d["id"], act["id"]))
        c.call("GET", "/v2/droplets?tag_name=real&per_page=200")
        sim.control("POST", "/faults", {"rules": [{"method": "DELETE", "path": "/v2/droplets/*", "error": 500,
                                                   "after": True, "count": 1}]})
        c.call("DELETE", "/v2/droplets/%d" % d["id"], expect=500)
        gone = c.call("GET", "/v2/droplets/%d" % d["id"])["droplet"]
        if gone["status"] != "off":
            c.problems.append("a droplet being deleted should still read off: %r" % (gone["status"],))
        c.call("GET", "/v2/droplets")
        sim.control("POST", "/config", {"profile": "default"})


if __name__ == "__main__":
    unittest.main()
