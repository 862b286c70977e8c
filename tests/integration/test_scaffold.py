# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scaffolding projects with real git: the pinned engine, idempotence, cold clones, removal."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import engine, scaffold
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError, OrchestratorError


def make(tmp_path, engine_repo, tmux, name="scratch", **extra):
    options = dict(engine_repo=engine_repo, engine_ref="v0.1.0", project_name="scratch-e2e",
                   session_prefix="poe2e-scratch-", tmux_socket=tmux.socket)
    options.update(extra)
    return engine.scaffold_project(str(tmp_path / name), **options)


def test_scaffold_tracks_exactly_four_files_and_pins_the_tag(tmp_path, engine_repo, tmux, git_run):
    result = make(tmp_path, engine_repo, tmux)
    project = tmp_path / "scratch"
    assert result["changed"] is True
    assert result["tracked_files"] == [".gitignore", ".gitmodules", "agents.toml", "engine"]
    tag_commit = git_run("rev-parse", "v0.1.0^{commit}", cwd=engine_repo)
    assert result["engine"] == {"repo": engine_repo, "ref": "v0.1.0", "commit": tag_commit,
                                "pin": "agent-orchestrator@v0.1.0"}
    assert git_run("rev-parse", "HEAD:engine", cwd=project) == tag_commit
    assert git_run("rev-list", "--count", "HEAD", cwd=project) == "1"
    assert git_run("status", "--porcelain", cwd=project) == ""
    # agents.toml: the engine's example with name, prefix and socket edited in place
    example = open(os.path.join(engine_repo, "agents.example.toml")).read()
    written = (project / "agents.toml").read_text()
    expected = (example.replace('name = "cc-ci"', 'name = "scratch-e2e"')
                .replace('session_prefix = "cc-ci-"', 'session_prefix = "poe2e-scratch-"')
                .replace('tmux_socket = ""', 'tmux_socket = "%s"' % tmux.socket))
    assert written == expected
    assert (project / ".gitignore").read_text().splitlines()[1:] == ["/state/", "/.ao-state/", "__pycache__/"]


def test_scaffold_is_idempotent_and_never_overwrites(tmp_path, engine_repo, tmux):
    make(tmp_path, engine_repo, tmux)
    agents = tmp_path / "scratch" / "agents.toml"
    agents.write_text(agents.read_text() + "# operator edit\n")
    again = make(tmp_path, engine_repo, tmux)
    assert again["changed"] is False
    assert agents.read_text().endswith("# operator edit\n")


def test_check_mode_creates_nothing_and_shows_agents_toml(tmp_path, engine_repo, tmux):
    result = make(tmp_path, engine_repo, tmux, check_mode=True)
    assert result["changed"] is True
    assert 'session_prefix = "poe2e-scratch-"' in result["after_text"]
    assert result["before_text"] == ""
    assert not (tmp_path / "scratch").exists()


