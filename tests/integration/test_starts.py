# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Batched starts against a real tmux server (private socket): ``up`` of many agents is a
few tmux invocations (counted by a ``tmux`` first in PATH that logs each call), every
session tagged and its environment exact; a session of an agent's name made by hand just
before the batch reaches it is that agent's error, the others start."""

from __future__ import annotations

import os
import shutil
import stat

import pytest
from helpers import wait_for

from ansible_collections.agentloops.orchestrator.plugins.module_utils import engine, sessions
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import TmuxSessionExists

COUNT = 60


@pytest.fixture
def counted(tmp_path, monkeypatch):
    """A ``tmux`` first in PATH that appends its arguments (one line per invocation) to a
    log, then runs the real one; the log's path."""
    real = shutil.which("tmux")
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "tmux-calls.log"
    wrapper = folder / "tmux"
    wrapper.write_text('#!/bin/sh\nprintf "%%s\\n" "$*" >> %s\nexec %s "$@"\n' % (log, real))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", "%s:%s" % (folder, os.environ["PATH"]))
    return log


def many_agents(folder, socket, out):
    text = '[project]\nname = "many"\nsession_prefix = "m-"\ntmux_socket = "%s"\n' % socket
    for i in range(COUNT):
        text += ('\n[agents.a%02d]\nkind = "service"\ncommand = "env > %s/a%02d.env; exec sleep 100000"\n'
                 '[agents.a%02d.env]\nWHO = "agent %02d; it\'s $(not run)"\n' % (i, out, i, i, i))
    (folder / "agents.toml").write_text(text)
    return str(folder / "agents.toml")


def calls(log):
    return log.read_text().splitlines() if log.exists() else []


def test_up_of_many_agents_is_a_few_tmux_calls_each_session_tagged_and_its_environment_exact(
        tmp_path, tmux, counted, monkeypatch):
    monkeypatch.setenv("AWX_SECRET_X", "s3cret")
    out = tmp_path / "out"
    out.mkdir()
    project, server = engine.open_project(many_agents(tmp_path, tmux.socket, out))
    reported = []
    result = engine.converge(project, server, None, "started", report=reported.append)
    assert [a.session for a in reported] == ["m-a%02d" % i for i in range(COUNT)]
    starts = [c for c in calls(counted) if "new-session" in c]
    assert sum(c.count("new-session -d -P") for c in starts) == COUNT
    assert len(starts) <= COUNT // 8, "%d tmux calls started %d sessions" % (len(starts), COUNT)
    assert len(calls(counted)) <= len(starts) + 6  # the reads, the confirmation's read and its one write
    live = server.sessions()
    ids = {a.session: a.session_id for a in result.actions}
    assert {n: s.id for n, s in live.items()} == ids
    project_id = sessions.read_project_id(project)
    for name, sess in live.items():
        assert (sess.owner, sess.project_id) == (os.path.realpath(project.config_path), project_id), name
        remain = tmux.run("show-options", "-wv", "-t", sess.id + ":", "remain-on-exit").stdout.strip()
        assert remain == "off", name  # confirmed: it stays on only until confirm read the panes
    assert wait_for(lambda: all((out / ("a%02d.env" % i)).exists() and "PWD=" in (out / ("a%02d.env" % i)).read_text()
                                for i in range(COUNT)))
    for i in range(COUNT):
        seen = dict(line.split("=", 1) for line in (out / ("a%02d.env" % i)).read_text().splitlines() if "=" in line)
        agent = project.agent("a%02d" % i)
        expected = sessions.environment_for(project, agent, server=server)
        assert {k: seen.get(k) for k in expected} == expected
        assert seen["WHO"] == "agent %02d; it's $(not run)" % i and "AWX_SECRET_X" not in seen
        shown = tmux.run("show-environment", "-t", "=m-a%02d" % i).stdout
        assert "AGENTLOOPS_AGENT=a%02d\n" % i in shown and "WHO=" not in shown


def test_a_session_made_by_hand_before_the_batch_reaches_it_is_that_agents_error(tmp_path, tmux, counted):
    """tmux stops the chained list at the duplicate: the sessions before it exist, the rest
    are started by the next call; up raises the duplicate, naming that agent, after the
    others started (and were confirmed); the hand-made session is left alone."""
    out = tmp_path / "out"
    out.mkdir()
    project, server = engine.open_project(many_agents(tmp_path, tmux.socket, out))
    real = server.start_many

    def meanwhile(specs):
        tmux.new("m-a05")  # someone else's, made after up read the server
        return real(specs)

    server.start_many = meanwhile
    with pytest.raises(TmuxSessionExists, match="cannot start session m-a05: duplicate session: m-a05"):
        engine.converge(project, server, None, "started")
    live = server.sessions()
    assert sorted(live) == ["m-a%02d" % i for i in range(COUNT)]
    hand = live["m-a05"]
    assert not hand.tagged and tmux.sessions()["m-a05"][3] == "sleep"
    assert all(s.owned_by(sessions.owner_of(project)) for n, s in live.items() if n != "m-a05")
    batches = [c for c in calls(counted) if "new-session -d -P" in c]  # the engine's (the hand-made one has no -P)
    assert len(batches) <= COUNT // 8 + 1, "one more call: the one that went on after the duplicate"
    assert "AGENTLOOPS_AGENT=a05\n" not in tmux.run("show-environment", "-t", "=m-a05").stdout


def test_a_mass_heal_starts_every_dead_agent_in_one_batch(tmp_path, tmux, counted):
    import signal

    from ansible_collections.agentloops.orchestrator.plugins.module_utils import watchdog

    text = '[project]\nname = "heal"\nsession_prefix = "h-"\ntmux_socket = "%s"\n' % tmux.socket
    text += "".join('\n[agents.a%02d]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal"\nstart_seconds = 0\n' % i
                    for i in range(30))
    (tmp_path / "agents.toml").write_text(text)
    project, server = engine.open_project(str(tmp_path / "agents.toml"))
    engine.converge(project, server, None, "started")
    before = {n: s.first_pane.pid for n, s in server.sessions().items()}
    dog = watchdog.Watchdog(project, server)
    assert dog.check() == []
    counted.write_text("")
    for pid in before.values():
        os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not any(os.path.exists("/proc/%d" % pid) for pid in before.values()))
    events = dog.check()
    assert sorted(e["agent"] for e in events if e["event"] == "heal") == ["a%02d" % i for i in range(30)]
    assert len([c for c in calls(counted) if "new-session -d -P" in c]) <= 3  # their keepers were killed too
    after = server.sessions()
    assert sorted(after) == sorted(before) and all(after[n].first_pane.pid != before[n] for n in before)
    assert all(s.owned_by(sessions.owner_of(project)) for s in after.values())
