# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine core against a real tmux server (private socket per test)."""

from __future__ import annotations

import dataclasses
import os

import pytest
from helpers import wait_for

from ansible_collections.agentloops.orchestrator.plugins.module_utils import engine, sessions
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError, TmuxError
from ansible_collections.agentloops.orchestrator.plugins.module_utils.tmux import TmuxServer


def test_no_server_means_no_sessions(tmux):
    assert not os.path.exists(tmux.socket)
    assert TmuxServer(tmux.socket).sessions() == {}


def test_start_passes_command_cwd_and_environment(tmux, tmp_path):
    server = TmuxServer(tmux.socket)
    out = tmp_path / "env.txt"
    sid = server.start("probe", "pwd > %s; echo \"$ZED\" >> %s; exec sleep 100" % (out, out), str(tmp_path),
                       {"ZED": "zed value with 'quotes' $(not run)", "PATH": os.environ["PATH"]})
    assert sid.startswith("$")
    assert wait_for(lambda: out.exists() and len(out.read_text().splitlines()) == 2)
    assert out.read_text().splitlines() == [str(tmp_path), "zed value with 'quotes' $(not run)"]
    assert server.sessions()["probe"].id == sid


def test_kill_is_by_id_and_exact(tmux):
    tmux.new("foo")
    tmux.new("foobar")
    server = TmuxServer(tmux.socket)
    with pytest.raises(TmuxError, match="by id"):
        server.kill("foo")
    assert server.kill(server.sessions()["foo"].id) is True
    assert set(tmux.sessions()) == {"foobar"}
    assert server.kill("$999") is False


def test_duplicate_start_is_refused_by_tmux(tmux, tmp_path):
    server = TmuxServer(tmux.socket)
    server.start("one", "sleep 100", str(tmp_path), {})
    with pytest.raises(TmuxError, match="duplicate session"):
        server.start("one", "sleep 100", str(tmp_path), {})


def test_up_status_down_cycle(demo_project, tmux):
    project, server = engine.open_project(str(demo_project / "agents.toml"))
    actions, before, after = engine.converge(project, server, [], "started")
    verbs = {a.agent.name: (a.verb, a.reason) for a in actions}
    assert verbs["worker"] == ("start", "")
    assert verbs["helper"] == ("start", "")
    assert verbs["spare"] == ("skip", "disabled in config")
    assert verbs["watchdog"][0] == "skip" and "builtin" in verbs["watchdog"][1]
    assert [a.agent.name for a in actions][-1] == "watchdog"
    assert before == [] and after == ["t-scratch-helper", "t-scratch-worker"]
    assert wait_for(lambda: tmux.sessions()["t-scratch-worker"][3] == "sleep")
    rows, lines, _index = engine.read_status(project, server)
    assert lines[1].split()[-2:] == ["RUNNING", "[sleep]"]
    assert lines[2].endswith("RUNNING")

    # idempotent: nothing to do the second time
    again, before2, after2 = engine.converge(project, server, [], "started")
    assert not any(a.changes for a in again)
    assert before2 == after2 == after

    down, _before3, after3 = engine.converge(project, server, [], "stopped")
    assert {a.agent.name for a in down if a.changes} == {"worker", "helper"}
    assert after3 == []
    assert not any(r.running for r in engine.read_status(project, server)[0])


def test_down_touches_only_own_sessions(demo_project, tmux):
    tmux.new("t-scratch-workerX")
    tmux.new("other-worker")
    tmux.new("t-scratch-")
    foreign_before = tmux.identities()
    project, server = engine.open_project(str(demo_project / "agents.toml"))
    engine.converge(project, server, [], "started")
    tmux.new("t-scratch-spare")  # a session for a disabled agent is still the project's
    engine.converge(project, server, [], "stopped")
    assert tmux.identities() == foreign_before


def test_check_mode_predicts_and_touches_nothing(demo_project, tmux):
    tmux.new("t-scratch-helper")
    before = tmux.identities()
    project, server = engine.open_project(str(demo_project / "agents.toml"))
    actions, b, a = engine.converge(project, server, [], "started", check_mode=True)
    assert [x.agent.name for x in actions if x.changes] == ["worker"]
    assert (b, a) == (["t-scratch-helper"], ["t-scratch-helper", "t-scratch-worker"])
    _actions, b, a = engine.converge(project, server, [], "stopped", check_mode=True)
    assert (b, a) == (["t-scratch-helper"], [])
    _actions, b, a = engine.converge(project, server, [], "restarted", check_mode=True)
    assert a == ["t-scratch-helper", "t-scratch-worker"]
    assert tmux.identities() == before
    assert not (demo_project / "state").exists()


def test_restart_replaces_the_session(demo_project, tmux):
    project, server = engine.open_project(str(demo_project / "agents.toml"))
    engine.converge(project, server, ["worker"], "started")
    first = tmux.sessions()["t-scratch-worker"]
    actions, _before, _after = engine.converge(project, server, ["worker"], "restarted")
    assert [a.verb for a in actions] == ["restart"]
    second = tmux.sessions()["t-scratch-worker"]
    assert second[2] != first[2]  # a new process (the id may repeat: the server restarted)


def test_selecting_agents(demo_project, tmux):
    project, server = engine.open_project(str(demo_project / "agents.toml"))
    engine.converge(project, server, ["helper"], "started")
    assert set(tmux.sessions()) == {"t-scratch-helper"}
    with pytest.raises(ConfigError, match="unknown agent"):
        engine.converge(project, server, ["helper", "ghost"], "stopped")
    assert set(tmux.sessions()) == {"t-scratch-helper"}