def test_cold_clone_runs_status(tmp_path, engine_repo, tmux):
    make(tmp_path, engine_repo, tmux, agents_config=None)
    clone = tmp_path / "cold"
    subprocess.run(["git", "-c", "protocol.file.allow=always", "clone", "-q", "--recurse-submodules",
                    str(tmp_path / "scratch"), str(clone)], check=True, capture_output=True)
    proc = subprocess.run([sys.executable, "engine/agents.py", "status"], cwd=clone, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "phase: rcust [1/2] plan=plan-phase-rcust.md (in progress)"
    assert lines[1].split() == ["AGENT", "KIND", "BACKEND", "MODEL", "WATCH", "STATE"]
    assert lines[2].split() == ["orchestrator", "persistent", "claude", "claude-opus-4-8", "heal", "stopped"]
    assert len(lines) == 10


# The refusals made before git is asked anything are unit tests (tests/unit/plugins/module_utils/test_scaffold.py).
@pytest.mark.parametrize("case", ["badref", "badconfig", "norepo"])
def test_bad_input_creates_nothing(tmp_path, engine_repo, tmux, case):
    target = tmp_path / "p"
    options = dict(engine_repo=engine_repo, engine_ref="v0.1.0", tmux_socket=tmux.socket)
    if case == "badref":
        options["engine_ref"] = "v9.9.9"
    elif case == "badconfig":
        bad = tmp_path / "bad.toml"
        bad.write_text('[agents.x]\nkind = "sometimes"\nbackend = "demo"\n')
        options["agents_config"] = str(bad)
    elif case == "norepo":
        options["engine_repo"] = str(tmp_path / "missing")
    listing = sorted(os.listdir(tmp_path))
    with pytest.raises((OrchestratorError, ConfigError)) as info:
        engine.scaffold_project(str(target), **options)
    message = str(info.value)
    assert {"badref": "ref 'v9.9.9' not found", "badconfig": "bad.toml:2:1: agents.x.kind",
            "norepo": "does not exist"}[case] in message
    assert sorted(os.listdir(tmp_path)) == listing


def test_remove_only_scaffolded_projects_whose_agents_are_down(tmp_path, engine_repo, tmux):
    # a folder that is not a scaffolded project, and /, ~ or a relative path: unit tests
    demo = tmp_path / "demo.toml"
    demo.write_text('[agents.worker]\nkind = "persistent"\nbackend = "demo"\n')
    make(tmp_path, engine_repo, tmux, agents_config=str(demo))
    project_dir = str(tmp_path / "scratch")
    project, server = engine.open_project(os.path.join(project_dir, "agents.toml"))
    engine.converge(project, server, [], "started")
    with pytest.raises(OrchestratorError, match="still run \\(poe2e-scratch-worker\\)"):
        engine.scaffold_project(project_dir, "absent")
    engine.converge(project, server, [], "stopped")
    planned = engine.scaffold_project(project_dir, "absent", check_mode=True)
    assert planned["changed"] and os.path.isdir(project_dir)
    assert engine.scaffold_project(project_dir, "absent")["changed"]
    assert not os.path.exists(project_dir)
    assert not engine.scaffold_project(project_dir, "absent")["changed"]


def test_pin_engine_moves_and_commits(tmp_path, engine_repo, tmux, git_run):
    make(tmp_path, engine_repo, tmux)
    project = str(tmp_path / "scratch")
    old = git_run("rev-parse", "v0.1.0^{commit}", cwd=engine_repo)
    git_run("commit", "-q", "--allow-empty", "-m", "next", cwd=engine_repo)
    git_run("tag", "v0.2.0", cwd=engine_repo)
    new = git_run("rev-parse", "v0.2.0^{commit}", cwd=engine_repo)
    try:
        planned = scaffold.pin_engine(project, "v0.2.0", check_mode=True)
        assert (planned["old"], planned["new"], planned["changed"]) == (old, new, True)
        assert git_run("rev-parse", "HEAD:engine", cwd=project) == old
        moved = scaffold.pin_engine(project, "v0.2.0")
        assert moved["changed"] and git_run("rev-parse", "HEAD:engine", cwd=project) == new
        subject = git_run("log", "-1", "--format=%s", cwd=project)
        assert subject == "Move engine pin %s -> %s (v0.2.0)" % (old[:12], new[:12])
        assert git_run("status", "--porcelain", cwd=project) == ""
        assert not scaffold.pin_engine(project, "v0.2.0")["changed"]
    finally:
        git_run("tag", "-d", "v0.2.0", cwd=engine_repo)
        git_run("reset", "-q", "--hard", "v0.1.0", cwd=engine_repo)


def test_a_folder_name_tmux_would_mangle_gets_a_safe_prefix(tmp_path, engine_repo, tmux):
    result = engine.scaffold_project(str(tmp_path / "my.proj v2"), engine_repo=engine_repo, engine_ref="v0.1.0",
                                     tmux_socket=tmux.socket)
    assert result["changed"] and result["session_prefix"] == "my-proj-v2-"


@pytest.mark.parametrize("case", ["untracked", "staged", "edited", "engine-file", "engine-commit"])
def test_removal_refuses_work_git_does_not_hold(tmp_path, engine_repo, tmux, git_run, case):
    make(tmp_path, engine_repo, tmux)
    project = tmp_path / "scratch"
    if case == "untracked":
        (project / "notes").mkdir()
        (project / "notes" / "NOTES.md").write_text("mine")
        shown = "?? notes/NOTES.md"
    elif case == "staged":
        (project / "plan.md").write_text("mine")
        git_run("add", "plan.md", cwd=project)
        shown = "A  plan.md"
    elif case == "edited":
        with open(project / "agents.toml", "a") as handle:
            handle.write("# operator edit\n")
        shown = " M agents.toml"
    elif case == "engine-file":
        (project / "engine" / "patch.py").write_text("mine")
        shown = "?? engine/patch.py"
    else:
        git_run("commit", "-q", "--allow-empty", "-m", "local fix", cwd=project / "engine")
        shown = " M engine (new commits)"
    before = sorted(str(p) for p in project.rglob("*") if ".git" not in p.parts)
    with pytest.raises(OrchestratorError) as info:
        engine.scaffold_project(str(project), "absent")
    assert "refusing to remove %s: git does not hold this work, it would be lost: %s;" % (project, shown) \
        in str(info.value)
    with pytest.raises(OrchestratorError):
        engine.scaffold_project(str(project), "absent", check_mode=True)
    assert sorted(str(p) for p in project.rglob("*") if ".git" not in p.parts) == before
    forced = engine.scaffold_project(str(project), "absent", force=True)
    assert forced["removed"] and forced["discarded"] == [shown] and not project.exists()


def test_removal_skips_what_the_engine_writes_even_outside_gitignore(tmp_path, engine_repo, tmux, git_run):
    # state and logs moved after scaffolding: .gitignore no longer names them, the engine still wrote them
    demo = tmp_path / "demo.toml"
    demo.write_text('[agents.worker]\nkind = "persistent"\nbackend = "demo"\n')
    make(tmp_path, engine_repo, tmux, agents_config=str(demo))
    project = tmp_path / "scratch"
    text = (project / "agents.toml").read_text().replace("[project]", '[project]\nstate_dir = "run/st"\n'
                                                         'log_dir = "run/logs"', 1)
    (project / "agents.toml").write_text(text)
    git_run("commit", "-q", "-am", "move state", cwd=project)
    agents, server = engine.open_project(str(project / "agents.toml"))
    engine.converge(agents, server, [], "started")
    engine.converge(agents, server, [], "stopped")
    assert os.listdir(project / "run" / "st")  # the stopped marker, the env file
    assert "?? run/" in git_run("status", "--porcelain", cwd=project)
    result = engine.scaffold_project(str(project), "absent")
    assert result["removed"] and result["discarded"] == [] and not project.exists()


def test_a_symlinked_project_dir_is_refused_unless_forced(tmp_path, engine_repo, tmux):
    make(tmp_path, engine_repo, tmux)
    project, link = tmp_path / "scratch", tmp_path / "current"
    link.symlink_to(project)
    with pytest.raises(OrchestratorError, match="refusing to remove %s: it is a symbolic link to %s" % (link, project)):
        engine.scaffold_project(str(link), "absent")
    assert (project / "agents.toml").exists() and link.is_symlink()
    forced = engine.scaffold_project(str(link), "absent", force=True)
    assert forced["removed"] and forced["link_target"] == str(project)
    assert not project.exists() and not os.path.lexists(link)


def test_the_collections_own_engine_is_stored_once_and_pinned(tmp_path, engine_repo, tmux, git_run):
    """No engine_repo: the collection's engine files are committed into a store, tagged
    v<version>, reproducibly; the project pins the store; the same version with other files
    is refused."""
    store = str(tmp_path / "store")
    options = dict(engine_source=engine_repo, engine_store=store, tmux_socket=tmux.socket)
    planned = engine.scaffold_project(str(tmp_path / "a"), check_mode=True, **options)
    assert planned["changed"] and not os.path.exists(store) and not (tmp_path / "a").exists()
    first = engine.scaffold_project(str(tmp_path / "a"), **options)
    assert first["engine_store"]["changed"] is True
    tag = git_run("rev-parse", "v0.1.0^{commit}", cwd=store)
    assert first["engine"] == {"repo": store, "ref": "v0.1.0", "commit": tag, "pin": "store@v0.1.0"}
    assert git_run("rev-parse", "HEAD:engine", cwd=str(tmp_path / "a")) == tag
    files = git_run("ls-files", cwd=store).splitlines()
    assert "agents.py" in files and "kickoffs/builder.md" in files and "profiles/claude.toml" in files
    assert not [f for f in files if f.startswith(("tests/", "roles/")) or "__pycache__" in f]
    second = engine.scaffold_project(str(tmp_path / "b"), **options)
    assert second["engine_store"]["changed"] is False and second["engine"]["commit"] == tag
    other = engine.scaffold_project(str(tmp_path / "c"), engine_source=engine_repo, engine_store=str(tmp_path / "s2"))
    assert other["engine"]["commit"] == tag  # the same files make the same commit anywhere
    # the project's engine runs the example's kickoffs as shipped
    rendered = subprocess.run([sys.executable, str(tmp_path / "a" / "engine" / "agents.py"), "kickoff", "builder"],
                              cwd=str(tmp_path / "a"), capture_output=True, text=True, check=False)
    assert rendered.returncode == 0 and "builder of project a" in rendered.stdout, rendered.stderr
    with open(os.path.join(engine_repo, "kickoffs", "builder.md"), "a") as handle:
        handle.write("changed\n")
    try:
        with pytest.raises(OrchestratorError, match="already has v0.1.0 with other files"):
            engine.scaffold_project(str(tmp_path / "d"), **options)
        assert not (tmp_path / "d").exists()
    finally:
        git_run("checkout", "-q", "--", "kickoffs/builder.md", cwd=engine_repo)
