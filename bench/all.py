# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: every benchmark of bench/ in one run, then one table of every figure beside its
baseline (measured in the same run) and its goal. Exit 1 when a goal is not met or a benchmark
failed. Extra arguments go to every benchmark (each reads the ones it knows).

Usage: .venv/bin/python bench/all.py [--repeat N] [--trials N] [--idle S]
"""

import os
import subprocess
import sys
import time

from report import MARKER, parse, table

BENCH = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = ("starts.py", "status_and_run.py", "heal.py", "hosts.py")


def main():
    records, failed = [], []
    started = time.monotonic()
    for script in SCRIPTS:
        print("== bench/%s" % script, flush=True)
        proc = subprocess.Popen([sys.executable, os.path.join(BENCH, script)] + sys.argv[1:],
                                stdout=subprocess.PIPE, text=True)
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if not line.startswith(MARKER):
                sys.stdout.write(line)
                sys.stdout.flush()
        found = parse("".join(lines))
        # A benchmark that ended badly without saying which goal it missed (it crashed, or it
        # printed no figure) fails the run as such.
        if (proc.wait() != 0 and all(r[-1] == "met" for r in found)) or not found:
            failed.append(script)
        records += found
    print("\n== every figure (%.0f s, this machine: %d cores)" % (time.monotonic() - started, os.cpu_count() or 0))
    print(table(records))
    missed = [r[0] for r in records if r[-1] != "met"]
    print("goals: %s" % ("all met" if not missed and not failed else
                         "NOT met: %s" % "; ".join(missed + ["%s failed" % s for s in failed])))
    return 0 if not missed and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
