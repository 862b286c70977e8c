# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmuxproc.Spawned: a read waited for twice gives one answer (no tmux here: Python itself runs)."""

from __future__ import annotations

import os
import sys

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import tmuxproc


def test_a_read_waited_for_twice_gives_the_same_answer():
    read = tmuxproc.Spawned([sys.executable, "-c", "import sys; print('out'); sys.stderr.write('err'); sys.exit(3)"])
    first = read.wait()
    assert first == (3, "out\n", "err")
    assert read.wait() is first, "the quick status path and the engine's share one read"


def test_a_failed_wait_fails_the_same_way_again_without_touching_its_closed_pipes(monkeypatch):
    read = tmuxproc.Spawned([sys.executable, "-c", "pass"])
    real_waitpid = os.waitpid

    def lost(pid, options):
        real_waitpid(pid, options)  # reaped here: the read's own waitpid finds no child
        raise ChildProcessError(10, "No child processes")

    monkeypatch.setattr(os, "waitpid", lost)
    with pytest.raises(ChildProcessError):
        read.wait()
    monkeypatch.undo()

    def never(*_args):
        raise AssertionError("a closed pipe was opened again")

    monkeypatch.setattr(tmuxproc, "open", never, raising=False)
    with pytest.raises(ChildProcessError):
        read.wait()


def test_a_pane_whose_keeper_waits_is_dead_and_waiting_one_running_its_agent_is_neither():
    line = "w\t$4\t1700000000\t0\t0\t%%9\t4242\t%s\t0\t\t1700000099\t/p/agents.toml\t\t\t0123abcd\t\n"
    (waiting,) = tmuxproc.parse_panes(line % tmuxproc.KEEPER)["w"].panes
    assert (waiting.dead, waiting.waiting, waiting.dead_status) == (True, True, None)
    (running,) = tmuxproc.parse_panes(line % "sleep")["w"].panes
    assert (running.dead, running.waiting) == (False, False)
    tmux_dead = (line % tmuxproc.KEEPER).replace("\t0\t\t1700000099", "\t1\t137\t1700000099")
    (gone,) = tmuxproc.parse_panes(tmux_dead)["w"].panes
    assert (gone.dead, gone.waiting, gone.dead_status) == (True, False, 137), "tmux's own dead pane: its keeper ended"
