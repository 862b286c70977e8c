# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os

from ansible_collections.agentloops.orchestrator.plugins.modules import engine_pin, project_scaffold


def test_scaffold_check_diff_then_create_then_idempotent(run_module, tmp_path, engine_repo, tmux):
    args = {"project_dir": str(tmp_path / "p"), "engine_repo": engine_repo, "engine_ref": "v0.1.0",
            "session_prefix": "pp-", "tmux_socket": tmux.socket}
    planned = run_module(project_scaffold, dict(args, _ansible_check_mode=True, _ansible_diff=True))
    assert planned["changed"] and planned["diff"]["before"] == ""
    assert 'session_prefix = "pp-"' in planned["diff"]["after"]
    assert planned["tracked_files"] == [".gitignore", ".gitmodules", "agents.toml", "engine"]
    assert not (tmp_path / "p").exists()
    created = run_module(project_scaffold, args)
    assert created["changed"] and created["tracked_files"] == [".gitignore", ".gitmodules", "agents.toml", "engine"]
    assert created["engine"]["pin"] == "agent-orchestrator@v0.1.0"
    again = run_module(project_scaffold, dict(args, _ansible_diff=True))
    assert again["changed"] is False
    assert again["diff"]["before"] == again["diff"]["after"]


def test_scaffold_bad_input(run_module, tmp_path, engine_repo):
    missing_repo = run_module(project_scaffold, {"project_dir": str(tmp_path / "p")})
    assert missing_repo["failed"] and "engine_repo" in missing_repo["msg"]
    relative = run_module(project_scaffold, {"project_dir": "rel/p", "engine_repo": engine_repo})
    assert relative["failed"] and "absolute path" in relative["msg"]
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("mine")
    absent = run_module(project_scaffold, {"project_dir": str(plain), "state": "absent"})
    assert absent["failed"] and "not a project scaffolded by agentloops.orchestrator" in absent["msg"]
    assert (plain / "notes.txt").read_text() == "mine"
    assert sorted(os.listdir(tmp_path)) == ["plain"]


def test_engine_pin_bad_input(run_module, tmp_path, engine_repo, tmux):
    not_project = run_module(engine_pin, {"project_dir": str(tmp_path), "engine_ref": "v0.1.0"})
    assert not_project["failed"] and "is not a project scaffolded" in not_project["msg"]
    run_module(project_scaffold, {"project_dir": str(tmp_path / "p"), "engine_repo": engine_repo,
                                  "engine_ref": "v0.1.0", "tmux_socket": tmux.socket})
    bad_ref = run_module(engine_pin, {"project_dir": str(tmp_path / "p"), "engine_ref": "nope"})
    assert bad_ref["failed"] and "ref 'nope' not found" in bad_ref["msg"]
    same = run_module(engine_pin, {"project_dir": str(tmp_path / "p"), "engine_ref": "v0.1.0", "_ansible_diff": True})
    assert same["changed"] is False and same["old"] == same["new"]


def test_scaffold_absent_keeps_work_git_does_not_hold_unless_forced(run_module, tmp_path, engine_repo, tmux):
    project = tmp_path / "p"
    run_module(project_scaffold, {"project_dir": str(project), "engine_repo": engine_repo, "engine_ref": "v0.1.0",
                                  "tmux_socket": tmux.socket})
    (project / "NOTES.md").write_text("mine")
    args = {"project_dir": str(project), "state": "absent"}
    refused = run_module(project_scaffold, args)
    assert refused["failed"] and "it would be lost: ?? NOTES.md;" in refused["msg"]
    preflight = run_module(project_scaffold, dict(args, preflight=True, force=True))
    assert (preflight["changed"], preflight["removed"], preflight["discarded"]) == (False, False, ["?? NOTES.md"])
    planned = run_module(project_scaffold, dict(args, force=True, _ansible_check_mode=True))
    assert planned["changed"] and planned["discarded"] == ["?? NOTES.md"]
    assert (project / "NOTES.md").read_text() == "mine"
    forced = run_module(project_scaffold, dict(args, force=True))
    assert forced["changed"] and forced["removed"] and not project.exists()
    again = run_module(project_scaffold, dict(args, preflight=True))
    assert (again["changed"], again["before"], again["discarded"]) == (False, "absent", [])
