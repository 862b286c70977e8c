# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine core against a real tmux server (private socket per test)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
from helpers import wait_for

from ansible_collections.agentloops.orchestrator.plugins.module_utils import engine, sessions
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import (
    ConfigError, TmuxError, TmuxNoServer, TmuxNoSuchSession, TmuxSessionExists)
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
    with pytest.raises(TmuxSessionExists, match="duplicate session"):
        server.start("one", "sleep 100", str(tmp_path), {})


def test_arguments_ending_with_a_semicolon_reach_the_session_whole(tmux, tmp_path):
    server = TmuxServer(tmux.socket)
    out = tmp_path / "seen.txt"
    server.start("semi", "echo \"$ZED\" > %s; exec sleep 100;" % out, str(tmp_path), {"ZED": "z;"}, owner="o;")
    assert wait_for(lambda: out.exists() and out.read_text())
    assert out.read_text() == "z;\n" and server.sessions()["semi"].owner == "o;"


def test_pane_operations_and_their_typed_errors(tmux, tmp_path):
    server = TmuxServer(tmux.socket)
    tmux.new("keep")  # the server outlives the session under test
    server.start("cat", "exec cat", str(tmp_path), {})
    pane = server.sessions()["cat"].first_pane.id
    server.send_keys(pane, "typed $(not run);")
    assert wait_for(lambda: server.capture_pane(pane).count("typed $(not run);") == 2)  # echo, then cat's copy
    server.paste(pane, "pasted one\npasted two")
    assert wait_for(lambda: server.capture_pane(pane).count("pasted two") == 2)
    assert "agentloops-" not in tmux.run("list-buffers", check=False).stdout, "the buffer is deleted"
    assert server.kill(server.sessions()["cat"].id) is True
    assert server.capture_pane(pane) == ""
    with pytest.raises(TmuxNoSuchSession, match="send-keys failed"):
        server.send_keys(pane, "nobody")
    with pytest.raises(TmuxNoSuchSession, match="paste-buffer failed"):
        server.paste(pane, "nobody")
    with pytest.raises(TmuxNoServer, match="send-keys failed: error connecting to "):
        TmuxServer(tmux.socket + "-none").send_keys(pane, "nobody")


def test_tmux_that_cannot_run_is_a_tmux_error_naming_the_server(tmux, tmp_path):
    server = TmuxServer(tmux.socket, tmux_bin=str(tmp_path / "no-tmux"))
    where = "tmux server -S %s" % tmux.socket
    with pytest.raises(TmuxError, match="^%s: list-panes failed: cannot run " % where):
        server.sessions()
    with pytest.raises(TmuxError, match="^%s: cannot start session w: cannot run " % where):
        server.start("w", "sleep 1", str(tmp_path), {})


def test_status_imports_neither_libtmux_nor_subprocess(demo_project, tmux):
    """``status`` is the hot path (monitors run it in a loop): one posix_spawn of tmux."""
    engine.converge(*engine.open_project(str(demo_project / "agents.toml")), ["helper"], "started")
    shim = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "agents.py")
    probe = ("import runpy, sys\nsys.argv = ['agents.py', 'status']\ntry:\n"
             "    runpy.run_path(%r, run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('libtmux', 'subprocess') if m in sys.modules))" % shim)
    proc = subprocess.run([sys.executable, "-c", probe], cwd=demo_project, capture_output=True, text=True,
                          check=False)
    assert "RUNNING" in proc.stdout and proc.stdout.splitlines()[-1] == "[]", proc.stdout + proc.stderr


