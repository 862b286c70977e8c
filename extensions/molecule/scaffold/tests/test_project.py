# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""testinfra: the scaffolded project, its fleet entry and its running agent."""

import os
import sys

WORK = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
PROJECT = os.path.join(WORK, "scratch-e2e")
SOCKET = "agentloops-molecule-scaffold"


def test_tracked_files_are_exactly_four(host):
    cmd = host.run("git -C %s ls-files", PROJECT)
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.split() == [".gitignore", ".gitmodules", "agents.toml", "engine"]


def test_engine_is_pinned_at_this_checkout(host):
    pinned = host.run("git -C %s rev-parse HEAD:engine", PROJECT).stdout.strip()
    head = host.run("git -C %s rev-parse HEAD", os.environ["MOLECULE_PROJECT_DIRECTORY"]).stdout.strip()
    assert pinned == head


def test_registered_in_the_fleet(host):
    fleet = host.file(os.path.join(WORK, "fleet.toml")).content_string
    assert "[projects.scratch-e2e]" in fleet
    assert 'dir = "%s"' % PROJECT in fleet


def test_agent_runs_and_engine_status_shows_it(host):
    assert host.run("tmux -L %s has-session -t =poe2e-scratch-worker", SOCKET).rc == 0
    cmd = host.run("cd %s && %s engine/agents.py status", PROJECT, sys.executable)
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.splitlines()[1].split() == ["worker", "persistent", "demo", "demo-1", "heal", "RUNNING",
                                                  "[sleep]"]
