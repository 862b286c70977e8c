# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: a throwaway project on a private tmux server — run, status, teardown —
then everything removed. Never touches the default tmux server."""

import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)

CONFIG = """\
[project]
name = "demo"
session_prefix = "demo-"
tmux_socket = "{socket}"

[[phases]]
name = "build"
plan = "plan-build.md"

[agents.orchestrator]
kind = "persistent"
backend = "demo"
model = "demo-large"
watch = "heal"

[agents.worker]
kind = "persistent"
backend = "demo"
model = "demo-small"
watch = "heal+stall"

[agents.assistant]
kind = "persistent"
backend = "demo"
enabled = false

[agents.ticker]
kind = "service"
command = "while :; do date; sleep 5; done"
"""


def step(title, *cmd, cwd=REPO):
    print("\n\033[1m== %s\033[0m\n$ %s" % (title, " ".join(cmd)), flush=True)
    subprocess.run(cmd, cwd=cwd, check=True)


def main():
    tmp = tempfile.mkdtemp(prefix="agentloops-demo-")
    project = os.path.join(tmp, "project")
    socket = os.path.join(tmp, "tmux.sock")
    os.makedirs(project)
    with open(os.path.join(project, "agents.toml"), "w") as handle:
        handle.write(CONFIG.format(socket=socket))
    playbook = os.path.join(BIN, "ansible-playbook")
    agents_py = [sys.executable, os.path.join(REPO, "agents.py")]
    try:
        print("demo project: %s\nprivate tmux server: tmux -S %s" % (project, socket))
        step("run.yml --check (plans, starts nothing)", playbook, "playbooks/run.yml", "--check", "--diff",
             "-e", "project_dir=" + project)
        step("run.yml", playbook, "playbooks/run.yml", "-e", "project_dir=" + project)
        step("engine CLI status on the host", *agents_py, "status", cwd=project)
        step("teardown.yml", playbook, "playbooks/teardown.yml", "-e", "project_dir=" + project)
        step("engine CLI status after teardown", *agents_py, "status", cwd=project)
    finally:
        if os.path.exists(socket):
            subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        print("\nremoved %s and its private tmux server" % tmp)


if __name__ == "__main__":
    main()
