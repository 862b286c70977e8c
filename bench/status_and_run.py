# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark, as ratios against a baseline measured in the same run:

1. `agents.py status` at N = 8, 50, 200 running agents, beside the seed's way of asking
   tmux about each agent (a shell loop of `tmux has-session -t =NAME`). Goal: at N=200 the
   status is >= 10x faster than the loop.
2. `agents.py status` at N = 8 and 1000 running agents beside its floor on the same server,
   measured in the same rounds: `python -c pass`, then one `tmux -S SOCK list-panes -a -F FORMAT`
   with the engine's own argv (the same bytes read), as two processes whose times are summed
   per round. Goal: status <= 1.5x the floor at both N. For information, status at 1000 with
   its parsed-config cache removed before each run (what the first status after an edit costs).
3. `ansible-playbook playbooks/run.yml` starting 1 agent vs 50 agents. Goal: the 50-agent
   run takes <= 1.5x the 1-agent run (one module call acts on all agents).

Everything runs on a private tmux server in a temp dir, removed at the end.
Usage: .venv/bin/python bench/status_and_run.py [--repeat N] [--only floor] [--engine DIR] [--before DIR]
(``--engine DIR``: time DIR/agents.py, another checkout, the tmux argv still this one's;
``--before DIR``: in the floor bench, DIR's status too, in the same rounds.)
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
PLAYBOOK = os.path.join(os.path.dirname(PY), "ansible-playbook")
# The agents.py timed: this checkout's, or another's (``--engine DIR``); ``--before DIR``: also
# time DIR's status in the same rounds of the floor bench (the code before a change).
AGENTS = os.path.join(os.path.abspath(sys.argv[sys.argv.index("--engine") + 1]) if "--engine" in sys.argv else REPO,
                      "agents.py")
BEFORE = os.path.join(os.path.abspath(sys.argv[sys.argv.index("--before") + 1]), "agents.py") \
    if "--before" in sys.argv else None
FLOOR_GOAL = 1.5


def write_project(folder, socket, n):
    os.makedirs(folder, exist_ok=True)
    lines = ['[project]\nname = "bench"\nsession_prefix = "b-"\ntmux_socket = "%s"\n' % socket,
             '[[phases]]\nname = "one"\nplan = "one.md"\n']
    for i in range(n):
        lines.append('[agents.a%03d]\nkind = "persistent"\nbackend = "demo"\nmodel = "m"\nwatch = "heal"\n' % i)
    with open(os.path.join(folder, "agents.toml"), "w") as handle:
        handle.write("\n".join(lines))
    return ["b-a%03d" % i for i in range(n)]


def timed(cmd, cwd, repeat, env=None):
    samples = []
    for _run in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, check=False)
        samples.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit("failed: %s\n%s%s" % (" ".join(cmd), proc.stdout, proc.stderr))
    return statistics.median(samples)


def bench_status(tmp, repeat):
    # As on a host: Python caches compiled bytecode (some shells disable that).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    print("status: agents.py status vs shell loop of `tmux has-session` (median of %d)" % repeat)
    print("  %5s  %12s  %12s  %7s" % ("N", "status", "has-session", "speedup"))
    results = {}
    for n in (8, 50, 200):
        folder = os.path.join(tmp, "status-%d" % n)
        socket = os.path.join(tmp, "st%d.sock" % n)
        names = write_project(folder, socket, n)
        subprocess.run([PY, AGENTS, "up"], cwd=folder, check=True, capture_output=True)
        loop = ("for s in %s; do if tmux -S %s has-session -t \"=$s\" 2>/dev/null; then echo \"$s RUNNING\"; "
                "else echo \"$s stopped\"; fi; done" % (" ".join(names), socket))
        # warm both (page cache, .pyc)
        timed([PY, AGENTS, "status"], folder, 2, env)
        ours = timed([PY, AGENTS, "status"], folder, repeat, env)
        base = timed(["bash", "-c", loop], folder, repeat)
        results[n] = (ours, base)
        if n == 200:
            result("agents.py status, 200 running agents, vs a has-session loop", "%.1fms" % (ours * 1000),
                   "%.1fms" % (base * 1000), "%.1fx faster" % (base / ours), ">= 10x faster", base / ours >= 10)
        print("  %5d  %10.1fms  %10.1fms  %6.1fx" % (n, ours * 1000, base * 1000, base / ours))
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True, check=False)
    return results


def _engine():
    """The engine's light driver part (tmuxproc: the read's argv) and its cache path, through the shim."""
    sys.path.insert(0, REPO)
    # the shim registers agentloops_engine
    import agents  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    from agentloops_engine import early, tmuxproc  # pylint: disable=import-outside-toplevel,import-error

    return early, tmuxproc


def _once(cmd, cwd, env):
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, env=env, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("failed: %s\n%s%s" % (" ".join(cmd), proc.stdout.decode(), proc.stderr.decode()))
    return took


