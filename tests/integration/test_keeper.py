# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A persistent agent the watchdog heals runs under a keeper (sessions.keeper_command): on
private tmux servers, started as operators start it (agents.py up), its restart happens in
its own session, and without a watchdog it shows as ended until ``up`` starts it afresh."""

from __future__ import annotations

import os
import signal
import time

from helpers import engine_cli, engine_events, wait_for

CONFIG = """
[project]
session_prefix = "k-"
tmux_socket = "{socket}"

[backends.env]
bin = "exec sleep {seconds}"
prompt_delivery = "exec"

[agents.kept]
kind = "persistent"
backend = "env"
watch = "heal"
start_seconds = 0

[agents.plain]
kind = "persistent"
backend = "env"
watch = "none"

[backends.tty]
bin = "exec cat"
prompt_delivery = "exec"

[agents.reader]
kind = "persistent"
backend = "tty"
watch = "heal"
{watchdog}
"""
WATCHDOG = '\n[agents.watchdog]\nkind = "service"\nbuiltin = "watchdog"\n'


cli, events = engine_cli, engine_events


def make(tmp_path, tmux, watchdog=True, seconds=1000000):
    project = tmp_path / "p"
    project.mkdir(exist_ok=True)
    (project / "agents.toml").write_text(CONFIG.format(socket=tmux.socket, seconds=seconds,
                                                       watchdog=WATCHDOG if watchdog else ""))
    return project


def started(tmp_path, tmux):
    """A project with a watchdog, up: its kept agent running and the watchdog watching."""
    project = make(tmp_path, tmux)
    cli(project, "up")
    assert wait_for(lambda: running_sleep(tmux, "k-kept"))
    assert wait_for(lambda: any(e["event"] == "start" for e in events(project)))
    return project


def agent_of(tmux, name):
    """(the pane's pid, the pid of the agent in it): its keeper's child, or the pane's process."""
    info = tmux.sessions().get(name)
    if info is None:
        return None, None
    pid = info[2]
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
            kids = handle.read().split()
    except OSError:
        return pid, None
    with open("/proc/%d/cmdline" % pid, "rb") as handle:
        kept = os.path.basename(handle.read().split(b"\0")[0]) == b"agentloops-keeper"
    return pid, (int(kids[0]) if kids else None) if kept else pid


def environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as handle:
        return dict(item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item)


def running_sleep(tmux, name):
    pane, agent = agent_of(tmux, name)
    return agent if agent and tmux.sessions()[name][3] == "sleep" else None


def test_a_killed_agent_is_restarted_in_its_own_session_with_the_environment_of_any_other(tmp_path, tmux):
    project = make(tmp_path, tmux)
    assert cli(project, "up").returncode == 0
    assert wait_for(lambda: running_sleep(tmux, "k-kept") and running_sleep(tmux, "k-plain"))
    assert wait_for(lambda: any(e["event"] == "start" for e in events(project)))
    sid, created, pane = tmux.sessions()["k-kept"][:3]
    agent = running_sleep(tmux, "k-kept")
    assert agent != pane, "the agent is its keeper's child"
    # the same environment as an agent without a keeper, but for what names the agent, its session and pane
    own = ("AGENTLOOPS_AGENT", "TMUX", "TMUX_PANE", "_")
    kept, plain = environ(agent), environ(running_sleep(tmux, "k-plain"))
    assert {k: v for k, v in kept.items() if k.decode() not in own} == \
        {k: v for k, v in plain.items() if k.decode() not in own}
    assert kept[b"AGENTLOOPS_AGENT"] == b"kept" and plain[b"AGENTLOOPS_AGENT"] == b"plain"
    os.kill(agent, signal.SIGKILL)
    assert wait_for(lambda: running_sleep(tmux, "k-kept") not in (None, agent))
    assert tmux.sessions()["k-kept"][:3] == (sid, created, pane), "the same session and pane process"
    assert wait_for(lambda: any(e["event"] == "heal" for e in events(project)))
    (heal,) = [e for e in events(project) if e["event"] == "heal"]
    assert (heal["agent"], heal["in_pane"], heal["outcome"]) == ("kept", True, "restarted")
    line = [x for x in cli(project, "status").stdout.splitlines() if x.startswith("kept")][0]
    assert line.split()[-3:] == ["RUNNING", "[sleep]", "restarts=1"]
    screen = tmux.run("capture-pane", "-p", "-t", "=k-kept:").stdout
    assert "exit status" not in screen, "the screen was cleared for the new run"


def test_ctrl_c_reaches_the_agent_alone_and_its_keeper_runs_it_again(tmp_path, tmux):
    started(tmp_path, tmux)
    pane, agent = agent_of(tmux, "k-kept")
    tmux.run("send-keys", "-t", "=k-kept:", "C-c")
    assert wait_for(lambda: running_sleep(tmux, "k-kept") not in (None, agent))
    assert agent_of(tmux, "k-kept")[0] == pane, "its keeper lives on"


def test_without_a_watchdog_an_ended_agent_shows_exited_and_up_starts_it_afresh(tmp_path, tmux):
    project = make(tmp_path, tmux, watchdog=False)
    cli(project, "up")
    assert wait_for(lambda: running_sleep(tmux, "k-kept"))
    sid = tmux.sessions()["k-kept"][0]
    os.kill(running_sleep(tmux, "k-kept"), signal.SIGKILL)
    assert wait_for(lambda: tmux.sessions()["k-kept"][3] == "agentloops-keeper")
    line = [x for x in cli(project, "status").stdout.splitlines() if x.startswith("kept")][0]
    assert line.split()[-1] == "EXITED"
    screen = tmux.run("capture-pane", "-p", "-t", "=k-kept:").stdout
    assert "the agent ended, waiting for the watchdog: exit status 137" in screen
    time.sleep(1.0)
    assert tmux.sessions()["k-kept"][3] == "agentloops-keeper", "nobody else tells it to run"
    up = cli(project, "up")
    assert up.returncode == 0, up.stderr
    assert wait_for(lambda: running_sleep(tmux, "k-kept"))
    assert tmux.sessions()["k-kept"][0] != sid, "a session of its own again"
    assert [x for x in cli(project, "status").stdout.splitlines() if x.startswith("kept")][0].split()[-2:] == [
        "RUNNING", "[sleep]"]


def test_a_restart_in_its_session_runs_what_agents_toml_says_now(tmp_path, tmux):
    project = started(tmp_path, tmux)
    agent = running_sleep(tmux, "k-kept")
    make(tmp_path, tmux, seconds=2000000)  # the backend changed: the watchdog reads agents.toml again
    assert wait_for(lambda: any(e["event"] == "reload" for e in events(project)), timeout=20)
    os.kill(agent, signal.SIGKILL)
    assert wait_for(lambda: running_sleep(tmux, "k-kept") not in (None, agent))
    with open("/proc/%d/cmdline" % running_sleep(tmux, "k-kept"), "rb") as handle:
        assert handle.read().split(b"\0")[:2] == [b"sleep", b"2000000"]


def test_down_ends_an_agent_under_its_keeper(tmp_path, tmux):
    project = make(tmp_path, tmux)
    cli(project, "up")
    assert wait_for(lambda: running_sleep(tmux, "k-kept"))
    pane, agent = agent_of(tmux, "k-kept")
    assert cli(project, "down").returncode == 0
    assert wait_for(lambda: not os.path.exists("/proc/%d" % agent) and not os.path.exists("/proc/%d" % pane))


def test_an_agent_stopped_by_sigstop_stays_stopped_until_continued_and_is_not_healed(tmp_path, tmux):
    """``cat`` reads its terminal: continued in the background, its first read stops it again
    (SIGTTIN), so its keeper must be told to give it the foreground back."""
    project = started(tmp_path, tmux)
    assert wait_for(lambda: tmux.sessions()["k-reader"][3] == "cat")
    pane, agent = agent_of(tmux, "k-reader")
    os.kill(agent, signal.SIGSTOP)
    try:
        assert wait_for(lambda: tmux.sessions()["k-reader"][3] == "agentloops-keeper")
        assert "the agent was stopped (SIGSTOP)" in tmux.run("capture-pane", "-p", "-t", "=k-reader:").stdout
        line = [x for x in cli(project, "status").stdout.splitlines() if x.startswith("reader")][0]
        assert line.endswith("STOPPED (SIGSTOP)"), line
        assert "starting" not in cli(project, "up").stdout, "up leaves a stopped agent as it is"
        time.sleep(2.5)  # longer than the watchdog's poll: a stopped agent is alive, not healed
        assert not [e for e in events(project) if e["event"] == "heal"]
        assert agent_of(tmux, "k-reader") == (pane, agent)
    finally:
        os.kill(agent, signal.SIGCONT)
    # continued: its keeper gives it the foreground again (the watchdog tells it so)
    assert wait_for(lambda: tmux.sessions()["k-reader"][3] == "cat", timeout=15)
    assert agent_of(tmux, "k-reader") == (pane, agent)
    tmux.run("send-keys", "-t", "=k-reader:", "-l", "typed-after-the-stop")
    tmux.run("send-keys", "-t", "=k-reader:", "Enter")
    assert wait_for(lambda: tmux.run("capture-pane", "-p", "-t", "=k-reader:").stdout.count("typed-after-the-stop") == 2)
    os.kill(agent, signal.SIGKILL)
    assert wait_for(lambda: agent_of(tmux, "k-reader")[1] not in (None, agent))
    assert agent_of(tmux, "k-reader")[0] == pane


def test_ctrl_z_does_not_stop_an_agent_under_its_keeper(tmp_path, tmux):
    project = make(tmp_path, tmux)
    cli(project, "up")
    assert wait_for(lambda: running_sleep(tmux, "k-kept"))
    pane, agent = agent_of(tmux, "k-kept")
    tmux.run("send-keys", "-t", "=k-kept:", "C-z")
    time.sleep(1.0)
    with open("/proc/%d/stat" % agent) as handle:
        assert handle.read().rsplit(")", 1)[1].split()[0] != "T", "it goes on, as without a keeper"
    assert agent_of(tmux, "k-kept") == (pane, agent) and tmux.sessions()["k-kept"][3] == "sleep"


def test_an_agent_killed_while_stopped_is_healed_and_its_next_stop_and_continue_work_alike(tmp_path, tmux):
    """Its keeper's job numbers stay as they were (a finished job is freed): the agent run again
    is job 1, which a continue gives the foreground back to, not a leftover of the poll."""
    started(tmp_path, tmux)
    assert wait_for(lambda: tmux.sessions()["k-reader"][3] == "cat")
    pane, agent = agent_of(tmux, "k-reader")
    os.kill(agent, signal.SIGSTOP)
    assert wait_for(lambda: tmux.sessions()["k-reader"][3] == "agentloops-keeper")
    time.sleep(1.5)  # a poll or two of the keeper
    os.kill(agent, signal.SIGKILL)
    assert wait_for(lambda: agent_of(tmux, "k-reader")[1] not in (None, agent), timeout=15)
    assert wait_for(lambda: tmux.sessions()["k-reader"][3] == "cat")
    again = agent_of(tmux, "k-reader")[1]
    os.kill(again, signal.SIGSTOP)
    assert wait_for(lambda: tmux.sessions()["k-reader"][3] == "agentloops-keeper")
    time.sleep(1.5)
    os.kill(again, signal.SIGCONT)
    assert wait_for(lambda: tmux.sessions()["k-reader"][3] == "cat", timeout=15)
    assert agent_of(tmux, "k-reader") == (pane, again)
