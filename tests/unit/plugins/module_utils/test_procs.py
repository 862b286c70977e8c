# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""procs against a fake /proc: which processes run a project's watchdog, which belong to an
agent; and ending processes (real child processes, no tmux)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

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


def fake_stat(proc, pid, ppid, state="S", start=None, comm="sh", environ=None):
    folder = proc / str(pid)
    folder.mkdir(parents=True)
    start = 1000 + pid if start is None else start
    rest = [state, str(ppid)] + ["0"] * 17 + [str(start), "0", "0"]
    (folder / "stat").write_bytes(("%d (%s) %s\n" % (pid, comm, " ".join(rest))).encode())
    if environ is not None:
        (folder / "environ").write_bytes(b"".join(b"%s=%s\0" % (k.encode(), v.encode()) for k, v in environ.items()))


def identity(config_path, agent, **more):
    return dict({"HOME": "/home/x", "AGENTLOOPS_CONFIG": str(config_path), "AGENTLOOPS_AGENT": agent}, **more)


def test_stat_fields_follow_the_last_parenthesis(tmp_path):
    fake_stat(tmp_path, 7, 3, state="R", start=4242, comm="a) (b c")
    assert procs.read_stat(7, str(tmp_path)) == procs.ProcStat(7, 3, "R", 4242)
    (tmp_path / "8").mkdir()
    (tmp_path / "8" / "stat").write_bytes(b"8 (x) S 1 2")
    assert procs.read_stat(8, str(tmp_path)) is None, "too few fields"
    assert procs.read_stat(9, str(tmp_path)) is None, "gone"


def test_environ_is_split_on_nul(tmp_path):
    fake_stat(tmp_path, 5, 1, environ={"A": "1=2", "B": ""})
    assert procs.read_environ(5, str(tmp_path)) == {b"A": b"1=2", b"B": b""}
    assert procs.read_environ(6, str(tmp_path)) is None


def test_an_agents_processes_are_its_pane_tree_and_what_carries_its_identity(tmp_path):
    cfg = str(tmp_path / "p" / "agents.toml")
    proc = tmp_path / "proc"
    fake_stat(proc, 1, 0, comm="init", environ={})
    fake_stat(proc, 50, 1, comm="tmux: server", environ=identity(cfg, "a"))  # started from a's pane
    fake_stat(proc, 100, 50, environ=identity(cfg, "a"))  # a's pane
    fake_stat(proc, 101, 100, comm="env -i child", environ={})  # scrubbed its environment
    fake_stat(proc, 102, 101, environ={})
    fake_stat(proc, 103, 100, state="Z", environ=identity(cfg, "a"))  # exited, not reaped
    fake_stat(proc, 200, 1, comm="codex app-server", environ=identity(cfg, "a"))  # setsid away
    fake_stat(proc, 300, 50, environ=identity(cfg, "b"))  # another agent of the project
    fake_stat(proc, 301, 300, environ={})
    fake_stat(proc, 400, 1, environ=identity(str(tmp_path / "q" / "agents.toml"), "a"))  # another project
    fake_stat(proc, 500, 1, environ={"AGENTLOOPS_AGENT": "a"})  # no config: not this project's
    fake_stat(proc, 600, 1, environ={})  # a pane pid reused by an unrelated process
    fake_stat(proc, 601, 600, environ={})
    found = procs.agent_processes(cfg, "a", roots=[100, 600], proc_root=str(proc), me=1)
    assert found == {100: 1100, 101: 1101, 102: 1102, 200: 1200}, "the tmux server (50) is spared"
    assert procs.agent_processes(cfg, "a", proc_root=str(proc), me=1) == {100: 1100, 200: 1200}, "no roots"
    assert procs.agent_processes(cfg, "b", roots=[300], proc_root=str(proc), me=1) == {300: 1300, 301: 1301}
    assert procs.agent_processes(cfg, "a", roots=[100], proc_root=str(proc), uid=os.getuid() + 1, me=1) == {}


def test_the_caller_and_its_ancestors_are_spared(tmp_path):
    cfg = str(tmp_path / "agents.toml")
    proc = tmp_path / "proc"
    fake_stat(proc, 100, 1, environ=identity(cfg, "a"))  # the pane: runs the agent
    fake_stat(proc, 101, 100, environ=identity(cfg, "a"))  # its shell tool
    fake_stat(proc, 102, 101, environ=identity(cfg, "a"))  # agents.py down a: the caller
    fake_stat(proc, 103, 102, environ=identity(cfg, "a"))  # the caller's own child (tmux client)
    fake_stat(proc, 104, 100, environ=identity(cfg, "a"))  # a sibling tool
    assert procs.agent_processes(cfg, "a", roots=[100], proc_root=str(proc), me=102) == {103: 1103, 104: 1104}


def test_a_config_named_through_a_symlink_is_the_same_config(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "agents.toml").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    proc = tmp_path / "proc"
    fake_stat(proc, 10, 1, environ=identity(tmp_path / "link" / "agents.toml", "a"))
    assert procs.agent_processes(str(tmp_path / "real" / "agents.toml"), "a", proc_root=str(proc), me=1) == {10: 1010}


def _started(argv):
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, start_new_session=True)
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    stat = procs.read_stat(child.pid)
    assert stat is not None
    return child, stat.start


def test_end_processes_terminates_then_kills_and_counts():
    polite, polite_start = _started(["sh", "-c", "echo ready; exec sleep 1000"])
    stubborn, stubborn_start = _started([sys.executable, "-c", "import signal, time; "
                                         "signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
                                         "time.sleep(1000)"])
    try:
        began = time.monotonic()
        assert procs.end_processes({polite.pid: polite_start, stubborn.pid: stubborn_start},
                                   grace=0.5, settle=0.1) == 2
        assert polite.wait(5) == -signal.SIGTERM
        assert stubborn.wait(5) == -signal.SIGKILL
        assert time.monotonic() - began >= 0.5, "SIGKILL only after the grace"
    finally:
        for child in (polite, stubborn):
            if child.poll() is None:
                child.kill()
                child.wait()


def test_end_processes_leaves_a_reused_pid_and_the_gone_alone():
    child, start = _started(["sh", "-c", "echo ready; exec sleep 1000"])
    try:
        assert procs.end_processes({child.pid: start + 1}, grace=0.1, settle=0.1) == 0
        assert child.poll() is None, "another start time: another process, not signalled"
        gone = subprocess.Popen(["true"])
        gone.wait()
        assert procs.end_processes({gone.pid: 0}, grace=0.1, settle=0.1) == 0
    finally:
        child.kill()
        child.wait()


def test_the_agent_of_a_pane_is_its_process_or_the_child_its_keeper_runs(tmp_path):
    proc = tmp_path / "proc"
    fake_process(proc, 10, ["/p/state/agentloops-keeper", "-c", "loop"])
    (proc / "10" / "task" / "10").mkdir(parents=True)
    (proc / "10" / "task" / "10" / "children").write_text("11 ")
    fake_process(proc, 20, ["/p/state/agentloops-keeper", "-c", "loop"])
    (proc / "20" / "task" / "20").mkdir(parents=True)
    (proc / "20" / "task" / "20" / "children").write_text("")
    fake_process(proc, 30, ["claude", "--model", "x"])
    assert procs.kept_agent(10, str(proc)) == 11
    assert procs.kept_agent(20, str(proc)) is None, "a keeper between two runs of its agent"
    assert procs.kept_agent(30, str(proc)) == 30
    assert procs.kept_agent(40, str(proc)) == 40, "gone: whether it lives is the caller's to tell"