def bench_floor(tmp, repeat):
    """status at 8 and 1000 agents vs python -c pass + one list-panes, rounds interleaved."""
    early, tmuxproc = _engine()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    print("status vs its floor: `python -c pass` then `tmux -S SOCK list-panes -a -F FORMAT` (the engine's argv), "
          "two processes summed per round; median (min-max, n) of %d rounds" % repeat)
    print("  %5s  %28s  %28s  %6s  %s" % ("N", "status", "floor", "ratio", "goal"))
    results = {}
    for n in (8, 1000):
        folder = os.path.join(tmp, "floor-%d" % n)
        socket = os.path.join(tmp, "fl%d.sock" % n)
        write_project(folder, socket, n)
        start = time.perf_counter()
        subprocess.run([PY, AGENTS, "up"], cwd=folder, check=True, capture_output=True)
        started = time.perf_counter() - start
        status = [PY, AGENTS, "status"]
        floor_py, floor_tmux = [PY, "-c", "pass"], tmuxproc.list_panes_argv(socket)
        for _warm in range(2):  # page cache, .pyc, and the parsed-config cache written by the first status
            _once(status, folder, env)
            _once(floor_tmux, folder, env)
        ours, floor, before = [], [], []
        for _round in range(repeat):
            ours.append(_once(status, folder, env))
            floor.append(_once(floor_py, folder, env) + _once(floor_tmux, folder, env))
            if BEFORE:
                before.append(_once([PY, BEFORE, "status"], folder, env))
        ratio = statistics.median(ours) / statistics.median(floor)
        results[n] = ratio
        result("agents.py status, %d running agents, vs its floor" % n, spread(ours, "ms", 1000),
               spread(floor, "ms", 1000), "%.2fx" % ratio, "<= %.1fx" % FLOOR_GOAL, ratio <= FLOOR_GOAL)
        print("  %5d  %28s  %28s  %5.2fx  <= %.1fx: %s   (up of %d agents: %.1fs)"
              % (n, spread(ours, "ms", 1000), spread(floor, "ms", 1000), ratio, FLOOR_GOAL,
                 "met" if ratio <= FLOOR_GOAL else "NOT met",
                 n, started))
        if before:
            print("  %5d  %28s  %28s  %5.2fx  (before: %s, same rounds)"
                  % (n, spread(before, "ms", 1000), "", statistics.median(before) / statistics.median(floor), BEFORE))
        if n == 1000:
            cache = early.cache_path(os.path.join(folder, "agents.toml"))
            cold = []
            for _round in range(repeat):
                if os.path.exists(cache):  # (an engine from before the cache has none)
                    os.unlink(cache)
                cold.append(_once(status, folder, env))
            print("  %5d  %28s  (status after an edit of agents.toml: no parsed-config cache yet; information)"
                  % (n, spread(cold, "ms", 1000)))
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True, check=False)
    return results


def bench_run(tmp, repeat):
    print("run.yml: ansible-playbook starting 1 vs 50 agents (median of %d, sessions down between runs)" % repeat)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    times = {}
    for n in (1, 50):
        folder = os.path.join(tmp, "run-%d" % n)
        socket = os.path.join(tmp, "run%d.sock" % n)
        write_project(folder, socket, n)
        samples = []
        for _run in range(repeat):
            start = time.perf_counter()
            proc = subprocess.run([PLAYBOOK, "playbooks/run.yml", "-e", "project_dir=" + folder], cwd=REPO,
                                  capture_output=True, text=True, env=env, check=False)
            samples.append(time.perf_counter() - start)
            if proc.returncode != 0 or "changed=1" not in proc.stdout:
                raise SystemExit("run.yml failed:\n" + proc.stdout + proc.stderr)
            subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True, check=False)
        times[n] = statistics.median(samples)
        print("  %3d agent(s): %.2fs" % (n, times[n]))
    print("  ratio run(50)/run(1): %.2f (goal <= 1.5)" % (times[50] / times[1]))
    result("run.yml starting 50 agents vs 1", "%.2fs" % times[50], "%.2fs" % times[1], "%.2fx" % (times[50] / times[1]),
           "<= 1.5x", times[50] / times[1] <= 1.5)
    return times


def main():
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 7
    tmp = tempfile.mkdtemp(prefix="agentloops-bench-")
    try:
        if "--only" in sys.argv and sys.argv[sys.argv.index("--only") + 1] == "floor":
            floor = bench_floor(tmp, repeat)
            return 0 if all(ratio <= FLOOR_GOAL for ratio in floor.values()) else 1
        status = bench_status(tmp, repeat)
        floor = bench_floor(tmp, repeat)
        run = bench_run(tmp, max(3, repeat // 2))
    finally:
        for name in os.listdir(tmp):
            if name.endswith(".sock"):
                subprocess.run(["tmux", "-S", os.path.join(tmp, name), "kill-server"], capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    ours, base = status[200]
    floor_ok = {n: ratio <= FLOOR_GOAL for n, ratio in floor.items()}
    ok = base / ours >= 10 and run[50] / run[1] <= 1.5 and all(floor_ok.values())
    print("goals: status(200) >= 10x loop: %s; status <= %.1fx its floor at 8: %s, at 1000: %s; "
          "run.yml(50)/run.yml(1) <= 1.5: %s"
          % ("met" if base / ours >= 10 else "NOT met", FLOOR_GOAL, "met" if floor_ok[8] else "NOT met",
             "met" if floor_ok[1000] else "NOT met", "met" if run[50] / run[1] <= 1.5 else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
