# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine facade with a fake tmux server (pure: files in a temp dir only)."""

from __future__ import annotations

import json
import os
import shlex

import pytest
from engine_fakes import PHASES, FakeServer, FakeSession, make_project

from ansible_collections.agentloops.orchestrator.plugins.module_utils import (bookkeeping, engine, procs, sessions, tmux,
                                                                              watchdog)
from ansible_collections.agentloops.orchestrator.plugins.module_utils.layout import StateLayout
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import OrchestratorError, StateError


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def phased(tmp_path):
    return make_project(tmp_path, PHASES + '[agents.w]\nkind = "persistent"\nbackend = "demo"\n')


@pytest.fixture(autouse=True)
def no_watchdogs(monkeypatch):
    """/proc is not the test's: no watchdog process runs unless a test says so."""
    monkeypatch.setattr(procs, "watchdog_pids", lambda project: [])


def test_converge_starts_reports_and_returns_before_and_after(project):
    server = FakeServer(FakeSession("u-helper", "$5", sessions.owner_of(project)), FakeSession("other", "$6"))
    seen = []
    result = engine.converge(project, server, [], "started", report=seen.append, allow_partial=True)
    assert isinstance(result, engine.ConvergeResult) and result.changed
    assert [a.agent.name for a in result.actions if a.cannot_start] == ["looper", "watchdog"]
    assert result.before == ["u-helper"] and result.after == ["u-helper", "u-worker"]
    assert [a.session for a in seen] == ["u-worker"]
    assert [s[0] for s in server.started] == ["u-worker"]
    assert server.started[0][4] == sessions.owner_of(project).config, "sessions are tagged with their config"
    assert os.path.exists(os.path.join(project.state_dir, "worker.env"))


def test_converge_in_check_mode_predicts_and_touches_nothing(project):
    server = FakeServer(FakeSession("u-helper", "$5", sessions.owner_of(project)))
    planned = engine.converge(project, server, [], "restarted", check_mode=True, allow_partial=True)
    assert {a.agent.name: a.verb for a in planned.actions if a.changes} == {"worker": "start", "helper": "restart"}
    assert planned.before == ["u-helper"] and planned.after == ["u-helper", "u-worker"]
    stopping = engine.converge(project, server, ["helper"], "stopped", check_mode=True)
    assert stopping.after == [] and stopping.changed
    assert server.started == [] and server.killed == [] and not os.path.exists(project.state_dir)


def test_an_agent_that_cannot_start_fails_the_start_before_anything_starts(project):
    """No engine checkout: the loop and the watchdog cannot start. Without a partial start the
    run fails naming each and why, and nothing is started or written (check mode fails the
    same way: the real run would); what the operator left out on purpose is no failure."""
    from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import CannotStart

    for check_mode in (True, False):
        server = FakeServer()
        with pytest.raises(CannotStart) as caught:
            engine.converge(project, server, [], "started", check_mode=check_mode)
        lines = str(caught.value).splitlines()
        assert lines[0].startswith("2 agent(s) of unit cannot start, so nothing was started")
        assert lines[1].startswith("  looper: loop agents need the engine's runner: no engine checkout at ")
        assert lines[2].startswith("  watchdog: the builtin watchdog needs the engine: no engine checkout at ")
        result = caught.value.result
        assert isinstance(result, engine.ConvergeResult) and result.after == result.before == []
        assert {a.agent.name: a.cannot_start for a in result.actions}["spare"] is False, "disabled is an intent"
        assert server.started == [] and not os.path.exists(project.state_dir)
    with pytest.raises(CannotStart, match="1 agent\\(s\\) of unit cannot start"):
        engine.converge(project, FakeServer(), ["looper"], "restarted")
    named = engine.converge(project, server, ["worker", "helper"], "started")
    assert [s[0] for s in server.started] == ["u-worker", "u-helper"], "agents left out by name are no failure"
    assert not engine.converge(project, server, [], "stopped").actions[2].cannot_start, "stopping never fails so"
    assert named.changed


def test_converge_stops_and_marks_operator_intent(project):
    server = FakeServer(FakeSession("u-worker", "$5", sessions.owner_of(project)))
    result = engine.converge(project, server, ["worker"], "stopped")
    assert server.killed == ["$5"] and result.after == []
    assert os.path.exists(StateLayout.of(project).stopped("worker"))
    again = engine.converge(project, server, ["worker"], "stopped")
    assert not again.changed and [a.reason for a in again.actions] == ["not running"]


