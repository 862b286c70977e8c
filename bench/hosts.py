# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark, as ratios against a baseline measured in the same run:

`ansible-playbook playbooks/run.yml` over 1, 4 and 8 inventory hosts. Each host is a
separate inventory entry on this machine (a local connection) with its own project folder
and its own private tmux server (host vars project_dir and tmux_socket); the play runs with
forks (-f) equal to the number of hosts. Goals: 4 hosts take <= 2x, and 8 hosts <= 3x, the
time over 1 host.

Every server lives in a temp dir and is killed (by its socket) between runs and at the end.
Usage: .venv/bin/python bench/hosts.py [--repeat N]
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
COUNTS = (1, 4, 8)
GOALS = {4: 2.0, 8: 3.0}


def write_hosts(tmp, n):
    """An inventory of ``n`` local hosts, each with its own project and tmux server."""
    lines = ["all:", "  hosts:"]
    sockets = []
    for i in range(n):
        host = "h%02d" % i
        folder = os.path.join(tmp, "n%d" % n, host)
        socket = os.path.join(tmp, "n%d-%s.sock" % (n, host))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "agents.toml"), "w", encoding="utf-8") as handle:
            handle.write('[project]\nname = "%s"\nsession_prefix = "%s-"\n\n'
                         '[agents.worker]\nkind = "persistent"\nbackend = "demo"\nmodel = "m"\nwatch = "heal"\n\n'
                         '[agents.helper]\nkind = "service"\ncommand = "exec sleep 100000"\n' % (host, host))
        lines += ["    %s:" % host, "      ansible_connection: local",
                  "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"",
                  "      project_dir: %s" % folder, "      tmux_socket: %s" % socket]
        sockets.append(socket)
    inventory = os.path.join(tmp, "hosts-%d.yml" % n)
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return inventory, sockets


def kill(sockets):
    for socket in sockets:
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True, check=False)


def main():
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    repeat = max(3, repeat)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_HOME"] = os.path.join(REPO, ".build", "ansible-home")
    env["ANSIBLE_LOCAL_TEMP"] = env["ANSIBLE_REMOTE_TEMP"] = os.path.join(env["ANSIBLE_HOME"], "tmp")
    tmp = tempfile.mkdtemp(prefix="agentloops-bench-hosts-")
    every = []
    samples = {n: [] for n in COUNTS}
    try:
        setups = {}
        for n in COUNTS:
            setups[n] = write_hosts(tmp, n)
            every += setups[n][1]
        print("run.yml over 1, 4, 8 local hosts, -f <hosts>, own project and tmux server each "
              "(median of %d, runs interleaved, servers down between runs)" % repeat)
        for _run in range(repeat):
            for n in COUNTS:  # interleaved: a load change on the machine hits every count alike
                inventory, sockets = setups[n]
                cmd = [PLAYBOOK, "-i", inventory, "-f", str(n), "-e", "target=all", "playbooks/run.yml"]
                start = time.perf_counter()
                proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, check=False)
                samples[n].append(time.perf_counter() - start)
                if proc.returncode != 0 or proc.stdout.count("changed=1") != n:
                    raise SystemExit("run.yml over %d host(s) failed:\n%s%s" % (n, proc.stdout, proc.stderr))
                kill(sockets)
    finally:
        kill(every)
        shutil.rmtree(tmp, ignore_errors=True)
    median = {n: statistics.median(s) for n, s in samples.items()}
    print("  %5s  %8s  %14s  %6s  %s" % ("hosts", "median", "spread", "ratio", "goal"))
    ok = True
    for n in COUNTS:
        ratio = median[n] / median[1]
        goal = GOALS.get(n)
        met = goal is None or ratio <= goal
        ok = ok and met
        if goal:
            result("run.yml over %d hosts vs 1" % n, spread(samples[n]), spread(samples[1]), "%.2fx" % ratio,
                   "<= %.0fx" % goal, met)
        print("  %5d  %7.2fs  %5.2f-%5.2fs  %5.2fx  %s" % (
            n, median[n], min(samples[n]), max(samples[n]), ratio,
            "<= %.0fx %s" % (goal, "met" if met else "NOT met") if goal else "baseline"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
