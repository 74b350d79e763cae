"""Helpers shared by the simulator's tests: start dosim, call it, prove nothing is left behind.

SimProcess starts dosim.py as a child with a fresh state dir and a ready file,
and its stop() (registered with addCleanup by SimTestCase) sends SIGTERM, waits,
then checks that no process carries the instance's marker and that the state dir
is gone. Whatever survives is killed and reported as a failure, so a test that
fails half-way still cleans up and a leak fails loudly.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import sim_runtime as rt  # noqa: E402

TOKEN = "test-token-not-secret"
FAKE_AGENT = os.path.join(HERE, "fake_agent.py")


def fake_snapshot(extra_args=(), files=None, name="fake-agent"):
    return {"name": name,
            "files": files if files is not None else {
                "/etc/mitosis/mitosis.conf": {"content": "cluster = test\nlog_level = info\n", "mode": "0644"},
                "/etc/mitosis/cluster.key": {"content": "not-a-real-key\n", "mode": "0600"}},
            "command": [sys.executable, FAKE_AGENT, "--metadata-url", "{metadata_url}",
                        "--out", "{root}/var/lib/fake-agent.json"] + list(extra_args)}


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.raw = raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "<%d %s>" % (self.status, self.raw[:300])


class SimProcess:
    def __init__(self, *args, snapshots=(), token=TOKEN):
        self.tmp = tempfile.mkdtemp(prefix="dosim-test-")
        self.state_dir = os.path.join(self.tmp, "state")
        self.ready = os.path.join(self.tmp, "ready.json")
        self.token = token
        argv = [sys.executable, os.path.join(HERE, "dosim.py"), "--port", "0", "--token", token,
                "--state-dir", self.state_dir, "--ready-file", self.ready, "--quiet"]
        for i, snap in enumerate(snapshots):
            p = os.path.join(self.tmp, "snap%d.json" % i)
            with open(p, "w") as f:
                json.dump(snap, f)
            argv += ["--snapshot", p]
        argv += list(args)
        self.stderr = open(os.path.join(self.tmp, "stderr.txt"), "wb")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.stderr, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("dosim did not start: %s" % open(self.stderr.name).read())
            time.sleep(0.02)
        with open(self.ready) as f:
            info = json.load(f)
        self.url = info["url"]
        self.instance = info["instance"]
        self.images = info["images"]
        first = self.proc.stdout.readline().decode().strip()
        assert first == self.url, (first, self.url)

    def api(self, method, path, body=None, token=None, timeout=10, raw_body=None):
        data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
        url = path if path.startswith("http") else self.url + path
        req = urllib.request.Request(url, data=data, method=method)
        tok = self.token if token is None else token
        if tok:
            req.add_header("Authorization", "Bearer " + tok)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Response(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers), e.read())

    def control(self, method, path, body=None):
        return self.api(method, "/_sim" + path, body, token="")

    def state(self):
        return self.control("GET", "/state").json

    def droplet_state(self, did):
        for d in self.state()["droplets"]:
            if d["id"] == did:
                return d
        return None

    def wait(self, pred, timeout=10, step=0.05, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(step)
        raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))

    def create(self, name="web-1", image=None, **kw):
        body = {"name": name, "size": "s-1vcpu-1gb", "region": "nyc3",
                "image": image if image is not None else self.images[0]}
        body.update(kw)
        r = self.api("POST", "/v2/droplets", body)
        assert r.status == 202, r
        return r.json["droplet"]["id"]

    def wait_active(self, did, timeout=10):
        return self.wait(lambda: (self.api("GET", "/v2/droplets/%d" % did).json or {}).get("droplet", {})
                         .get("status") == "active", timeout, what="droplet %d active" % did)

    def wait_action(self, did, aid, timeout=10):
        def done():
            a = self.api("GET", "/v2/droplets/%d/actions/%d" % (did, aid)).json["action"]
            return a if a["status"] != "in-progress" else None
        return self.wait(done, timeout, what="action %d" % aid)

    def leftovers(self):
        procs = rt.pids_with_env("DOSIM_INSTANCE=" + self.instance)
        return procs

    def stop(self, sig=signal.SIGTERM):
        """Stop dosim; return a list of problems (leftover processes or dirs), after removing them."""
        problems = []
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                problems.append("dosim did not exit within 20s of signal %d" % sig)
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.stderr.close()
        inst = getattr(self, "instance", None)
        if inst:
            left = rt.pids_with_env("DOSIM_INSTANCE=" + inst)
            if left:
                problems.append("processes left behind: %s" % left)
                rt.kill_groups([], "DOSIM_INSTANCE=" + inst, 0.5)
        droplets_dir = os.path.join(self.state_dir, "droplets")
        if os.path.exists(droplets_dir):
            problems.append("droplet dirs left behind: %s" % os.listdir(droplets_dir))
        if os.path.exists(self.ready):
            problems.append("ready file left behind")
        shutil.rmtree(self.tmp, ignore_errors=True)
        return problems

    def stderr_text(self):
        try:
            with open(self.stderr.name) as f:
                return f.read()
        except OSError:
            return ""


class SimTestCase(unittest.TestCase):
    """A test case whose start_sim() always stops the sim and fails on leftovers."""

    def start_sim(self, *args, snapshots=None, **kw):
        sim = SimProcess(*args, snapshots=[fake_snapshot()] if snapshots is None else snapshots, **kw)

        def finish():
            problems = sim.stop()
            if problems:
                self.fail("clean-up: " + "; ".join(problems))
        self.addCleanup(finish)
        return sim

    def assertError(self, r, status, ident, message=None):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.json["id"], ident, r)
        self.assertIsInstance(r.json["message"], str)
        if message is not None:
            self.assertEqual(r.json["message"], message)