def test_a_session_started_meanwhile_is_not_started_twice(project):
    server = FakeServer()
    real = server.sessions

    def appears():  # another run starts the worker between the plan (read 1) and its execution (read 2)
        live = real()
        if server.reads == 2:
            server.live["u-worker"] = FakeSession("u-worker", "$9")
            live = dict(server.live)
        return live

    server.sessions = appears
    result = engine.converge(project, server, ["worker"], "started")
    assert server.started == []
    assert [(a.verb, a.reason) for a in result.actions] == [("none", "already in the desired state")]


def test_converge_passes_the_engine_script_down(project, tmp_path):
    script = tmp_path / "agents.py"
    script.write_text("")
    server = FakeServer()
    engine.converge(project, server, ["looper"], "started", engine_script=str(script))
    ((name, command, _cwd, _env, _owner),) = server.started
    inner = shlex.split(command)[-1]  # what the session's fresh shell runs (sessions.session_command)
    assert name == "u-looper" and "%s --config" % script in inner and inner.endswith("run-agent looper")


def test_status_report_counts_once(project, monkeypatch):
    calls = []
    monkeypatch.setattr(procs, "watchdog_pids", lambda p: calls.append(p) or [11, 12])
    server = FakeServer(FakeSession("u-worker", "$1"), FakeSession("u-watchdog", "$2"), FakeSession("u-x", "$3"),
                        FakeSession("v-worker", "$4"))
    report = engine.read_status(project, server)
    assert (report.running, report.stopped, report.watchdogs, report.phase_index) == (2, 3, 2, 0)
    assert report.prefix_sessions == ["u-watchdog", "u-worker", "u-x"]
    assert [r.agent for r in report.rows] == ["worker", "helper", "spare", "looper", "watchdog"]
    assert report.lines[0].startswith("AGENT") and report.lines[-1].endswith("RUNNING (2 watchdogs)")
    assert len(calls) == 1 and server.reads == 1
    given = engine.read_status(project, server, live={})
    assert given.running == 0 and server.reads == 1, "given sessions: no tmux call"


