# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""testinfra: after converge, the enabled agents run on the private server, nothing else."""

import os
import sys

SOCKET = "agentloops-molecule"
PROJECT = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "project")
ENGINE = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "agents.py")


def sessions(host):
    cmd = host.run("tmux -L %s list-sessions -F '#{session_name}'", SOCKET)
    assert cmd.rc == 0, cmd.stderr
    return sorted(cmd.stdout.split())


def test_enabled_agents_run_and_disabled_do_not(host):
    assert sessions(host) == ["mol-ticker", "mol-worker"]


def test_worker_runs_the_demo_backend(host):
    cmd = host.run("tmux -L %s list-panes -t =mol-worker -F '#{pane_current_command}'", SOCKET)
    assert cmd.stdout.strip() == "sleep"


def test_engine_status_on_the_host(host):
    cmd = host.run("cd %s && %s %s status", PROJECT, sys.executable, ENGINE)
    assert cmd.rc == 0, cmd.stderr
    lines = cmd.stdout.splitlines()
    assert lines[0].split() == ["AGENT", "KIND", "BACKEND", "MODEL", "WATCH", "STATE"]
    assert lines[1].split() == ["worker", "persistent", "demo", "demo-1", "heal", "RUNNING", "[sleep]"]
    assert lines[3].split()[-2:] == ["stopped", "(disabled)"]
