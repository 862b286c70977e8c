# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``sessions.plan`` and the session command line, against fake sessions (pure); ending an
agent against a fake server, with a real process of the agent left over (no tmux)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from engine_fakes import FakeServer, FakeSession, make_project

from ansible_collections.agentloops.orchestrator.plugins.module_utils import procs, sessions


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "engine-checkout" / "agents.py"
    path.parent.mkdir()
    path.write_text("# the engine CLI\n")
    return str(path)


def own(project, name, sid="$1"):
    return FakeSession("u-" + name, sid, sessions.owner_of(project))


def verbs(actions):
    return [(a.agent.name, a.verb, a.reason) for a in actions]


def test_start_from_nothing_skips_disabled_and_unsupported_and_puts_the_watchdog_last(project):
    planned = sessions.plan(project, {}, project.select(None), "started")
    assert [(n, v) for n, v, _r in verbs(planned)] == [
        ("worker", "start"), ("helper", "start"), ("spare", "skip"), ("looper", "skip"), ("watchdog", "skip")]
    reasons = {n: r for n, _v, r in verbs(planned)}
    assert reasons["spare"] == "disabled in config"
    assert reasons["looper"].startswith("loop agents need the engine's runner: no engine checkout at ")
    assert reasons["watchdog"].startswith("the builtin watchdog needs the engine: no engine checkout at ")
    assert [a.session for a in planned][:2] == ["u-worker", "u-helper"]


def test_an_engine_script_makes_runner_agents_and_builtins_startable(project, script, tmp_path):
    planned = sessions.plan(project, {}, project.select(None), "started", script)
    assert {n: v for n, v, _r in verbs(planned)} == {
        "worker": "start", "helper": "start", "spare": "skip", "looper": "start", "watchdog": "start"}
    missing = sessions.plan(project, {}, project.select(["looper"]), "started", str(tmp_path / "nope.py"))
    assert missing[0].verb == "skip", "a script that does not exist is no engine"


def test_started_leaves_running_agents_and_restarted_restarts_them(project):
    live = {"u-worker": own(project, "worker", "$7")}
    (started,) = sessions.plan(project, live, project.select(["worker"]), "started")
    assert (started.verb, started.reason, started.session_id) == ("none", "already running", "$7")
    assert not started.changes
    (restarted,) = sessions.plan(project, live, project.select(["worker"]), "restarted")
    assert (restarted.verb, restarted.session_id) == ("restart", "$7") and restarted.changes


def test_stopped_stops_what_runs_and_nothing_else(project):
    live = {"u-worker": own(project, "worker", "$7"), "u-spare": own(project, "spare", "$8")}
    planned = sessions.plan(project, live, project.select(None), "stopped")
    assert verbs(planned) == [("worker", "stop", ""), ("helper", "none", "not running"), ("spare", "stop", ""),
                              ("looper", "none", "not running"), ("watchdog", "none", "not running")]
    assert [a.agent.name for a in planned] == [a.name for a in project.agents], "config order when stopping"


@pytest.mark.parametrize("state", sessions.STATES)
def test_another_configs_session_is_skipped_whatever_the_state(project, state):
    live = {"u-worker": FakeSession("u-worker", "$7", "/elsewhere/agents.toml")}
    (action,) = sessions.plan(project, live, project.select(["worker"]), state)
    assert (action.verb, action.reason) == ("skip", "session u-worker belongs to /elsewhere/agents.toml")
    assert action.session_id == ""


def test_an_untagged_session_is_the_projects(project):
    live = {"u-worker": FakeSession("u-worker", "$7", "")}
    (action,) = sessions.plan(project, live, project.select(["worker"]), "stopped")
    assert action.verb == "stop"


def test_unknown_state_is_refused(project):
    with pytest.raises(ValueError, match="state must be one of started, stopped, restarted"):
        sessions.plan(project, {}, project.select(None), "paused")


def test_actions_are_data(project):
    (action,) = sessions.plan(project, {}, project.select(["helper"]), "started")
    assert action.as_dict() == {"agent": "helper", "session": "u-helper", "action": "start", "reason": "",
                                 "ended": 0}
    assert action == sessions.Action(project.agent("helper"), "u-helper", "start")


def test_command_for_runs_the_given_engine_for_runner_agents(project, script):
    looper = project.agent("looper")
    assert sessions.command_for(project, looper, engine_script=script) == "exec %s %s --config %s run-agent looper" % (
        sys.executable, script, project.config_path)
    assert sessions.command_for(project, project.agent("helper"), engine_script=script) == "exec sleep 100000"
    assert sessions.command_for(project, project.agent("worker")) == "echo '[demo] agent up' ; exec sleep 1000000"


def test_stopping_an_agent_ends_what_it_left_running(project):
    env = dict(os.environ, AGENTLOOPS_CONFIG=project.config_path, AGENTLOOPS_AGENT="worker")
    daemon = subprocess.Popen(["sh", "-c", "echo ready; exec sleep 1000"], env=env, stdout=subprocess.PIPE,
                              start_new_session=True)  # setsid away: tmux's hangup never reaches it
    other = subprocess.Popen(["sh", "-c", "echo ready; exec sleep 1000"], stdout=subprocess.PIPE,
                             env=dict(env, AGENTLOOPS_AGENT="helper"), start_new_session=True)
    try:
        for child in (daemon, other):
            assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        server = FakeServer(own(project, "worker", "$3"))
        actions = sessions.plan(project, server.sessions(), project.select(["worker"]), "stopped")
        (done,) = sessions.execute(project, server, actions, desired="stopped")
        assert server.killed == ["$3"]
        assert done.ended == 1 and done.as_dict()["ended"] == 1
        assert daemon.wait(5) < 0, "ended by a signal"
        assert other.poll() is None, "another agent's process is left alone"
        assert procs.agent_processes(project.config_path, "helper") == {other.pid: procs.read_stat(other.pid).start}
    finally:
        for child in (daemon, other):
            if child.poll() is None:
                child.kill()
                child.wait()
