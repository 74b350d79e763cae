"""scripts/demo.sh: runs, shows the cluster, and leaves nothing behind (timed exit, Ctrl-C, and its
output closing under `| head`); with the real agent, says when the cluster formed."""

import os
import re
import signal
import subprocess
import time
import unittest

import sim_runtime as rt
from simtest import REPO

AGENT = os.environ.get("MITOSIS_AGENT") or os.path.join(REPO, "build", "mitosis")


def demo_env(seconds):
    env = dict(os.environ, DEMO_FAKE_AGENT="1", DEMO_BOOT_DELAY="0.5")
    if seconds:
        env["DEMO_SECONDS"] = str(seconds)
    else:
        env.pop("DEMO_SECONDS", None)
    return env


class TestDemo(unittest.TestCase):
    def assert_nothing_left(self, out):
        m = re.search(r"demo: working dir (\S+) \(instance (\S+)\)", out)
        self.assertIsNotNone(m, out)
        tmp, inst = m.group(1), m.group(2)
        self.assertFalse(os.path.exists(tmp), "demo temp dir %s left behind" % tmp)
        left = rt.pids_with_env("DOSIM_INSTANCE=" + inst)
        if left:
            rt.kill_groups([], "DOSIM_INSTANCE=" + inst, 0.5)
        self.assertEqual(left, [])
        sims = rt.pids_with(lambda p: tmp.encode() in open("/proc/%d/cmdline" % p, "rb").read())
        self.assertEqual(sims, [], "simulator process left behind")

    def test_demo_runs_for_demo_seconds(self):
        p = subprocess.run(["bash", os.path.join(REPO, "scripts/demo.sh")], cwd=REPO, env=demo_env(8),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, out)
        self.assertEqual(len(re.findall(r"demo: created droplet \d+ \(demo-\d\)", out)), 3, out)
        last_view = out.split("----")[-2]
        self.assertEqual(len(re.findall(r" active  127\.77\.\d+\.\d+ +127\.78\.\d+\.\d+ +up ", last_view)), 3,
                         last_view)
        self.assertEqual(len(re.findall(r'identity: droplet_id=\d+ hostname="demo-\d"', last_view)), 3, last_view)
        self.assert_nothing_left(out)

    def test_demo_ctrl_c(self):
        p = subprocess.Popen(["bash", os.path.join(REPO, "scripts/demo.sh")], cwd=REPO, env=demo_env(0),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 20
            buf = b""
            os.set_blocking(p.stdout.fileno(), False)
            while time.monotonic() < deadline and buf.count(b" up ") < 3:
                chunk = p.stdout.read()
                if chunk:
                    buf += chunk
                time.sleep(0.1)
            self.assertGreaterEqual(buf.count(b" up "), 3, buf.decode())
            os.killpg(p.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
            p.wait(30)
            os.set_blocking(p.stdout.fileno(), True)
            buf += p.stdout.read()
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
            p.stdout.close()
        out = buf.decode()
        self.assertEqual(p.returncode, 130, out)
        self.assertIn("demo: stopping the simulator", out)
        self.assert_nothing_left(out)

    def test_demo_output_closed(self):
        """`demo.sh | head -3`: the reader goes away; the demo still stops the simulator and
        removes its temp dir (it used to die of SIGPIPE with both left behind)."""
        env = demo_env(0)
        p = subprocess.run(["bash", "-c", "bash scripts/demo.sh 2>/dev/null | head -3"], cwd=REPO,
                           env=env, stdout=subprocess.PIPE, timeout=60)
        out = p.stdout.decode()
        self.assertIn("demo: working dir", out)
        m = re.search(r"demo: working dir (\S+)", out)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and os.path.exists(m.group(1)):
            time.sleep(0.2)
        self.assert_nothing_left(out)

    def test_demo_real_agent_says_cluster_formed(self):
        if not os.access(AGENT, os.X_OK):
            self.skipTest("%s is not built (run make)" % AGENT)
        env = dict(os.environ, MITOSIS_AGENT=AGENT, DEMO_BOOT_DELAY="0.5", DEMO_SECONDS="14")
        env.pop("DEMO_FAKE_AGENT", None)
        p = subprocess.run(["bash", os.path.join(REPO, "scripts/demo.sh")], cwd=REPO, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=90)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, out)
        last_view = out.split("----")[-2]
        self.assertRegex(last_view, r"\ncluster formed: 3 of 3 alive after \d+\.\d s\n")
        # The first droplet founded the cluster (its user-data only) and leads it.
        self.assertRegex(last_view, r'\nleader: node \d+ "demo-1" in term \d+, [1-3] voters?\n')
        # No registrar is configured: no DNS line.
        self.assertNotIn("\ndns ", last_view)
        # Long log lines are cut at a word, with an ellipsis.
        cut = [ln for ln in last_view.splitlines() if ln.endswith("\u2026")]
        self.assertTrue(cut, last_view)
        for ln in cut:
            self.assertNotEqual(ln[-2], " ", ln)
        self.assert_nothing_left(out)


if __name__ == "__main__":
    unittest.main()
