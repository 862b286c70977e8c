# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nothing is skipped silently: run.yml on a project without engine/ fails naming the agents
that cannot start (a loop and the builtin watchdog) and why; a partial start starts the rest,
warns, and status says why the others are stopped. agents.py up runs from an engine, so it can
start them: its own agents.py is their runner."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from test_playbooks import REPO, playbook

AGENTS = """
[project]
name = "partial"
session_prefix = "t-partial-"
tmux_socket = "{socket}"

[agents.worker]
kind = "persistent"
backend = "demo"
model = "demo-1"

[agents.looper]
kind = "loop"
backend = "demo"

[agents.spare]
kind = "persistent"
backend = "demo"
enabled = false

[agents.watchdog]
kind = "service"
builtin = "watchdog"
"""
NO_ENGINE = "stopped (no engine checkout: engine/agents.py is missing)"


def flat(text):
    """Text with its whitespace runs made one space: Ansible folds long messages."""
    return " ".join(text.split())


def make(tmp_path, tmux):
    folder = tmp_path / "partial"
    folder.mkdir()
    (folder / "agents.toml").write_text(textwrap.dedent(AGENTS.format(socket=tmux.socket)))
    return folder


def agents_py(folder, *args):
    return subprocess.run([sys.executable, os.path.join(REPO, "agents.py"), "--config", str(folder / "agents.toml"),
                           *args], cwd=folder, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
                          check=False)


def test_run_without_an_engine_fails_naming_each_agent_then_a_partial_start_warns(tmp_path, tmux):
    folder = make(tmp_path, tmux)
    engine_at = os.path.join(str(folder), "engine", "agents.py")
    for extra in (("--check",), ()):
        proc, recap = playbook("run", *extra, project_dir=str(folder))
        out = flat(proc.stdout)
        assert proc.returncode != 0 and recap["failed"] == 1, proc.stdout
        assert "2 agent(s) of partial cannot start, so nothing was started" in out, proc.stdout
        assert "looper: loop agents need the engine's runner: no engine checkout at %s" % engine_at in out
        assert "watchdog: the builtin watchdog needs the engine: no engine checkout at %s" % engine_at in out
        assert "spare:" not in out, "a disabled agent is left out on purpose, no failure"
        assert tmux.sessions() == {}, "nothing started (%s)" % (extra or "real run")
    assert not (folder / "state").exists(), "nothing written either"

    proc, recap = playbook("run", project_dir=str(folder), allow_partial="true")
    out = flat(proc.stdout + proc.stderr)
    assert proc.returncode == 0 and recap["changed"] == 1 and recap["failed"] == 0, proc.stdout + proc.stderr
    assert "[WARNING]: looper not started: loop agents need the engine's runner" in out
    assert "[WARNING]: watchdog not started: the builtin watchdog needs the engine" in out
    assert set(tmux.sessions()) == {"t-partial-worker"}
    assert "looper loop demo - none %s" % NO_ENGINE in out, "the run's table says why"

    proc, recap = playbook("status", project_dir=str(folder))
    out = flat(proc.stdout)
    assert proc.returncode == 0 and recap["changed"] == 0, proc.stdout
    assert "looper loop demo - none %s" % NO_ENGINE in out
    assert "watchdog service - - - %s" % NO_ENGINE in out
    assert "spare persistent demo - none stopped (disabled)" in out
    assert "worker persistent demo demo-1 none RUNNING [sleep]" in out or \
        "worker persistent demo demo-1 none RUNNING" in out

    # the same partial start again changes nothing and still warns (the problem is still there)
    proc, recap = playbook("run", project_dir=str(folder), allow_partial="true")
    assert proc.returncode == 0 and recap["changed"] == 0, proc.stdout
    assert "looper not started" in flat(proc.stdout + proc.stderr)


def test_agents_py_up_is_the_runner_a_module_lacks(tmp_path, tmux):
    """The engine CLI passes its own agents.py: what a module cannot start, up starts, and its
    status shows no reason for what it could start; the module's status says why it could not."""
    folder = make(tmp_path, tmux)
    status = agents_py(folder, "status")
    assert status.returncode == 0 and NO_ENGINE not in status.stdout, status.stdout + status.stderr
    try:
        up = agents_py(folder, "up", "looper", "--allow-partial")
        assert up.returncode == 0 and up.stderr == "", up.stdout + up.stderr
        assert "t-partial-looper" in tmux.sessions()
        proc, _recap = playbook("run", project_dir=str(folder), agents="looper")
        assert proc.returncode == 0, "running: no failure, whoever started it (%s)" % proc.stdout
    finally:
        down = agents_py(folder, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert tmux.sessions() == {}