def test_up_status_down_cycle(demo_project, tmux):
    project, server = engine.open_project(str(demo_project / "agents.toml"))
    first = engine.converge(project, server, [], "started", allow_partial=True)
    actions, before, after = first.actions, first.before, first.after
    verbs = {a.agent.name: (a.verb, a.reason) for a in actions}
    assert verbs["worker"] == ("start", "")
    assert verbs["helper"] == ("start", "")
    assert verbs["spare"] == ("skip", "disabled in config")
    assert verbs["watchdog"][0] == "skip" and "builtin" in verbs["watchdog"][1]
    assert [a.agent.name for a in actions][-1] == "watchdog"
    assert before == [] and after == ["t-scratch-helper", "t-scratch-worker"]
    assert wait_for(lambda: tmux.sessions()["t-scratch-worker"][3] == "sleep")
    lines = engine.read_status(project, server).lines
    assert lines[1].split()[-2:] == ["RUNNING", "[sleep]"]
    assert lines[2].endswith("RUNNING")

    # idempotent: nothing to do the second time
    again = engine.converge(project, server, [], "started", allow_partial=True)
    assert not any(a.changes for a in again.actions) and not again.changed
    assert again.before == again.after == after

    down = engine.converge(project, server, [], "stopped")
    assert {a.agent.name for a in down.actions if a.changes} == {"worker", "helper"}
    assert down.after == []
    assert not any(r.running for r in engine.read_status(project, server).rows)


def test_down_touches_only_own_sessions(demo_project, tmux):
    tmux.new("t-scratch-workerX")
    tmux.new("other-worker")
    tmux.new("t-scratch-")
    foreign_before = tmux.identities()
    project, server = engine.open_project(str(demo_project / "agents.toml"))
    engine.converge(project, server, [], "started", allow_partial=True)
    tmux.new("t-scratch-spare")  # a hand-run session of a disabled agent: the project's once adopted
    engine.converge(project, server, [], "stopped")
    assert set(tmux.identities()) == set(foreign_before) | {"t-scratch-spare"}, "untagged: left alone"
    engine.converge(project, server, [], "stopped", adopt=True)
    assert tmux.identities() == foreign_before


def test_check_mode_predicts_and_touches_nothing(demo_project, tmux):
    tmux.new("t-scratch-helper")
    before = tmux.identities()
    project, server = engine.open_project(str(demo_project / "agents.toml"))
    plan = engine.converge(project, server, [], "started", check_mode=True, allow_partial=True)
    assert [x.agent.name for x in plan.actions if x.changes] == ["worker"]
    assert (plan.before, plan.after) == (["t-scratch-helper"], ["t-scratch-helper", "t-scratch-worker"])
    plan = engine.converge(project, server, [], "stopped", check_mode=True)
    assert (plan.before, plan.after) == (["t-scratch-helper"], ["t-scratch-helper"]), "a hand-run session stays"
    plan = engine.converge(project, server, [], "stopped", check_mode=True, adopt=True)
    assert (plan.before, plan.after) == (["t-scratch-helper"], [])
    plan = engine.converge(project, server, [], "restarted", check_mode=True, adopt=True, allow_partial=True)
    assert plan.after == ["t-scratch-helper", "t-scratch-worker"]
    assert tmux.identities() == before
    assert not (demo_project / "state").exists()


def test_restart_replaces_the_session(demo_project, tmux):
    project, server = engine.open_project(str(demo_project / "agents.toml"))
    engine.converge(project, server, ["worker"], "started")
    first = tmux.sessions()["t-scratch-worker"]
    actions = engine.converge(project, server, ["worker"], "restarted").actions
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
                                                    "HOME": "/home/u", "OTHER": "y"})
    assert "TMUX" not in env and "ANSIBLE_FOO" not in env and "OTHER" not in env
    assert env["AGENTLOOPS_AGENT"] == "worker" and env["PATH"] == "/bin"
    assert env["HOME_CFG"] == "/home/u/.cfg", "a leading ~ is the caller's HOME"


def test_command_quotes_every_argument(tmp_path):
    cfg = tmp_path / "agents.toml"
    cfg.write_text('[backends.b]\nbin = "prog"\nargs = ["a b", "$(x)"]\nmodel_arg = "-m"\n'
                   '[agents.x]\nkind = "persistent"\nbackend = "b"\nmodel = "it\'s"\n')
    project, _server = engine.open_project(str(cfg), "unused-socket")
    assert sessions.command_for(project, project.agent("x")) == "prog 'a b' '$(x)' -m 'it'\"'\"'s'"


