# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""procs.watchdog_pids against a fake /proc: which processes run a project's watchdog."""

from __future__ import annotations

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config, procs


def fake_process(proc, pid, argv, cwd=None):
    folder = proc / str(pid)
    folder.mkdir(parents=True)
    (folder / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    if cwd is not None:
        (folder / "cwd").symlink_to(cwd)


def test_watchdogs_of_this_config_only(tmp_path):
    project_dir = tmp_path / "p"
    project_dir.mkdir()
    (project_dir / "agents.toml").write_text("")
    other = tmp_path / "other"
    other.mkdir()
    project = config.load(str(project_dir / "agents.toml"))
    proc = tmp_path / "proc"
    engine = str(project_dir / "engine" / "agents.py")
    fake_process(proc, 30, ["python3", engine, "--config", str(project_dir / "agents.toml"), "watchdog"])
    fake_process(proc, 7, ["python3", "agents.py", "watchdog"], cwd=project_dir)  # ./agents.toml
    fake_process(proc, 12, ["python3", engine, "--config=agents.toml", "watchdog"], cwd=project_dir)
    fake_process(proc, 40, ["python3", engine, "watchdog"], cwd=other)  # another project
    fake_process(proc, 41, ["python3", engine, "status"], cwd=project_dir)  # not a watchdog
    fake_process(proc, 42, ["vim", "watchdog"], cwd=project_dir)  # not the engine
    fake_process(proc, 43, ["python3", engine, "watchdog"])  # its cwd is unreadable (gone)
    (proc / "self").mkdir()
    (proc / "99").mkdir()  # exited meanwhile: no cmdline
    assert procs.watchdog_pids(project, str(proc)) == [7, 12, 30]


def test_no_proc_means_no_watchdogs(tmp_path):
    (tmp_path / "agents.toml").write_text("")
    project = config.load(str(tmp_path / "agents.toml"))
    assert procs.watchdog_pids(project, str(tmp_path / "missing")) == []