def test_status_without_counting_reads_proc_only_for_a_builtin_watchdog(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(procs, "watchdog_pids", lambda p: calls.append(p) or [])
    bare = make_project(tmp_path, '[agents.w]\nkind = "persistent"\nbackend = "demo"\n')
    assert engine.read_status(bare, FakeServer(), count_watchdogs=False).watchdogs is None and calls == []
    assert engine.read_status(bare, FakeServer()).watchdogs == 0 and len(calls) == 1


def test_set_phase_by_name_index_and_next(phased):
    look = engine.set_phase(phased, None)
    assert (look.changed, look.old, look.new) == (False, 0, 0)
    assert look.path == StateLayout.of(phased).phase_index and not os.path.exists(look.path)
    first = engine.set_phase(phased, "p0")
    assert first.changed, "writing the first phase's index is a change when none was written"
    assert open(first.path).read() == "0\n"
    assert not engine.set_phase(phased, 0).changed
    step = engine.set_phase(phased, engine.NEXT)
    assert (step.changed, step.old, step.new) == (True, 0, 1)
    assert engine.set_phase(phased, "2") == engine.PhaseChange(True, 1, 2, first.path)
    with pytest.raises(StateError, match=r"already at the last phase \(p2\)"):
        engine.set_phase(phased, engine.NEXT)


def test_a_phase_change_is_an_event(phased):
    engine.set_phase(phased, "p0")
    engine.set_phase(phased, "p0")  # no change: no event
    engine.set_phase(phased, engine.NEXT)
    events = [(e["agent"], e["event"], e["outcome"], e["index"]) for e in watchdog.read_events(phased, 0)]
    assert events == [("operator", "phase", "p0 -> p0", 0), ("operator", "phase", "p0 -> p1", 1)]


def test_set_phase_in_check_mode_writes_nothing(phased):
    planned = engine.set_phase(phased, "p2", check_mode=True)
    assert (planned.changed, planned.old, planned.new) == (True, 0, 2)
    assert not os.path.exists(phased.state_dir)


def test_a_phase_named_next_is_a_name(tmp_path):
    project = make_project(tmp_path, '[[phases]]\nname = "a"\nplan = "a.md"\n[[phases]]\nname = "next"\n'
                                     'plan = "n.md"\n[[phases]]\nname = "c"\nplan = "c.md"\n')
    engine.set_phase(project, 2)
    assert engine.set_phase(project, "next").new == 1


@pytest.mark.parametrize("target", [None, "p0", engine.NEXT])
def test_set_phase_without_phases_is_an_error(project, target):
    with pytest.raises(StateError, match=r"has no \[\[phases\]\]"):
        engine.set_phase(project, target)


def test_pause_and_resume_loop_agents_only(project):
    engine.pause(project, "looper")
    marker = StateLayout.of(project).paused("looper")
    assert open(marker).read() == "paused\n"
    engine.resume(project, "looper")
    assert not os.path.exists(marker)
    engine.resume(project, "looper")  # not paused: nothing to do
    with pytest.raises(OrchestratorError, match="only loop agents pause; worker is a persistent agent"):
        engine.pause(project, "worker")


def test_reset_clears_watch_state_and_logs_it(project):
    worker = project.agent("worker")
    bookkeeping.write_watch(project, worker, {"state": "FATAL"})
    assert engine.reset(project, "worker") is True
    assert engine.reset(project, "worker") is False
    lines = engine.event_lines(project)
    assert [line.split()[1:] for line in lines] == [["worker", "reset", "operator", "->", "cleared"],
                                                    ["worker", "reset", "operator", "->", "nothing", "to", "clear"]]


def test_event_lines_format(project):
    os.makedirs(project.log_dir, exist_ok=True)
    records = [{"ts": "T1", "time": 1.0, "agent": "worker", "event": "heal", "reason": "session gone",
                "outcome": "restarted", "restarts": 2},
               {"ts": "T2", "time": 2.0, "agent": "watchdog", "event": "start", "reason": "pid 1", "outcome": "ok"}]
    with open(os.path.join(project.log_dir, "events.jsonl"), "w") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in records) + "not json\n")
    assert engine.event_lines(project) == [
        'T1 worker       heal     session gone -> restarted {"restarts": 2}',
        "T2 watchdog     start    pid 1 -> ok"]
    assert engine.event_lines(project, 1) == ["T2 watchdog     start    pid 1 -> ok"]  # the bad line is skipped
    assert len(engine.event_lines(project, 0)) == 2


def test_scaffold_project_takes_explicit_options(tmp_path):
    with pytest.raises(TypeError):
        engine.scaffold_project(str(tmp_path / "p"), "present", bogus=1)
    with pytest.raises(OrchestratorError, match="engine_repo is required"):
        engine.scaffold_project(str(tmp_path / "p"), engine_ref="v1")
    assert engine.scaffold_project(str(tmp_path / "gone"), "absent")["changed"] is False


def test_an_operators_start_or_restart_clears_a_loops_fatal_a_plain_up_does_not(project, tmp_path):
    script = tmp_path / "agents.py"
    script.write_text("")
    looper = project.agent("looper")
    gave_up = {"iteration": 5, "exit": 1, "fatal": "5 failed iterations in a row (last exit 1)"}
    bookkeeping.write_run(project, looper, gave_up)
    server = FakeServer()
    engine.converge(project, server, ["looper"], "stopped", engine_script=str(script))
    assert bookkeeping.read_run(project, looper)["fatal"], "down keeps the reason"
    engine.converge(project, server, ["looper"], "started", engine_script=str(script))
    assert "fatal" not in bookkeeping.read_run(project, looper)
    bookkeeping.write_run(project, looper, gave_up)
    engine.converge(project, server, ["looper"], "started", engine_script=str(script))  # already running: none
    assert bookkeeping.read_run(project, looper)["fatal"]
    engine.converge(project, server, ["looper"], "restarted", engine_script=str(script))
    assert "fatal" not in bookkeeping.read_run(project, looper)
    bookkeeping.write_run(project, looper, gave_up)
    assert engine.reset(project, "looper") is True and "fatal" not in bookkeeping.read_run(project, looper)


CORRUPT_PHASE = [(b"garbage\n", "phase index must be a whole number, got 'garbage'"),
                 (b"9" * 5000 + b"\n", "phase index must be a whole number"),
                 (b"99999999999999999\n", "phase index 99999999999999999 is out of range"),
                 (b"-1\n", "phase index -1 is out of range"),
                 (b"\xff\xfe\x001\n", "not valid UTF-8")]


