#!/usr/bin/env python3
"""Run every tests/cloudsim/test_*.py and finish with the line `N passed, N failed, N skipped`.

Each skipped test is named above that line as `SKIP <test>: <reason>`, which is
what tests/run.sh adds to the suite's list of skips.

    python3 tests/cloudsim/run_tests.py [-k PATTERN] [test_module ...]

Exit status is non-zero when any test failed or errored.
"""

import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class Result(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-k", action="append", default=[], help="only tests matching this substring")
    p.add_argument("modules", nargs="*")
    a = p.parse_args()
    loader = unittest.TestLoader()
    if a.k:
        loader.testNamePatterns = ["*%s*" % k for k in a.k]
    if a.modules:
        suite = unittest.TestSuite(loader.loadTestsFromName(m.replace(".py", "").split("/")[-1]) for m in a.modules)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    t0 = time.monotonic()
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=Result)
    res = runner.run(suite)
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    sys.stdout.write("simulator tests took %.1fs\n" % (time.monotonic() - t0))
    for test, reason in res.skipped:
        sys.stdout.write("SKIP %s: %s\n" % (test.id(), reason))
    sys.stdout.write("%d passed, %d failed, %d skipped\n" % (res.passed, failed, skipped))
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