def test_invalid_config_starts_stops_and_writes_nothing(demo_project, tmux):
    tmux.new("t-scratch-worker")
    before = tmux.identities()
    cfg = demo_project / "agents.toml"
    cfg.write_text(cfg.read_text() + '\n[agents."bad.name"]\nkind = "service"\ncommand = "x"\n')
    listing = sorted(os.listdir(demo_project))
    for desired in ("started", "stopped", "restarted"):
        with pytest.raises(ConfigError, match="agents.toml:2[0-9]:1: agents.\"bad.name\""):
            project, server = engine.open_project(str(cfg))
    assert tmux.identities() == before
    assert sorted(os.listdir(demo_project)) == listing


def test_environment_of_agents(demo_project):
    project, _server = engine.open_project(str(demo_project / "agents.toml"))
    worker = project.agent("worker")
    agent = dataclasses.replace(worker, env={**worker.env, "HOME_CFG": "~/.cfg"})  # agents are frozen
    env = sessions.environment_for(project, agent, {"PATH": "/bin", "TMUX": "x", "ANSIBLE_FOO": "1",
                                                    "HOME": "/home/u"})
    assert "TMUX" not in env and "ANSIBLE_FOO" not in env
    assert env["AGENTLOOPS_AGENT"] == "worker" and env["PATH"] == "/bin"
    assert env["HOME_CFG"] == os.path.expanduser("~/.cfg")


def test_command_quotes_every_argument(tmp_path):
    cfg = tmp_path / "agents.toml"
    cfg.write_text('[backends.b]\nbin = "prog"\nargs = ["a b", "$(x)"]\nmodel_arg = "-m"\n'
                   '[agents.x]\nkind = "persistent"\nbackend = "b"\nmodel = "it\'s"\n')
    project, _server = engine.open_project(str(cfg), "unused-socket")
    assert sessions.command_for(project, project.agent("x")) == "prog 'a b' '$(x)' -m 'it'\"'\"'s'"


def test_operator_intent_markers_and_restart_clears_fatal(demo_project, tmux):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import state

    project, server = engine.open_project(str(demo_project / "agents.toml"))
    worker = project.agent("worker")
    engine.converge(project, server, ["worker"], "stopped", check_mode=True)
    assert not os.path.exists(state.stopped_marker(project, worker)), "check mode writes nothing"
    engine.converge(project, server, ["worker"], "stopped")
    assert os.path.exists(state.stopped_marker(project, worker))
    state.write_watch(project, worker, {"state": "FATAL", "restarts": 4})
    engine.converge(project, server, ["worker"], "restarted")
    assert not os.path.exists(state.stopped_marker(project, worker))
    assert state.read_watch(project, worker) == {}


def test_agent_env_reaches_the_agent_but_not_the_tmux_command_line(demo_project, tmux, tmp_path):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import state

    out = tmp_path / "seen.txt"
    cfg = demo_project / "agents.toml"
    cfg.write_text(cfg.read_text() + '\n[agents.probe]\nkind = "service"\ncommand = "echo \\"$API_KEY\\" > %s; '
                   'exec sleep 100000"\n[agents.probe.env]\nAPI_KEY = "s3cr3t \'quoted\' $(not run)"\n' % out)
    project, server = engine.open_project(str(cfg))
    engine.converge(project, server, ["probe"], "started")
    assert wait_for(lambda: out.exists() and out.read_text())
    assert out.read_text() == "s3cr3t 'quoted' $(not run)\n"
    shown = tmux.run("show-environment", "-t", "=t-scratch-probe", check=False).stdout
    assert "s3cr3t" not in shown and "AGENTLOOPS_AGENT=probe" in shown
    env_file = os.path.join(project.state_dir, "probe.env")
    assert oct(os.stat(env_file).st_mode & 0o777) == "0o600"
    assert not os.path.exists(state.stopped_marker(project, project.agent("probe")))


def test_two_projects_sharing_a_prefix_never_act_on_each_others_sessions(demo_project, tmux, tmp_path):
    """Sessions carry the agents.toml that started them (@agentloops_config); another config
    with the same prefix (two folders with one basename, say) skips them instead of stopping,
    restarting or counting them, while an untagged (hand-run) session stays the project's."""
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import watchdog

    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "agents.toml").write_text((demo_project / "agents.toml").read_text())
    project, server = engine.open_project(str(demo_project / "agents.toml"))
    other, _server = engine.open_project(str(twin / "agents.toml"))
    engine.converge(project, server, ["worker", "helper"], "started")
    ids = tmux.identities()
    assert server.sessions()["t-scratch-worker"].owner == os.path.realpath(str(demo_project / "agents.toml"))

    for desired in ("stopped", "restarted", "started"):
        actions, _before, _after = engine.converge(other, server, ["worker", "helper"], desired)
        assert {a.verb for a in actions} == {"skip"}, desired
        assert all(a.reason.startswith("session t-scratch-") and "belongs to" in a.reason for a in actions)
    assert tmux.identities() == ids
    assert watchdog.Watchdog(other, server).check() == [] and tmux.identities() == ids

    tmux.new("t-scratch-spare")  # untagged: nobody's, so the project may act on it
    actions, _before, _after = engine.converge(other, server, ["spare"], "stopped")
    assert [a.verb for a in actions] == ["stop"] and "t-scratch-spare" not in server.sessions()
    actions, _before, _after = engine.converge(project, server, ["worker"], "stopped")
    assert [a.verb for a in actions] == ["stop"]