@pytest.mark.parametrize("raw, words", CORRUPT_PHASE)
def test_status_of_a_corrupt_phase_index_shows_the_table_and_why(phased, raw, words):
    os.makedirs(phased.state_dir)
    with open(StateLayout.of(phased).phase_index, "wb") as handle:
        handle.write(raw)
    good = engine.read_status(phased, FakeServer(FakeSession("u-w", "$1")))
    assert good.phase_index is None and words in good.phase_error
    assert good.lines[0].startswith("phase: ? [?/3] error: %s" % StateLayout.of(phased).phase_index)
    assert words in good.lines[0] and "phase set N|NAME" in good.lines[0]
    assert good.lines[1].startswith("AGENT") and good.lines[2].startswith("w ") and len(good.lines) == 3
    for look in (None, engine.NEXT):
        with pytest.raises(StateError, match="phase index|UTF-8"):
            engine.set_phase(phased, look)
    repaired = engine.set_phase(phased, "p1")
    assert (repaired.changed, repaired.old, repaired.new) == (True, None, 1)
    assert open(repaired.path).read() == "1\n"
    assert engine.set_phase(phased, 0).old == 1
    report = engine.read_status(phased, FakeServer())
    assert report.phase_error is None and report.lines[0] == "phase: p0 [1/3] plan=plan-0.md (in progress)"


def test_set_phase_over_a_corrupt_index_in_check_mode_writes_nothing(phased):
    os.makedirs(phased.state_dir)
    with open(StateLayout.of(phased).phase_index, "w") as handle:
        handle.write("x\n")
    planned = engine.set_phase(phased, 0, check_mode=True)
    assert (planned.changed, planned.old, planned.new) == (True, None, 0)
    assert open(planned.path).read() == "x\n"


def test_events_reads_the_last_good_records_from_the_end(project, monkeypatch):
    os.makedirs(project.log_dir, exist_ok=True)
    good = [{"ts": "T%d" % i, "agent": "w", "event": "heal", "reason": "r", "outcome": "o"} for i in range(5)]
    bad = [b"not json", b"\xff\xfe{}", b"[1, 2]", b'"text"', b"", b"{\"ts\": 1"]
    with open(StateLayout.of(project).events, "wb") as handle:
        for record, junk in zip(good, bad):
            handle.write(json.dumps(record).encode() + b"\n" + junk + b"\n")
    assert [line.split()[0] for line in engine.event_lines(project, 3)] == ["T2", "T3", "T4"]
    assert [line.split()[0] for line in engine.event_lines(project, 0)] == ["T0", "T1", "T2", "T3", "T4"]


def test_converge_refuses_a_second_copy_when_the_agents_run_on_another_server(project, monkeypatch):
    elsewhere = FakeServer(FakeSession("u-worker", "$1", sessions.owner_of(project)))
    monkeypatch.setattr(sessions, "TmuxServer", lambda socket, tmux_bin="tmux": elsewhere)
    os.makedirs(project.state_dir)
    with open(StateLayout.of(project).server, "w") as handle:
        handle.write("/run/first.sock\n")
    here = FakeServer()
    with pytest.raises(StateError, match="already runs on tmux server /run/first.sock \\(u-worker\\): refusing"):
        engine.converge(project, here, [], "started", allow_partial=True)
    assert here.started == []
    assert not engine.converge(project, here, [], "stopped").changed, "stopping is never refused"
    elsewhere.live.clear()
    engine.converge(project, here, [], "started", allow_partial=True)
    recorded = open(StateLayout.of(project).server).read()
    assert here.started and recorded == tmux.socket_path("fake") + "\n", "the new server is recorded, as its socket's path"


def test_one_server_by_name_and_by_path_is_not_a_second_copy(project, monkeypatch):
    """state/server holds the socket's real path: the same server reached by its path is the
    same server (nothing refused), and a name is resolved where tmux resolves it."""
    os.makedirs(project.state_dir)
    with open(StateLayout.of(project).server, "w") as handle:
        handle.write("rvsock\n")  # as an older engine recorded a name
    asked = []
    monkeypatch.setattr(sessions, "TmuxServer", lambda socket, tmux_bin="tmux": asked.append(socket) or FakeServer())
    here = FakeServer()
    here.socket = tmux.socket_path("rvsock")
    engine.converge(project, here, [], "started", allow_partial=True)
    assert here.started and asked == [], "the same server: not looked at as another"


