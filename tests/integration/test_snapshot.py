# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""live_snapshot: evidence of a live system on a private tmux server, and its comparison."""

from __future__ import annotations

import json
import os

from ansible_collections.agentloops.orchestrator.plugins.module_utils import snapshot
from ansible_collections.agentloops.orchestrator.plugins.modules import live_snapshot


def live_system(tmp_path, tmux):
    live = tmp_path / "live"
    (live / "state").mkdir(parents=True)
    (live / "agents.toml").write_text("[project]\n")
    (live / "agents.py").write_text("print('live')\n")
    (live / "state" / "phase-idx").write_text("18\n")
    (live / "state" / "orchestrator.resume-id").write_text("abc\n")
    (live / "state" / "notes.txt").write_text("not state\n")
    os.mkfifo(live / "state" / "control.fifo")  # must be recorded, never opened
    for name in ("cc-ci-orchestrator", "cc-ci-builder", "cc-ci-watchdog", "other-x"):
        tmux.new(name)
    return live


def take(live, tmux):
    return snapshot.take(files=[str(live / "agents.toml"), str(live / "agents.py")], folders=[str(live / "state")],
                         servers=[tmux.socket], prefixes=["cc-ci-"], state_dirs=[str(live / "state")])


def test_identical_when_untouched(tmp_path, tmux):
    live = live_system(tmp_path, tmux)
    before = take(live, tmux)
    json.dumps(before)  # plain data
    assert snapshot.summary(before) == "6 files, 4 sessions, 1 watchdog"
    assert before["files"][str(live / "state" / "control.fifo")]["type"] == "fifo"
    assert before["state"] == {str(live / "state" / "orchestrator.resume-id"): "abc\n",
                               str(live / "state" / "phase-idx"): "18\n"}
    assert snapshot.compare(before, take(live, tmux)) == []


def test_every_kind_of_touch_is_a_difference(tmp_path, tmux):
    live = live_system(tmp_path, tmux)
    before = take(live, tmux)
    (live / "agents.toml").write_text("[project]\nname = 'x'\n")
    (live / "state" / "phase-idx").write_text("17\n")
    os.chmod(live / "agents.py", 0o755)
    tmux.run("kill-session", "-t", "=cc-ci-builder")
    tmux.new("cc-ci-builder")
    tmux.new("cc-ci-watchdog2")
    diffs = snapshot.compare(before, take(live, tmux))
    text = "\n".join(diffs)
    assert "file %s: changed" % (live / "agents.toml") in text
    assert "file %s: changed" % (live / "agents.py") in text and "mode 755" in text
    assert "state file %s: changed ('18' -> '17')" % (live / "state" / "phase-idx") in text
    assert "session cc-ci-builder on tmux server -S %s: changed" % tmux.socket in text
    assert "session cc-ci-watchdog2 on tmux server -S %s: new" % tmux.socket in text
    tmux.run("kill-session", "-t", "=cc-ci-watchdog")
    assert any(d.startswith("watchdogs cc-ci-@") and d.endswith("1 -> 0")
               for d in snapshot.compare(before, take(live, tmux)))


def test_module_compares_in_check_mode(run_module, tmp_path, tmux):
    live = live_system(tmp_path, tmux)
    args = {"files": [str(live / "agents.toml")], "state_dirs": [str(live / "state")],
            "tmux_servers": [tmux.socket], "prefixes": ["cc-ci-"], "_ansible_check_mode": True}
    first = run_module(live_snapshot, args)
    assert first["changed"] is False and first["unchanged"] is None
    assert first["summary"] == "1 files, 4 sessions, 1 watchdog"
    second = run_module(live_snapshot, dict(args, compare_to=first["snapshot"]))
    assert second["unchanged"] is True and second["differences"] == []
    tmux.run("kill-session", "-t", "=cc-ci-orchestrator")
    third = run_module(live_snapshot, dict(args, compare_to=first["snapshot"]))
    assert third["unchanged"] is False
    assert third["differences"] == ["session cc-ci-orchestrator on tmux server -S %s: gone" % tmux.socket]
