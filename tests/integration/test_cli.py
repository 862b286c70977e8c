# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``agents.py`` as operators run it: a subprocess, from a project folder, real tmux."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

from helpers import end_spawned, running, spawned, wait_for, write_spawner

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def agents_py(cwd, *args, script=os.path.join(REPO, "agents.py"), extra=()):
    return subprocess.run([sys.executable, *extra, script, *args], cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60, check=False)


def test_validate_ok_and_errors(demo_project):
    ok = agents_py(demo_project, "validate")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "agents.toml: OK — 4 agent(s), 0 phase(s)\n"
    (demo_project / "agents.toml").write_text('[agents.w]\nkind = "persistent"\nbackend = "nope"\n  typo = 1\n')
    bad = agents_py(demo_project, "validate")
    assert bad.returncode == 2
    assert bad.stdout == ""
    lines = bad.stderr.splitlines()
    assert lines[0].endswith("agents.toml:3:1: agents.w.backend: unknown backend 'nope' (known: aider, claude, "
                             "codex, demo)")
    assert "agents.toml:4:3: agents.w.typo: unknown key (known: answers, args, backend, backoff_max, builtin, " in lines[1]
    assert lines[1].endswith(", watch)")


def test_up_status_down_output(demo_project, tmux):
    up = agents_py(demo_project, "up")
    assert up.returncode == 0, up.stderr
    assert up.stdout.splitlines() == [
        "starting t-scratch-worker (demo, demo-1)",
        "starting t-scratch-helper",
        "starting watchdog",
    ]
    status = agents_py(demo_project, "status")
    assert status.returncode == 0
    assert status.stdout == (
        "AGENT     KIND        BACKEND  MODEL   WATCH  STATE\n"
        "worker    persistent  demo     demo-1  heal   RUNNING [sleep]\n"
        "helper    service     -        -       -      RUNNING\n"
        "spare     persistent  demo     -       none   stopped (disabled)\n"
        "watchdog  service     -        -       -      RUNNING\n")
    again = agents_py(demo_project, "up")
    assert not any(line.startswith("starting") for line in again.stdout.splitlines())
    down = agents_py(demo_project, "down")
    assert down.stdout == "killing t-scratch-worker\nkilling t-scratch-helper\nkilling t-scratch-watchdog\n"
    assert tmux.sessions() == {}
    assert agents_py(demo_project, "down").stdout == ""


SPAWNER = """
[project]
name = "tree"
session_prefix = "t-tree-"
tmux_socket = "{socket}"

[agents.spawner]
kind = "service"
command = {command}
"""


def test_down_ends_what_the_agent_left_running(tmp_path, tmux):
    project = tmp_path / "p"
    project.mkdir()
    command = write_spawner(tmp_path, sys.executable)
    (project / "agents.toml").write_text(SPAWNER.format(socket=tmux.socket, command='"%s"' % command))
    assert agents_py(project, "up").stdout == "starting t-tree-spawner\n"
    left = spawned(tmp_path)
    try:
        assert all(running(*found) for found in left.values())
        down = agents_py(project, "down")
        assert down.stdout == "killing t-tree-spawner\nended 3 leftover process(es) of t-tree-spawner\n", down.stderr
        assert wait_for(lambda: not any(running(*found) for found in left.values()), timeout=5), left
        assert tmux.sessions() == {}
        assert agents_py(project, "down").stdout == ""
    finally:
        end_spawned(left)


def test_an_agent_that_downs_itself_from_its_pane_still_ends_its_leftovers(tmp_path, tmux):
    """The hangup of its own terminal does not stop the engine halfway."""
    project = tmp_path / "p"
    project.mkdir()
    out, pid_file = tmp_path / "down.out", tmp_path / "child.pid"
    down = "%s %s down self" % (shlex.quote(sys.executable), shlex.quote(os.path.join(REPO, "agents.py")))
    command = ("nohup sleep 1003 >/dev/null 2>&1 & echo $! > %s.tmp; mv %s.tmp %s; sleep 0.5; %s > %s 2>&1; "
               "exec sleep 100000" % (pid_file, pid_file, pid_file, down, out))
    (project / "agents.toml").write_text(SPAWNER.replace("spawner", "self").format(
        socket=tmux.socket, command='"%s"' % command.replace('"', '\\"')))
    assert agents_py(project, "up").stdout == "starting t-tree-self\n"
    assert wait_for(pid_file.exists)
    pid = int(pid_file.read_text())
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import procs

    stat = procs.read_stat(pid)
    left = {"child": (pid, stat.start if stat else 0)}
    try:
        assert wait_for(lambda: out.exists() and "ended" in out.read_text(), timeout=15), \
            out.read_text() if out.exists() else "no output"
        assert out.read_text() == "killing t-tree-self\nended 1 leftover process(es) of t-tree-self\n"
        assert wait_for(lambda: not running(*left["child"]), timeout=5)
        assert wait_for(lambda: tmux.sessions() == {})
    finally:
        end_spawned(left)


