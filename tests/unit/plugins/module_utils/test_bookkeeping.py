# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bookkeeping: the per-agent records in state/ (runs, watch, resume ids, intent markers)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import bookkeeping, config
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import OrchestratorError
from ansible_collections.agentloops.orchestrator.plugins.module_utils.layout import StateLayout


@pytest.fixture
def project(tmp_path):
    (tmp_path / "agents.toml").write_text('[agents.w]\nkind = "loop"\nbackend = "demo"\n')
    return config.load(str(tmp_path / "agents.toml"))


def test_records_read_as_absent_until_written(project):
    agent = project.agent("w")
    assert bookkeeping.read_run(project, agent) is None
    assert bookkeeping.read_watch(project, agent) == {}
    assert bookkeeping.resume_id(project, agent) == ""
    assert not bookkeeping.is_stopped(project, agent) and not bookkeeping.is_paused(project, agent)
    assert not os.path.exists(project.state_dir), "reading creates nothing"


def test_run_and_watch_records_round_trip_in_their_formats(project):
    agent = project.agent("w")
    layout = StateLayout.of(project)
    bookkeeping.write_run(project, agent, {"iteration": 2, "exit": None})
    assert open(layout.run(agent)).read() == '{"iteration": 2, "exit": null}\n'
    assert bookkeeping.read_run(project, agent) == {"iteration": 2, "exit": None}
    bookkeeping.write_watch(project, agent, {"state": "FATAL", "restarts": 3})
    assert open(layout.watch(agent)).read() == '{"restarts": 3, "state": "FATAL"}\n'
    assert bookkeeping.clear_watch(project, agent) is True
    assert bookkeeping.clear_watch(project, agent) is False
    assert bookkeeping.read_watch(project, agent) == {}


def test_invalid_records_read_as_absent(project):
    agent = project.agent("w")
    os.makedirs(project.state_dir)
    layout = StateLayout.of(project)
    open(layout.run(agent), "w").write("[1, 2]\n")
    open(layout.watch(agent), "w").write("{not json")
    assert bookkeeping.read_run(project, agent) is None and bookkeeping.read_watch(project, agent) == {}


def test_resume_id_is_private(project):
    agent = project.agent("w")
    bookkeeping.write_resume_id(project, agent, "abc-123")
    path = StateLayout.of(project).resume(agent)
    assert open(path).read() == "abc-123\n" and oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert bookkeeping.resume_id(project, agent) == "abc-123"


def test_stop_and_pause_markers(project):
    agent = project.agent("w")
    bookkeeping.set_stopped(project, agent, True)
    bookkeeping.set_stopped(project, agent, True)
    assert open(StateLayout.of(project).stopped(agent)).read() == "stopped by an operator\n"
    assert bookkeeping.is_stopped(project, agent)
    bookkeeping.set_stopped(project, agent, False)
    bookkeeping.set_stopped(project, agent, False)  # already gone: fine
    assert not bookkeeping.is_stopped(project, agent)
    bookkeeping.set_paused(project, agent, True)
    assert open(StateLayout.of(project).paused(agent)).read() == "paused\n"
    bookkeeping.set_paused(project, agent, False)
    bookkeeping.set_paused(project, agent, False)
    assert not bookkeeping.is_paused(project, agent)


def test_a_marker_that_cannot_go_names_its_path(project):
    agent = project.agent("w")
    os.makedirs(StateLayout.of(project).paused(agent))  # a folder where the file would be
    with pytest.raises(OrchestratorError, match="cannot delete .*w.paused: "):
        bookkeeping.set_paused(project, agent, False)


def test_clear_fatal_forgets_only_that_a_loop_gave_up(project):
    agent = project.agent("w")
    assert bookkeeping.clear_fatal(project, agent) is False, "no record"
    bookkeeping.write_run(project, agent, {"iteration": 3, "exit": 1})
    assert bookkeeping.clear_fatal(project, agent) is False
    bookkeeping.write_run(project, agent, {"iteration": 3, "exit": 1, "fatal": "why",
                                           "backoff": {"failures": 2, "until": 1.0}})
    assert bookkeeping.clear_fatal(project, agent) is True
    assert bookkeeping.read_run(project, agent) == {"iteration": 3, "exit": 1}


@pytest.mark.parametrize("content, expected, words", [
    ('{"failures": ["x"], "restarts": 2}', {"restarts": 2}, "failures=[\"x\"]"),
    ('{"last_start": "soon", "state": "ok"}', {"state": "ok"}, "last_start=\"soon\""),
    ('{"restarts": "many"}', {}, "restarts=\"many\""),
    ('{"restarts": true, "next_try": NaN}', {}, "next_try=NaN, restarts=true"),
    ('[1, 2]', {}, "a JSON list, not an object"),
    (b'{"state": "\xff"}', {}, "not UTF-8"),
])
def test_a_bad_watch_record_reads_as_empty_fields_and_is_reported_once_per_content(project, content, expected, words):
    agent = project.agent("w")
    path = StateLayout.of(project).watch(agent)
    os.makedirs(project.state_dir)
    with open(path, "wb") as handle:
        handle.write(content if isinstance(content, bytes) else content.encode())
    heard = []
    bookkeeping.report_bad_records(lambda where, problem: heard.append((where, problem)))
    try:
        assert bookkeeping.read_watch(project, agent) == expected
        assert bookkeeping.read_watch(project, agent) == expected
    finally:
        bookkeeping.report_bad_records(None)
    assert len(heard) == 1 and heard[0][0] == path and words in heard[0][1], heard


def test_a_bad_run_record_keeps_its_good_fields(project):
    agent = project.agent("w")
    os.makedirs(project.state_dir)
    with open(StateLayout.of(project).run(agent), "w") as handle:
        handle.write('{"iteration": "three", "exit": 1, "phase": null, "backoff": {"until": "later"}, "fatal": 7}')
    assert bookkeeping.read_run(project, agent) == {"exit": 1, "phase": None}


def test_a_resume_id_that_is_not_utf8_reads_as_none(project):
    agent = project.agent("w")
    os.makedirs(project.state_dir)
    with open(StateLayout.of(project).resume(agent), "wb") as handle:
        handle.write(b"\xff\xfe\n")
    assert bookkeeping.resume_id(project, agent) == ""
