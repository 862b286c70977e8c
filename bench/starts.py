# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark ``agents.py up`` of 10 vs 200 demo agents, as a ratio measured in the same run.

Each round times ``up`` of 10 agents, then of 200 (then, with ``--before DIR``, of 200 with
the ``agents.py`` of another checkout, e.g. the code before batched starts), each on its own
private tmux server, killed after every run so each ``up`` starts every agent afresh. The
runs of one round follow each other, so the machine's load weighs on all alike.
Goal: up(200) <= 3x up(10) (``up`` waits confirm_seconds, 1 s, once for all: the rest is the
cost of starting; one tmux call per agent made it grow with the count).

Everything runs in a temp dir on private tmux servers and is removed at the end.
Usage: .venv/bin/python bench/starts.py [--repeat 5] [--before /tmp/old-checkout]
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from report import result, spread

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
GOAL = 3.0


def arg(name, default):
    return type(default)(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def write_project(folder, socket, n):
    os.makedirs(folder, exist_ok=True)
    lines = ['[project]\nname = "starts"\nsession_prefix = "s-"\ntmux_socket = "%s"\n' % socket]
    for i in range(n):
        lines.append('[agents.a%03d]\nkind = "persistent"\nbackend = "demo"\nmodel = "m"\nwatch = "heal"\n' % i)
    with open(os.path.join(folder, "agents.toml"), "w") as handle:
        handle.write("\n".join(lines))


def count_sessions(socket):
    proc = subprocess.run(["tmux", "-S", socket, "list-sessions", "-F", "#{session_name}"], capture_output=True,
                          text=True, check=False)
    return len(proc.stdout.split()) if proc.returncode == 0 else 0


def kill_server(socket):
    """Kill the server and wait until it is gone (tmux 3.3a leaves its socket file behind)."""
    subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True, check=False)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and subprocess.run(["tmux", "-S", socket, "list-sessions"], capture_output=True,
                                                         check=False).returncode == 0:
        time.sleep(0.02)


def timed_up(script, folder, socket, n, env):
    start = time.perf_counter()
    proc = subprocess.run([PY, script, "up"], cwd=folder, capture_output=True, text=True, env=env, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("up failed (%s, %d agents):\n%s%s" % (script, n, proc.stdout, proc.stderr))
    running = count_sessions(socket)
    kill_server(socket)
    if running != n:
        raise SystemExit("up of %d agents left %d sessions (%s)" % (n, running, script))
    return took


def main():
    repeat, before = arg("--repeat", 5), arg("--before", "")
    # As on a host: Python caches compiled bytecode (some shells disable that).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    ours = os.path.join(REPO, "agents.py")
    runs = [("up(10)", ours, 10), ("up(200)", ours, 200)]
    if before:
        runs.append(("up(200) before", os.path.join(os.path.abspath(before), "agents.py"), 200))
    tmp = tempfile.mkdtemp(prefix="agentloops-starts-")
    samples = {label: [] for label, _script, _n in runs}
    sockets = []
    try:
        places = {}
        for k, (label, _script, n) in enumerate(runs):
            folder, socket = os.path.join(tmp, "p%d" % k), os.path.join(tmp, "s%d.sock" % k)
            write_project(folder, socket, n)
            places[label] = (folder, socket)
            sockets.append(socket)
        for label, script, n in runs:  # warm (page cache, .pyc), not counted
            timed_up(script, *places[label], n, env)
        for _round in range(repeat):
            for label, script, n in runs:
                samples[label].append(timed_up(script, *places[label], n, env))
    finally:
        for socket in sockets:
            kill_server(socket)
        shutil.rmtree(tmp, ignore_errors=True)
    print("up: agents.py up of 10 vs 200 demo agents (median of %d, spread min-max; servers killed between runs)"
          % repeat)
    print("  %-16s %9s %19s" % ("run", "median", "spread"))
    medians = {}
    for label, _script, _n in runs:
        medians[label] = statistics.median(samples[label])
        print("  %-16s %8.2fs %8.2fs - %6.2fs" % (label, medians[label], min(samples[label]), max(samples[label])))
    if before:
        print("  up(200) before/after: %.2fs -> %.2fs (%.1fx faster)" % (
            medians["up(200) before"], medians["up(200)"], medians["up(200) before"] / medians["up(200)"]))
    ratio = medians["up(200)"] / medians["up(10)"]
    ok = ratio <= GOAL
    print("goal: up(200) <= %gx up(10) (baseline up(10) %.2fs): %.2fx: %s"
          % (GOAL, medians["up(10)"], ratio, "met" if ok else "NOT met"))
    result("agents.py up of 200 agents vs 10", spread(samples["up(200)"]), spread(samples["up(10)"]),
           "%.2fx" % ratio, "<= %gx" % GOAL, ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
