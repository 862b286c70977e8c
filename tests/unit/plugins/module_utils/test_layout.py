# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""layout.StateLayout: every file of a project's state and log folders, named in one place."""

from __future__ import annotations

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config
from ansible_collections.agentloops.orchestrator.plugins.module_utils.layout import StateLayout


def test_every_file_of_a_project(tmp_path):
    (tmp_path / "agents.toml").write_text('[project]\nstate_dir = "st"\nlog_dir = "logs"\n'
                                          '[agents.w]\nkind = "persistent"\nbackend = "demo"\n')
    project = config.load(str(tmp_path / "agents.toml"))
    layout = StateLayout.of(project)
    state, logs = str(tmp_path / "st"), str(tmp_path / "logs")
    assert (layout.state_dir, layout.log_dir) == (state, logs)
    assert layout.phase_index == state + "/phase-idx"
    assert layout.engine_lock == state + "/.engine.lock"
    assert layout.watchdog_lock == state + "/watchdog.lock"
    assert layout.events == logs + "/events.jsonl"
    agent = project.agent("w")
    assert [layout.run(agent), layout.watch(agent), layout.resume(agent), layout.stopped(agent),
            layout.paused(agent), layout.kickoff(agent), layout.env(agent)] == [
        state + "/w.run.json", state + "/w.watch.json", state + "/w.resume-id", state + "/w.stopped",
        state + "/w.paused", state + "/w.kickoff.md", state + "/w.env"]
    assert layout.log(agent) == logs + "/w.log"
    assert layout.screen(agent) == layout.screen("w") == logs + "/w.screen"


def test_an_agent_by_name_is_the_same_file():
    layout = StateLayout("/s", "/l")
    assert layout.run("x") == "/s/x.run.json" and layout.log("x") == "/l/x.log"
    assert layout == StateLayout("/s", "/l")


def test_the_names_of_the_log_files_the_engine_writes():
    layout = StateLayout("/s", "/l")
    assert layout.log_names(["a", "b"]) == {"events.jsonl", "a.log", "a.screen", "b.log", "b.screen"}
    assert layout.log_names([]) == {"events.jsonl"}
