# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""live_snapshot: evidence of a live system on a private tmux server, and its comparison."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import wait_for

from ansible_collections.agentloops.orchestrator.plugins.module_utils import procs, snapshot
from ansible_collections.agentloops.orchestrator.plugins.modules import live_snapshot

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
    assert snapshot.summary(before) == "6 files, 4 sessions, 1 watchdog"  # no configs: watchdog sessions
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
    assert any(d.startswith("watchdog sessions cc-ci-@") and d.endswith("1 -> 0")
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
    assert third["unchanged"] is False and third["untouched"] is False
    assert third["differences"] == ["session cc-ci-orchestrator on tmux server -S %s: gone" % tmux.socket]
    assert third["touched"] == third["differences"] and third["changed_during"] == []


LIVE = """\
[project]
name = "cc-ci"
session_prefix = "cc-ci-"
tmux_socket = "{socket}"
log_dir = "logs"

[[phases]]
name = "build"
plan = "plan-build.md"

[[phases]]
name = "ship"
plan = "plan-ship.md"

[agents.worker]
kind = "persistent"
backend = "demo"
kickoff = "kickoff.md"
watch = "heal"
"""


@pytest.fixture
def running_live(tmp_path, tmux):
    """A live project started by hand: its worker in tmux (under the runner, with a kickoff),
    its agents.py a symlink to the engine, its watchdog in the foreground (no session)."""
    live = tmp_path / "live"
    live.mkdir()
    (live / "agents.toml").write_text(LIVE.format(socket=tmux.socket))
    (live / "kickoff.md").write_text("Work on {{ phase }}.\n")
    (live / "agents.py").symlink_to(os.path.join(REPO, "agents.py"))
    cli = [sys.executable, str(live / "agents.py"), "--config", str(live / "agents.toml")]
    subprocess.run(cli + ["up"], check=True, capture_output=True, stdin=subprocess.DEVNULL)
    with open(tmp_path / "watchdog.out", "w") as out:
        watchdog = subprocess.Popen(cli + ["watchdog"], stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
    config = str(live / "agents.toml")
    assert wait_for(lambda: procs.watchdogs_of(config) == [watchdog.pid])
    assert wait_for(lambda: (live / "state" / "worker.run.json").exists() and (live / "logs" / "events.jsonl").exists())
    yield live, watchdog
    if watchdog.poll() is None:
        watchdog.kill()
    watchdog.wait()


def cover(live, tmux, since=None):
    return snapshot.take(servers=[tmux.socket], prefixes=["cc-ci-"], configs=[str(live / "agents.toml")], since=since)


def test_no_touch_has_no_blind_spot(running_live, tmux, tmp_path):
    live, watchdog = running_live
    first = cover(live, tmux)
    assert snapshot.summary(first).endswith("1 sessions, 1 watchdog"), "a foreground watchdog is a process"
    assert snapshot.judge(first, cover(live, tmux, since=first))["touched"] == []
    (tmp_path / "other.py").write_text("print('another engine')\n")

    def repoint():
        os.symlink(tmp_path / "other.py", live / "agents.py.new")
        os.replace(live / "agents.py.new", live / "agents.py")

    touches = [
        ("state/worker.stopped", lambda: (live / "state" / "worker.stopped").write_text("stopped by an operator\n")),
        ("state/worker.watch.json", lambda: (live / "state" / "worker.watch.json").write_text('{"state": "FATAL"}\n')),
        ("kickoff.md", lambda: (live / "kickoff.md").write_text("Do something else.\n")),
        ("agents.py", repoint),
        ("agents.toml", lambda: (watchdog.kill(), watchdog.wait())),  # the processes of that config
    ]
    for rel, touch in touches:
        before = cover(live, tmux)
        touch()
        touched = snapshot.judge(before, cover(live, tmux, since=before))["touched"]
        assert any(str(live / rel) in line for line in touched), (rel, touched)
    assert touched == ["watchdog processes of %s: 1 -> 0 (pid@start %d@%d -> none)"
                       % (live / "agents.toml", watchdog.pid, int(first["projects"][str(live / "agents.toml")]
                                                                  ["watchdog_pids"][0].partition("@")[2]))]


def test_a_heal_during_the_check_is_changed_during_the_check(running_live, tmux):
    live, _watchdog = running_live
    before = cover(live, tmux)
    old = tmux.identities()["cc-ci-worker"]
    tmux.run("kill-session", "-t", "=cc-ci-worker")
    assert wait_for(lambda: tmux.identities().get("cc-ci-worker", old) != old, timeout=20)
    assert wait_for(lambda: '"heal"' in (live / "logs" / "events.jsonl").read_text())
    assert wait_for(lambda: tmux.sessions()["cc-ci-worker"][3] == "sleep")
    verdict = snapshot.judge(before, cover(live, tmux, since=before))
    assert verdict["touched"] == [], verdict
    session = [line for line in verdict["live"] if line.startswith("session cc-ci-worker ")]
    assert len(session) == 1 and "; changed during the check: " in session[0]
    assert " worker heal: session gone (restarted)" in session[0]