def test_check_mode_plans_on_any_server_even_when_the_agents_run_elsewhere(project, monkeypatch):
    elsewhere = FakeServer(FakeSession("u-worker", "$1", sessions.owner_of(project)))
    monkeypatch.setattr(sessions, "TmuxServer", lambda socket, tmux_bin="tmux": elsewhere)
    os.makedirs(project.state_dir)
    with open(StateLayout.of(project).server, "w") as handle:
        handle.write("/run/first.sock\n")
    planned = engine.converge(project, FakeServer(), [], "started", check_mode=True, allow_partial=True)
    assert "u-worker" in planned.after, "the cutover's preflight plans on a server that cannot exist"


class DyingServer(FakeServer):
    """Sessions whose program ends at once, but for those named in ``survivors``; their pane
    stays (remain-on-exit) showing ``screen``."""

    def __init__(self, survivors=(), screen="") -> None:
        super().__init__()
        self.survivors = survivors
        self.screens = {}
        self.screen = screen

    def start(self, name, *args, **kwargs) -> str:
        sid = super().start(name, *args, **kwargs)
        if name not in self.survivors:
            pane = self.live[name].panes[0]
            pane.id, pane.dead, pane.dead_status = "%" + sid[1:], True, 7
            self.screens[pane.id] = self.screen
        return sid


def test_up_confirms_after_confirm_seconds_that_what_it_started_still_runs(tmp_path, monkeypatch):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import StartFailed

    monkeypatch.setattr(procs, "agent_processes", lambda *args, **kwargs: {})
    project = make_project(tmp_path, '[project]\nsession_prefix = "u-"\nconfirm_seconds = 0.2\n'
                           '[agents.ok]\nkind = "persistent"\nbackend = "demo"\n'
                           '[agents.bad]\nkind = "persistent"\nbackend = "demo"\n')
    server = DyingServer(survivors=("u-ok",), screen="[demo] agent up\nerror: no API key\n\n")
    with pytest.raises(StartFailed) as caught:
        engine.converge(project, server, [], "started")
    assert str(caught.value) == ("1 of the agents started did not stay up (confirm_seconds = 0.2):\n"
                                 "u-bad died within 0.2s of its start (exit 7); its last screen:\n"
                                 "    [demo] agent up\n    error: no API key")
    ok, bad = server.live["u-ok"].id, "$101"
    assert server.window_options == {ok: {"remain-on-exit": "on"}, bad: {"remain-on-exit": "on"}}
    assert server.killed == [bad], "the dead pane's session is ended"
    assert server.commands == [["set-option", "-w", "-t", ok + ":", "remain-on-exit", "off"]]


def test_confirm_seconds_0_confirms_nothing(tmp_path):
    project = make_project(tmp_path, '[project]\nsession_prefix = "u-"\nconfirm_seconds = 0\n'
                           '[agents.bad]\nkind = "persistent"\nbackend = "demo"\n')
    server = DyingServer()
    assert engine.converge(project, server, [], "started").changed
    assert server.window_options == {"$100": {}} and server.killed == [] and server.commands == []


def test_a_removal_counts_its_own_and_untagged_sessions_never_another_projects(project, monkeypatch):
    """Another project's session of the same name never blocks a removal; a hand-run
    (untagged) one does, and the preflight names it before anything stops."""
    ours = sessions.owner_of(project)
    live = FakeServer(FakeSession(project.session_name("worker"), "$1", ours),
                      FakeSession(project.session_name("helper"), "$2", "/elsewhere/agents.toml"))
    monkeypatch.setattr(engine, "TmuxServer", lambda socket: live)
    assert engine.running_sessions(project) == [project.session_name("worker")]
    assert engine.running_sessions(project, untagged_only=True) == []
    live.live[project.session_name("helper")] = FakeSession(project.session_name("helper"), "$2")
    assert engine.running_sessions(project) == [project.session_name("worker"), project.session_name("helper")]
    assert engine.running_sessions(project, untagged_only=True) == [
        "%s (not started by an engine: stop it yourself, or down --adopt)" % project.session_name("helper")]
