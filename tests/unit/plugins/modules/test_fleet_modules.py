# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os

from ansible_collections.agentloops.orchestrator.plugins.modules import agent_session, fleet_entry, fleet_info


def test_entry_add_check_diff_idempotent(run_module, tmp_path):
    path = str(tmp_path / "fleet.toml")
    args = {"fleet_file": path, "name": "scratch", "dir": "/tmp/poe2e-scratch", "engine": "agent-orchestrator@v0.1.0"}
    planned = run_module(fleet_entry, dict(args, _ansible_check_mode=True, _ansible_diff=True))
    assert planned["changed"] and planned["previous"] is None
    assert planned["diff"]["before"] == "" and "[projects.scratch]" in planned["diff"]["after"]
    assert not os.path.exists(path)
    first = run_module(fleet_entry, args)
    assert first["changed"] and first["entry"]["enabled"] is True
    second = run_module(fleet_entry, args)
    assert not second["changed"]
    disabled = run_module(fleet_entry, {"fleet_file": path, "name": "scratch", "enabled": False})
    assert disabled["changed"] and disabled["entry"]["enabled"] is False
    assert disabled["entry"]["dir"] == "/tmp/poe2e-scratch"


def test_entry_bad_input_fails_and_writes_nothing(run_module, tmp_path):
    path = tmp_path / "fleet.toml"
    relative = run_module(fleet_entry, {"fleet_file": str(path), "name": "x", "dir": "rel/x", "engine": "e@1"})
    assert relative["failed"] and "must be an absolute path" in relative["msg"]
    badname = run_module(fleet_entry, {"fleet_file": str(path), "name": "a:b", "dir": "/x", "engine": "e@1"})
    assert badname["failed"] and "project names may hold only" in badname["msg"]
    assert not path.exists()
    path.write_text("schema = 9\n")
    schema = run_module(fleet_entry, {"fleet_file": str(path), "name": "x", "dir": "/x", "engine": "e@1"})
    assert schema["failed"] and "fleet.toml:1:1: schema: unknown schema 9" in schema["msg"]
    assert path.read_text() == "schema = 9\n"


def test_info_reports_status_and_live_counts(run_module, tmp_path, demo_project, tmux):
    path = str(tmp_path / "fleet.toml")
    run_module(fleet_entry, {"fleet_file": path, "name": "scratch", "dir": str(demo_project),
                             "engine": "agent-orchestrator@v0.1.0"})
    run_module(fleet_entry, {"fleet_file": path, "name": "cc-ci", "dir": "/home/loops/poe2e/cc-ci",
                             "engine": "agent-orchestrator@v0.1.0", "enabled": False})
    run_module(agent_session, {"project_dir": str(demo_project), "agents": ["worker"]})
    info = run_module(fleet_info, {"fleet_file": path})
    assert info["summary"] == "fleet: OK — 2 project(s), schema v1"
    assert info["lines"] == [
        "scratch [enabled] agent-orchestrator@v0.1.0 %s running=1 stopped=3" % demo_project,
        "cc-ci [disabled] agent-orchestrator@v0.1.0 /home/loops/poe2e/cc-ci",
        "total=2 enabled=1 disabled=1",
    ]
    assert (info["total"], info["enabled"], info["disabled"]) == (2, 1, 1)
    assert info["projects"][1]["running"] is None


def test_info_fails_with_every_error(run_module, tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text('schema = 1\n[projects.a]\ndir = "a"\nengine = "b"\n')
    info = run_module(fleet_info, {"fleet_file": str(path)})
    assert info["failed"]
    assert [(i["line"], i["key"]) for i in info["issues"]] == [(3, "projects.a.dir"), (4, "projects.a.engine")]
    missing = run_module(fleet_info, {"fleet_file": str(tmp_path / "none.toml")})
    assert missing["failed"] and "cannot read fleet file" in missing["msg"]


def test_entry_sets_keeps_and_unsets_its_socket_check_diff_idempotent(run_module, tmp_path):
    path = str(tmp_path / "fleet.toml")
    base = {"fleet_file": path, "name": "scratch"}
    run_module(fleet_entry, dict(base, dir="/tmp/poe2e-scratch", engine="agent-orchestrator@v0.1.0"))
    without = open(path).read()
    planned = run_module(fleet_entry, dict(base, tmux_socket="ao-scratch", _ansible_check_mode=True, _ansible_diff=True))
    assert planned["changed"] and planned["entry"]["tmux_socket"] == "ao-scratch"
    assert planned["previous"]["tmux_socket"] is None
    assert 'tmux_socket = "ao-scratch"' in planned["diff"]["after"] and planned["diff"]["before"] == without
    assert open(path).read() == without, "check mode writes nothing"
    assert run_module(fleet_entry, dict(base, tmux_socket="ao-scratch"))["changed"]
    assert not run_module(fleet_entry, dict(base, tmux_socket="ao-scratch"))["changed"]
    assert not run_module(fleet_entry, dict(base, tmux_socket=""))["changed"], "blank is not given"
    assert not run_module(fleet_entry, dict(base, tmux_socket=None))["changed"]
    bad = run_module(fleet_entry, dict(base, tmux_socket="relative/tmux.sock"))
    assert bad["failed"] and "a socket path must be absolute" in bad["msg"]
    both = run_module(fleet_entry, dict(base, tmux_socket="ao-x", unset=["tmux_socket"]))
    assert both["failed"] and "cannot both set and unset tmux_socket" in both["msg"]
    assert 'tmux_socket = "ao-scratch"' in open(path).read()
    planned = run_module(fleet_entry, dict(base, unset=["tmux_socket"], _ansible_check_mode=True))
    assert planned["changed"] and planned["entry"]["tmux_socket"] is None
    unset = run_module(fleet_entry, dict(base, unset=["tmux_socket"]))
    assert unset["changed"] and unset["previous"]["tmux_socket"] == "ao-scratch"
    assert open(path).read() == without
    assert not run_module(fleet_entry, dict(base, unset=["tmux_socket"]))["changed"]


def test_info_reads_each_entrys_own_server(run_module, tmp_path, demo_project, tmux):
    """The project's agents.toml names one private server; its agent runs on another,
    named by the fleet entry: only the entry's socket finds it."""
    from conftest import PrivateTmux

    (tmp_path / "s2").mkdir()
    other = PrivateTmux(str(tmp_path / "s2" / "tmux.sock"))
    try:
        other.new("t-scratch-helper")
        path = str(tmp_path / "fleet.toml")
        entry = {"fleet_file": path, "name": "scratch", "dir": str(demo_project), "engine": "agent-orchestrator@v0.1.0"}
        run_module(fleet_entry, entry)
        info = run_module(fleet_info, {"fleet_file": path})
        assert info["projects"][0]["tmux_socket"] is None
        assert (info["projects"][0]["running"], info["projects"][0]["stopped"]) == (0, 4), "the agents.toml server"
        run_module(fleet_entry, dict(entry, tmux_socket=other.socket))
        info = run_module(fleet_info, {"fleet_file": path})
        assert info["projects"][0]["tmux_socket"] == other.socket
        assert (info["projects"][0]["running"], info["projects"][0]["stopped"]) == (1, 3)
        assert info["lines"][0] == "scratch [enabled] agent-orchestrator@v0.1.0 %s tmux_socket=%s running=1 stopped=3" % (
            demo_project, other.socket)
        assert set(tmux.sessions()) == set(), "the agents.toml server was only read"
    finally:
        other.kill_server()
