# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks against a remote host over real SSH (tests/ssh/conftest.py): the target's
Python lacks the engine's libraries, so the roles put them in a venv owned by the agents'
user and run the engine from there; scaffold, run, status, phase and teardown work."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from helpers import phased_agents

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

AGENTS = phased_agents("remote-e2e", '\n[agents.looper]\nkind = "loop"\nbackend = "demo"\nwatch = "none"\n')


def playbook(target, name, *extra, **evars):
    args = [PLAYBOOK, "playbooks/%s.yml" % name, "-e", "target=remote", *extra]
    for key, value in evars.items():
        args += ["-e", "%s=%s" % (key, value)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_FORCE_COLOR="0", ANSIBLE_INVENTORY=target.inventory,
               ANSIBLE_HOME=os.path.join(REPO, ".build", "ansible-home"))
    env["ANSIBLE_LOCAL_TEMP"] = os.path.join(env["ANSIBLE_HOME"], "tmp")
    proc = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=600, check=False)
    recap = re.search(r"remote\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    assert proc.returncode == 0 and recap, "%s\n%s\n%s" % (name, proc.stdout[-6000:], proc.stderr[-3000:])
    return proc, dict(zip(("ok", "changed", "unreachable", "failed"), map(int, recap.groups())))


def test_scaffold_run_status_phase_teardown_over_ssh(ssh_target, engine_repo):
    target = ssh_target
    engine = os.path.join(target.base, "agent-orchestrator")
    shutil.copytree(engine_repo, engine, symlinks=True)
    target.give(engine)
    agents = os.path.join(target.base, "agents.toml")
    with open(agents, "w", encoding="utf-8") as handle:
        handle.write(AGENTS)
    os.chmod(agents, 0o644)
    project = os.path.join(target.home, "remote-e2e")
    sock = os.path.join(target.home, "tmux.sock")
    common = {"project_dir": project, "tmux_socket": sock}

    before = target.run_as("/usr/bin/python3", "-c", "import libtmux")
    assert before.returncode != 0, "the target's own Python must lack the engine's libraries"

    playbook(target, "scaffold", engine_repo=engine, engine_ref="v0.1.0", agents_config=agents, **common)
    assert os.stat(project).st_uid == target.uid
    venv_python = os.path.join(target.home, ".agentloops", "venv", "bin", "python")
    assert target.run_as(venv_python, "-c", "import libtmux, tomlkit").returncode == 0
    assert os.stat(os.path.join(target.home, ".agentloops", "venv")).st_uid == target.uid

    _proc, recap = playbook(target, "run", **common)
    assert recap["changed"] >= 1
    listed = target.run_as("tmux", "-S", sock, "list-panes", "-a", "-F", "#{session_name} #{pane_pid}")
    panes = dict(line.split() for line in listed.stdout.splitlines())
    assert sorted(panes) == ["remote-e2e-looper", "remote-e2e-worker"], listed.stdout + listed.stderr
    with open("/proc/%s/cmdline" % panes["remote-e2e-looper"], "rb") as handle:
        shell = handle.read().decode()
    runner = [p for p in os.listdir("/proc") if p.isdigit() and _parent(p) == panes["remote-e2e-looper"]]
    cmdlines = [shell] + [_cmdline(p) for p in runner]
    assert any(venv_python in c and "run-agent" in c for c in cmdlines), cmdlines  # the runner runs from the venv

    _proc, recap = playbook(target, "run", **common)
    assert recap["changed"] == 0, "a second run changes nothing"

    proc, _recap = playbook(target, "status", **common)
    assert re.search(r"worker\s+persistent\s+demo\s+demo-1\s+heal\s+RUNNING \[sleep\]", proc.stdout)
    assert "phase: build [1/2]" in proc.stdout

    playbook(target, "phase", phase="ship", **common)
    with open(os.path.join(project, "state", "phase-idx"), encoding="utf-8") as handle:
        assert handle.read() == "1\n"
    status = target.run_as("/usr/bin/python3", os.path.join(project, "engine", "agents.py"), "--config",
                           os.path.join(project, "agents.toml"), "--tmux-socket", sock, "status")
    assert status.stdout.startswith("phase: ship [2/2]"), status.stdout + status.stderr

    _proc, recap = playbook(target, "teardown", **common)
    assert recap["changed"] == 1
    gone = target.run_as("tmux", "-S", sock, "list-sessions")
    assert gone.returncode != 0, gone.stdout


def _parent(pid: str) -> str:
    try:
        with open("/proc/%s/stat" % pid, encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[1]
    except OSError:
        return ""


def _cmdline(pid: str) -> str:
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""
