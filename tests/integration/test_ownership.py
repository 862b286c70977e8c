# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who owns a session, exactly, on real tmux (private sockets, the demo backend): another
project's session is a conflict, an agent removed from agents.toml leaves an orphan that
``down`` stops, a moved project or a symlinked agents.toml keeps its sessions, an untagged
session is stopped only when adopted, and a second copy on another server is refused."""

from __future__ import annotations

import os
import subprocess

from test_cli import agents_py
from test_playbooks import playbook

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config
from ansible_collections.agentloops.orchestrator.plugins.modules import agent_session

TWO = ("worker", "helper")


def twin_of(demo_project, tmp_path):
    """Another project with the same prefix on the same server (two folders, one basename)."""
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "agents.toml").write_text((demo_project / "agents.toml").read_text())
    return twin


def test_another_projects_session_is_a_conflict_and_up_fails_after_starting_the_others(demo_project, tmux,
                                                                                       tmp_path, run_module):
    twin = twin_of(demo_project, tmp_path)
    assert agents_py(twin, "up", "worker").returncode == 0
    owned = tmux.identities()
    up = agents_py(demo_project, "up", *TWO)
    assert up.returncode == 1, up.stdout + up.stderr
    assert up.stdout.splitlines()[0] == "starting t-scratch-helper"
    assert up.stderr == "agents.py: error: worker not started: session t-scratch-worker is owned by %s\n" % (
        os.path.realpath(twin / "agents.toml"))
    status = agents_py(demo_project, "status").stdout.splitlines()
    assert status[1] == "worker    persistent  demo     demo-1  heal   conflict (owned by %s)" % (
        os.path.realpath(twin / "agents.toml"))
    result = run_module(agent_session, {"config": str(demo_project / "agents.toml"), "agents": list(TWO)})
    assert result["failed"] and "worker not started: session t-scratch-worker is owned by" in result["msg"]
    assert [a["conflict"] for a in result["agents"]] == [os.path.realpath(twin / "agents.toml"), ""]
    assert agents_py(demo_project, "down").returncode == 0
    assert tmux.identities() == owned, "down never kills another project's session"


def test_an_agent_removed_from_the_config_is_an_orphan_that_down_stops(demo_project, tmux):
    assert agents_py(demo_project, "up", *TWO).returncode == 0
    config = demo_project / "agents.toml"
    text = config.read_text()
    config.write_text(text.replace('[agents.helper]\nkind = "service"\ncommand = "exec sleep 100000"\n', ""))
    assert "helper" not in config.read_text()
    status = agents_py(demo_project, "status")
    assert status.stdout.splitlines()[-1] == "orphan  t-scratch-helper  (no longer in agents.toml)"
    assert status.stdout.splitlines()[0].startswith("AGENT ") and len(status.stdout.splitlines()) == 5
    down = agents_py(demo_project, "down")
    assert down.stdout == "killing t-scratch-worker\nkilling t-scratch-helper (no longer in agents.toml)\n"
    assert tmux.sessions() == {}


def test_a_moved_project_and_a_symlinked_config_keep_their_sessions(demo_project, tmux, tmp_path):
    assert agents_py(demo_project, "up", *TWO).returncode == 0
    moved = tmp_path / "moved"
    os.rename(demo_project, moved)
    status = agents_py(moved, "status").stdout
    assert "conflict" not in status and status.count("RUNNING") == 2, status
    elsewhere = tmp_path / "configs"
    elsewhere.mkdir()
    os.rename(moved / "agents.toml", elsewhere / "agents.toml")
    os.symlink(elsewhere / "agents.toml", moved / "agents.toml")
    assert agents_py(moved, "up").stdout == "starting watchdog\n", "worker and helper still run"
    down = agents_py(moved, "down")
    assert down.returncode == 0 and tmux.sessions() == {}, down.stdout


def test_down_leaves_an_untagged_session_unless_adopted(demo_project, tmux, tmp_path):
    tmux.new("t-scratch-worker")  # a hand-run system's session of the same name
    hand = tmux.identities()
    up = agents_py(demo_project, "up", "worker")
    assert up.returncode == 0 and up.stdout == "" and tmux.identities() == hand, "up counts it as running"
    down = agents_py(demo_project, "down")
    assert down.stdout.startswith("skipping t-scratch-worker: session t-scratch-worker was not started by an engine")
    assert tmux.identities() == hand
    proc, _recap = playbook("teardown", project_dir=str(demo_project), tmux_socket=tmux.socket)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert tmux.identities() == hand, "teardown leaves it too"
    proc, _recap = playbook("teardown", project_dir=str(demo_project), tmux_socket=tmux.socket, adopt_untagged="true")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert tmux.sessions() == {}
    tmux.new("t-scratch-worker")
    assert agents_py(demo_project, "down", "--adopt").stdout == "killing t-scratch-worker\n"
    assert tmux.sessions() == {}


def test_a_socket_override_does_not_start_a_second_copy(demo_project, tmux, tmp_path, run_module):
    other = str(tmp_path / "s" / "other.sock")
    try:
        assert agents_py(demo_project, "up", "helper").returncode == 0
        up = agents_py(demo_project, "--tmux-socket", other, "up", "helper")
        assert up.returncode == 1 and up.stdout == ""
        assert "scratch already runs on tmux server %s (t-scratch-helper): refusing" % tmux.socket in up.stderr
        result = run_module(agent_session, {"project_dir": str(demo_project), "tmux_socket": other,
                                            "agents": ["helper"]})
        assert result["failed"] and "already runs on tmux server %s" % tmux.socket in result["msg"]
        assert not os.path.exists(other), "nothing started on the other server"
        assert agents_py(demo_project, "down").returncode == 0
        moved = agents_py(demo_project, "--tmux-socket", other, "up", "helper")
        assert moved.returncode == 0 and moved.stdout == "starting t-scratch-helper\n", "once stopped it may move"
        assert agents_py(demo_project, "up", "helper").returncode == 1, "and now the first server is the other one"
    finally:
        subprocess.run(["tmux", "-S", other, "kill-server"], capture_output=True, check=False)


def test_the_cutover_adopts_a_hand_run_live_system(tmp_path, engine_repo, tmux):
    """The live system's sessions were started by hand (no owner tag): §2 plans to stop them
    (it adopts them), so the check run's plan leaves zero sessions with the live prefix."""
    agents = tmp_path / "agents.toml"
    agents.write_text('[agents.worker]\nkind = "persistent"\nbackend = "demo"\n')
    project = str(tmp_path / "managed")
    proc, _recap = playbook("scaffold", project_dir=project, engine_repo=engine_repo, engine_ref="v0.1.0",
                            agents_config=str(agents), tmux_socket=tmux.socket)
    assert proc.returncode == 0, proc.stdout
    live = tmp_path / "live"
    live.mkdir()
    (live / "agents.toml").write_text(open(os.path.join(project, "agents.toml"), encoding="utf-8").read())
    prefix = config.load(str(live / "agents.toml")).session_prefix
    tmux.new(prefix + "worker")
    hand = tmux.identities()
    proc, _recap = playbook("cutover", "--check", project_dir=project, live_config=str(live / "agents.toml"),
                            tmux_socket=tmux.socket, evidence_dir=str(tmp_path / "ev"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "§2 would stop 1 sessions: %sworker" % prefix in proc.stdout
    assert tmux.identities() == hand
