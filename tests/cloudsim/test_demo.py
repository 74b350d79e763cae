"""scripts/demo.sh: runs, shows the cluster, and leaves nothing behind (timed exit and Ctrl-C)."""

import os
import re
import signal
import subprocess
import time
import unittest

import sim_runtime as rt
from simtest import REPO


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


if __name__ == "__main__":
    unittest.main()
