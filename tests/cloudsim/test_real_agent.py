"""One droplet running the real build/mitosis agent (skipped, with the reason, when it is not built)."""

import base64
import os
import subprocess
import tempfile
import shutil
import unittest

import sim_runtime as rt
from simtest import REPO, SimTestCase

AGENT = os.environ.get("MITOSIS_AGENT") or os.path.join(REPO, "build", "mitosis")


class TestRealAgent(SimTestCase):
    def test_real_agent_boots_reads_identity_and_stops(self):
        if not os.access(AGENT, os.X_OK):
            self.skipTest("%s is not built (run make)" % AGENT)
        tmp = tempfile.mkdtemp(prefix="dosim-real-")
        self.addCleanup(shutil.rmtree, tmp, True)
        key = os.path.join(tmp, "cluster.key")
        subprocess.run([AGENT, "keygen", "-o", key], check=True, timeout=10, stdout=subprocess.DEVNULL)
        with open(key, "rb") as f:
            key_b64 = base64.b64encode(f.read()).decode()
        snap = {"name": "real-agent",
                "files": {"/etc/mitosis/mitosis.conf": {"content": "cluster = test\nlog_level = info\n",
                                                        "mode": "0644"},
                          "/etc/mitosis/cluster.key": {"content_b64": key_b64, "mode": "0600"}},
                "command": ["{mitosis}", "agent", "-c", "{root}/etc/mitosis/mitosis.conf",
                            "--key-file", "{root}/etc/mitosis/cluster.key", "--metadata-url", "{metadata_url}",
                            # Never the host's /run/mitosis: a test touches no system path.
                            "--control-socket", "{root}/run/mitosis/mitosis.sock",
                            "--state-dir", "{root}/var/lib/mitosis"]}
        sim = self.start_sim("--boot-delay", "0.2", "--agent", AGENT, "--kill-grace", "3", snapshots=[snap])
        did = sim.create("real-1")
        want = b'identity: droplet_id=%d hostname="real-1"' % did

        def logged():
            r = sim.control("GET", "/droplets/%d/log/agent" % did)
            return r.raw if want in r.raw else None
        try:
            sim.wait(logged, timeout=15, what="the agent's identity line")
        except AssertionError:
            raise AssertionError("agent log: %r" % sim.control("GET", "/droplets/%d/log/agent" % did).raw[-2000:])
        st = sim.droplet_state(did)
        pid = st["sim"]["agent_pid"]
        self.assertTrue(rt.proc_alive(pid), "agent exited early: %r" % logged())
        sock = os.path.join(st["sim"]["root"], "run/mitosis/mitosis.sock")
        sim.wait(lambda: os.path.exists(sock), timeout=5, what="the control socket in the droplet's root")
        self.assertEqual(sim.api("DELETE", "/v2/droplets/%d" % did).status, 204)
        sim.wait(lambda: not rt.proc_alive(pid), timeout=10, what="agent stopped")
        self.assertEqual(rt.pids_with_env(st["sim"]["marker"]), [])


if __name__ == "__main__":
    unittest.main()