def test_tmux_socket_override(demo_project, tmp_path, tmux):
    other = str(tmp_path / "s" / "other.sock")
    try:
        up = agents_py(demo_project, "--tmux-socket", other, "up", "helper")
        assert up.stdout == "starting t-scratch-helper\n"
        assert tmux.sessions() == {}
        assert "RUNNING" in agents_py(demo_project, "--tmux-socket=%s" % other, "status").stdout
    finally:
        subprocess.run(["tmux", "-S", other, "kill-server"], capture_output=True, check=False)


def test_usage_errors():
    assert agents_py(REPO, "--help").returncode == 0
    for args in ([], ["frobnicate"], ["--bogus", "status"], ["status", "extra"], ["--config"]):
        proc = agents_py(REPO, *args)
        assert proc.returncode == 2, args
        assert "agents.py: error:" in proc.stderr


def test_runs_as_engine_submodule_without_ansible(demo_project, tmux):
    """A project checkout: engine/ holds only the shim and the core; status must import
    neither Ansible nor libtmux (the read path stays light)."""
    engine_dir = demo_project / "engine"
    shutil.copytree(os.path.join(REPO, "plugins", "module_utils"), engine_dir / "plugins" / "module_utils",
                    ignore=shutil.ignore_patterns("__pycache__", "ansible_glue.py"))
    shutil.copy(os.path.join(REPO, "agents.py"), engine_dir / "agents.py")
    script = str(engine_dir / "agents.py")
    proc = agents_py(demo_project, "status", script=script, extra=("-X", "importtime"))
    assert proc.returncode == 0, proc.stderr
    imported = [line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")]
    assert "tomllib" in imported
    assert not [m for m in imported if m.split(".")[0] in ("ansible", "libtmux", "tomlkit")]
    # from a sub folder, the config beside the engine is found
    sub = demo_project / "docs"
    sub.mkdir()
    up = agents_py(sub, "up", "worker", script=script)
    assert up.stdout == "starting t-scratch-worker (demo, demo-1)\n", up.stderr
    assert "t-scratch-worker" in tmux.sessions()


def test_phase_commands(tmp_path):
    phases = "".join('[[phases]]\nname = "p%d"\nplan = "plan-%d.md"\n' % (i, i) for i in range(19))
    (tmp_path / "agents.toml").write_text(phases)
    assert agents_py(tmp_path, "phase", "show").stdout == "phase: p0 [1/19] plan=plan-0.md (in progress)\n"
    assert agents_py(tmp_path, "phase", "set", "18").stdout == "phase: p18 [19/19] plan=plan-18.md (in progress)\n"
    assert (tmp_path / "state" / "phase-idx").read_text() == "18\n"
    last = agents_py(tmp_path, "phase", "next")
    assert last.returncode == 1 and "already at the last phase (p18)" in last.stderr
    assert agents_py(tmp_path, "phase", "set", "p3").stdout.startswith("phase: p3 [4/19]")
    assert agents_py(tmp_path, "phase", "next").stdout.startswith("phase: p4 [5/19]")
    bad = agents_py(tmp_path, "phase", "set", "19")
    assert bad.returncode == 1 and "out of range" in bad.stderr
    assert (tmp_path / "state" / "phase-idx").read_text() == "4\n"
    assert agents_py(tmp_path, "phase").returncode == 2


def test_kickoff_command_prints_identical_prompts_for_two_configs(tmp_path):
    (tmp_path / "kickoffs").mkdir()
    (tmp_path / "kickoffs" / "builder.md").write_text("{{ agent }}/{{ phase }}: keep $(this) `as is` \"quoted\"\n")
    text = ('[[phases]]\nname = "poe2e"\nplan = "p.md"\n'
            '[agents.builder]\nkind = "loop"\nbackend = "claude"\nkickoff = "kickoffs/builder.md"\n')
    (tmp_path / "agents.toml").write_text(text)
    (tmp_path / "staged.toml").write_text(text)
    live = agents_py(tmp_path, "kickoff", "builder")
    staged = agents_py(tmp_path, "--config", "staged.toml", "kickoff", "builder")
    assert live.returncode == 0, live.stderr
    assert live.stdout == staged.stdout == "builder/poe2e: keep $(this) `as is` \"quoted\"\n"
    assert agents_py(tmp_path, "kickoff").returncode == 2
    assert "unknown agent" in agents_py(tmp_path, "kickoff", "ghost").stderr


def test_down_ends_what_a_crashed_agent_left_running(tmp_path, tmux):
    """No session any more (the agent exited), but a daemon it started runs on: down ends it."""
    project = tmp_path / "p"
    project.mkdir()
    pid_file = tmp_path / "daemon.pid"
    # the daemon writes its pid once it has its own session (so the pane's hangup cannot reach it);
    # the agent exits only then
    command = ("setsid -f sh -c 'echo $$ > %s.tmp && mv %s.tmp %s && exec sleep 1004' </dev/null >/dev/null 2>&1; "
               "while [ ! -e %s ]; do sleep 0.05; done; exit 3" % (pid_file, pid_file, pid_file, pid_file))
    (project / "agents.toml").write_text(SPAWNER.replace("spawner", "gone").replace(  # it crashes on purpose
        "[agents.", "confirm_seconds = 0\n\n[agents.").format(socket=tmux.socket, command='"%s"' % command))
    assert agents_py(project, "up").stdout == "starting t-tree-gone\n"
    assert wait_for(pid_file.exists) and wait_for(lambda: tmux.sessions() == {})
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import procs

    pid = int(pid_file.read_text())
    stat = procs.read_stat(pid)
    left = {"daemon": (pid, stat.start if stat else 0)}
    try:
        assert running(*left["daemon"])
        assert agents_py(project, "down").stdout == "ended 1 leftover process(es) of t-tree-gone\n"
        assert wait_for(lambda: not running(*left["daemon"]), timeout=5)
        assert agents_py(project, "down").stdout == ""
    finally:
        end_spawned(left)


def test_a_corrupt_phase_index_is_shown_and_repaired(tmp_path, tmux):
    """Garbage in state/phase-idx: status still prints the table (the phase header says
    what is wrong, exit 1), `phase show` and `phase next` refuse, `phase set` overwrites it."""
    from helpers import phased_agents

    project = tmp_path / "p"
    project.mkdir()
    (project / "agents.toml").write_text(phased_agents("corrupt").replace(
        '[project]\n', '[project]\ntmux_socket = "%s"\n' % tmux.socket, 1))
    (project / "state").mkdir()
    index = project / "state" / "phase-idx"
    table = ("AGENT   KIND        BACKEND  MODEL   WATCH  STATE\n"
             "worker  persistent  demo     demo-1  heal   stopped\n")
    for raw, why, target in ((b"soon\n", ":1:1: phase index must be a whole number, got 'soon'", "ship"),
                             (b"\xff\xfe7\n", ": not valid UTF-8 (byte 0): a corrupt file", "0")):
        index.write_bytes(raw)
        status = agents_py(project, "status")
        error = "%s%s; `phase set N|NAME` writes a good one" % (index, why)
        assert (status.returncode, status.stdout) == (1, "phase: ? [?/2] error: %s\n" % error + table), status.stderr
        assert status.stderr == "agents.py: error: %s\n" % error
        for step in ("show", "next"):
            refused = agents_py(project, "phase", step)
            assert refused.returncode == 1 and "Traceback" not in refused.stderr and why in refused.stderr
        repaired = agents_py(project, "phase", "set", target)
        assert repaired.returncode == 0, repaired.stderr
        assert index.read_text() == ("1\n" if target == "ship" else "0\n")
    status = agents_py(project, "status")
    assert (status.returncode, status.stdout) == (0, "phase: build [1/2] plan=plan-build.md (in progress)\n" + table)


def test_events_skips_bad_lines_and_reads_the_end_of_a_huge_log(tmp_path, tmux):
    """`events 3` on a 300 MB log (sparse: a hole, then a few lines) prints the last three
    good events; the lines that are not events are skipped."""
    import json

    project = tmp_path / "p"
    project.mkdir()
    (project / "agents.toml").write_text('[project]\ntmux_socket = "%s"\n\n[agents.w]\nkind = "persistent"\n'
                                         'backend = "demo"\n' % tmux.socket)
    (project / ".ao-state").mkdir()
    good = [json.dumps({"ts": "T%d" % i, "agent": "w", "event": "heal", "reason": "r", "outcome": "o"}).encode()
            for i in range(4)]
    with open(project / ".ao-state" / "events.jsonl", "wb") as handle:
        handle.truncate(300 << 20)
        handle.seek(0, os.SEEK_END)
        handle.write(b"\n" + b"\n".join([good[0], b"\xff{}", good[1], b"[1]", good[2], b"not json", good[3]]) + b"\n")
    events = agents_py(project, "events", "3")
    assert events.returncode == 0, events.stderr
    assert events.stdout == "".join("T%d w            heal     r -> o\n" % i for i in (1, 2, 3))


def test_validate_refuses_a_bin_that_ends_a_loop_and_a_kickoff_outside(tmp_path):
    """Both passed validate: the loop's every start died of ``done "$@"``, and /etc/passwd
    became a prompt."""
    (tmp_path / "agents.toml").write_text(
        '[backends.loopy]\nbin = "while true; do claude; done"\n\n'
        '[agents.a]\nkind = "loop"\nbackend = "loopy"\nkickoff = "../../../../../../etc/passwd"\n')
    proc = agents_py(tmp_path, "validate")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        "%s:2:1: backends.loopy.bin: ends with 'done', after which they would be a syntax error: the engine appends "
        "the arguments of agent 'a' after bin (the runner's \"$@\", args, the model); end bin with the command that "
        "takes them (a loop goes into a script, or into sh -c '...' sh)" % (tmp_path / "agents.toml"),
        "%s:7:1: agents.a.kickoff: '../../../../../../etc/passwd' is outside the project (it resolves to /etc/passwd): "
        "a kickoff must be a file inside %s, unless [project] allow_outside_kickoffs = true"
        % (tmp_path / "agents.toml", tmp_path)]
