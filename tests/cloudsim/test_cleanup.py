"""Clean-up: nothing (process, directory, listener) survives the simulator or a failed test."""

import os
import signal
import socket
import unittest

import sim_runtime as rt
from simtest import SimProcess, SimTestCase, fake_snapshot


def boot_two(sim):
    ids = []
    for n in ("c1", "c2"):
        ids.append(sim.create(n))
    for i in ids:
        sim.wait(lambda: (sim.droplet_state(i) or {}).get("sim", {}).get("agent_alive"), what="agent of %d" % i)
    return ids


class TestCleanup(unittest.TestCase):
    def check_gone(self, sim, pids, mds):
        problems = sim.stop(signal.SIGTERM)
        self.assertEqual(problems, [])
        for p in pids:
            self.assertFalse(rt.proc_alive(p), "pid %d still alive" % p)
        for ip, port in mds:
            s = socket.socket()
            s.settimeout(1)
            try:
                self.assertNotEqual(s.connect_ex((ip, port)), 0, "metadata %s:%d still listening" % (ip, port))
            finally:
                s.close()
        self.assertFalse(os.path.exists(sim.tmp))

    def test_sigterm_kills_every_droplet_process(self):
        sim = SimProcess("--boot-delay", "0.1", "--kill-grace", "1",
                         snapshots=[fake_snapshot(["--spawn-daemon"])])
        try:
            boot_two(sim)
            sim.wait(lambda: len(rt.pids_with_env("DOSIM_INSTANCE=" + sim.instance)) >= 4, what="daemons")
            st = sim.state()
            pids = [d["sim"]["agent_pid"] for d in st["droplets"]]
            pids += rt.pids_with_env("DOSIM_INSTANCE=" + sim.instance)
            mds = [(d["sim"]["private_ipv4"], 8169) for d in st["droplets"]]
            roots = [d["sim"]["root"] for d in st["droplets"]]
            self.assertGreaterEqual(len(set(pids)), 4)  # two agents, two setsid daemons
        except BaseException:
            sim.stop()
            raise
        self.check_gone(sim, pids, mds)
        for r in roots:
            self.assertFalse(os.path.exists(r))

    def test_sigint_and_stubborn_agents(self):
        sim = SimProcess("--boot-delay", "0.1", "--kill-grace", "0.5",
                         snapshots=[fake_snapshot(["--ignore-term"])])
        try:
            boot_two(sim)
            pids = rt.pids_with_env("DOSIM_INSTANCE=" + sim.instance)
        except BaseException:
            sim.stop()
            raise
        problems = sim.stop(signal.SIGINT)
        self.assertEqual(problems, [])
        for p in pids:
            self.assertFalse(rt.proc_alive(p))

    def test_own_temp_dir_removed(self):
        # Without --state-dir the simulator makes and removes its own temp dir.
        import subprocess
        import sys
        import json
        import tempfile
        import time
        tmp = tempfile.mkdtemp(prefix="dosim-own-")
        ready = os.path.join(tmp, "ready.json")
        p = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "dosim.py"), "--quiet",
                              "--ready-file", ready], stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(ready) and time.monotonic() < deadline:
                time.sleep(0.05)
            with open(ready) as f:
                state_dir = json.load(f)["state_dir"]
            self.assertTrue(os.path.isdir(state_dir))
        finally:
            p.terminate()
            p.wait(10)
        self.assertFalse(os.path.exists(state_dir))
        self.assertFalse(os.path.exists(ready))
        os.rmdir(tmp)

    def test_cleanup_after_a_failing_test(self):
        """A test that fails with droplets running still leaves nothing behind."""
        seen = {}

        class Inner(SimTestCase):
            def test_fails(self):
                sim = self.start_sim("--boot-delay", "0.1")
                seen["sim"] = sim
                ids = boot_two(sim)
                seen["pids"] = [sim.droplet_state(i)["sim"]["agent_pid"] for i in ids]
                self.assertEqual(1, 2, "deliberate failure")

        res = unittest.TestResult()
        Inner("test_fails").run(res)
        self.assertEqual(len(res.failures), 1)
        self.assertIn("deliberate failure", res.failures[0][1])
        self.assertEqual(res.errors, [])
        sim = seen["sim"]
        self.assertEqual(sim.proc.poll(), 0)
        for p in seen["pids"]:
            self.assertFalse(rt.proc_alive(p))
        self.assertEqual(rt.pids_with_env("DOSIM_INSTANCE=" + sim.instance), [])
        self.assertFalse(os.path.exists(sim.tmp))

    def test_leak_is_reported(self):
        """The clean-up check itself can fail: a process that escapes the sim is caught and killed."""
        import subprocess
        sim = SimProcess("--boot-delay", "30")
        env = dict(os.environ, DOSIM_INSTANCE=sim.instance)
        stray = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
        sim.proc.send_signal(signal.SIGKILL)
        sim.proc.wait(5)
        problems = sim.stop()
        stray.wait(5)
        self.assertEqual(problems[0], "processes left behind: [%d]" % stray.pid)
        self.assertIn("ready file left behind", problems)

    def test_shutdown_endpoint(self):
        sim = SimProcess("--boot-delay", "0.1", snapshots=[fake_snapshot()])
        try:
            pids = [sim.droplet_state(i)["sim"]["agent_pid"] for i in boot_two(sim)]
            self.assertEqual(sim.control("POST", "/shutdown").status, 200)
            self.assertEqual(sim.proc.wait(20), 0)
            for p in pids:
                self.assertFalse(rt.proc_alive(p))
        finally:
            self.assertEqual(sim.stop(), [])

    def test_reset_endpoint(self):
        sim = SimProcess("--boot-delay", "0.1", snapshots=[fake_snapshot()])
        try:
            ids = boot_two(sim)
            pids = [sim.droplet_state(i)["sim"]["agent_pid"] for i in ids]
            self.assertEqual(sim.control("POST", "/reset").status, 200)
            self.assertEqual(sim.api("GET", "/v2/droplets").json["meta"]["total"], 0)
            sim.wait(lambda: not any(rt.proc_alive(p) for p in pids), what="reset kills droplets")
            self.assertEqual(sim.state()["request_log"][-1]["path"], "/v2/droplets")
        finally:
            self.assertEqual(sim.stop(), [])


if __name__ == "__main__":
    unittest.main()