def test_operator_intent_markers_and_restart_clears_fatal(demo_project, tmux):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import bookkeeping

    project, server = engine.open_project(str(demo_project / "agents.toml"))
    worker = project.agent("worker")
    engine.converge(project, server, ["worker"], "stopped", check_mode=True)
    assert not bookkeeping.is_stopped(project, worker), "check mode writes nothing"
    engine.converge(project, server, ["worker"], "stopped")
    assert bookkeeping.is_stopped(project, worker)
    bookkeeping.write_watch(project, worker, {"state": "FATAL", "restarts": 4})
    engine.converge(project, server, ["worker"], "restarted")
    assert not bookkeeping.is_stopped(project, worker)
    assert bookkeeping.read_watch(project, worker) == {}


def test_agent_env_reaches_the_agent_but_not_the_tmux_command_line(demo_project, tmux, tmp_path):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import bookkeeping

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
    assert not bookkeeping.is_stopped(project, project.agent("probe"))


def test_an_agents_terminal_gets_the_allow_list_tmuxs_term_the_root_and_a_sane_size(
        demo_project, tmux, tmp_path, monkeypatch):
    """A secret of the caller (an AWX job's injected credential) reaches neither the env file
    nor the agent, though the tmux server the engine starts keeps it in its global environment."""
    out = tmp_path / "env.txt"
    cfg = demo_project / "agents.toml"
    cfg.write_text(cfg.read_text() + '\n[agents.probe]\nkind = "service"\ncommand = "env > %s; exec sleep 100000"\n'
                   'pass_env = ["PASSED_ON"]\n' % out)
    for key, value in {"AWX_SECRET_X": "s3cret", "TERM": "xterm-kitty", "COLORTERM": "truecolor", "LANG": "C.UTF-8",
                       "PWD": "/elsewhere", "PASSED_ON": "yes"}.items():
        monkeypatch.setenv(key, value)
    project, server = engine.open_project(str(cfg))
    engine.converge(project, server, ["probe"], "started")
    assert wait_for(lambda: out.exists() and "PWD=" in out.read_text())
    seen = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    assert "AWX_SECRET_X=s3cret" in tmux.run("show-environment", "-g").stdout, "the server has the secret"
    assert "AWX_SECRET_X" not in seen and "COLORTERM" not in seen
    assert "s3cret" not in open(os.path.join(project.state_dir, "probe.env"), encoding="utf-8").read()
    assert (seen["PATH"], seen["HOME"], seen["LANG"], seen["PASSED_ON"]) == (
        os.environ["PATH"], os.environ["HOME"], "C.UTF-8", "yes")
    assert seen["TERM"] == tmux.run("show-options", "-gv", "default-terminal").stdout.strip() != "xterm-kitty"
    assert seen["PWD"] == str(demo_project) and seen["AGENTLOOPS_AGENT"] == "probe"
    assert seen["TMUX_PANE"] == server.sessions()["t-scratch-probe"].first_pane.id
    size = tmux.run("display-message", "-p", "-t", "=t-scratch-probe:", "#{window_width}x#{window_height}").stdout
    assert size.strip() == "200x50"


def test_two_projects_sharing_a_prefix_never_act_on_each_others_sessions(demo_project, tmux, tmp_path):
    """Sessions carry the agents.toml that started them (@agentloops_config); another config
    with the same prefix (two folders with one basename, say) skips them instead of stopping,
    restarting or counting them, while an untagged (hand-run) session is the project's to adopt."""
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
        actions = engine.converge(other, server, ["worker", "helper"], desired).actions
        assert {a.verb for a in actions} == {"skip"}, desired
        assert all(a.reason.startswith("session t-scratch-") and "belongs to" in a.reason for a in actions)
    assert tmux.identities() == ids
    assert watchdog.Watchdog(other, server).check() == [] and tmux.identities() == ids

    tmux.new("t-scratch-spare")  # untagged: nobody's, so the project may act on it when it adopts it
    actions = engine.converge(other, server, ["spare"], "stopped").actions
    assert [a.verb for a in actions] == ["skip"] and "t-scratch-spare" in server.sessions()
    actions = engine.converge(other, server, ["spare"], "stopped", adopt=True).actions
    assert [a.verb for a in actions] == ["stop"] and "t-scratch-spare" not in server.sessions()
    actions = engine.converge(project, server, ["worker"], "stopped").actions
    assert [a.verb for a in actions] == ["stop"]
