# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""snapshot: taking files and state from a temp folder, and comparing two snapshots (no tmux)."""

from __future__ import annotations

import copy
import json
import os

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config, snapshot

BEFORE = {
    "files": {"/p/agents.toml": {"sha256": "a" * 64, "size": 10, "mode": "644"},
              "/p/old": {"sha256": "b" * 64, "size": 1, "mode": "644"}},
    "state": {"/p/state/phase-idx": "3\n"},
    "tmux": {"/tmp/s.sock": {"w-a": {"id": "$1", "created": 100, "panes": [{"id": "%1", "pid": 10, "command": "sh"}]},
                             "w-b": {"id": "$2", "created": 100, "panes": [{"id": "%2", "pid": 11, "command": "sh"}]}}},
    "watchdog_sessions": {"w-@tmux server -S /tmp/s.sock": 1},
}


def test_identical_snapshots_have_no_differences():
    assert snapshot.compare(BEFORE, copy.deepcopy(BEFORE)) == []


def test_a_panes_command_is_not_compared():
    after = copy.deepcopy(BEFORE)
    after["tmux"]["/tmp/s.sock"]["w-a"]["panes"][0]["command"] = "git"
    assert snapshot.compare(BEFORE, after) == []


def test_every_kind_of_difference_in_order():
    after = copy.deepcopy(BEFORE)
    del after["files"]["/p/old"]
    after["files"]["/p/new"] = {"missing": True}
    after["files"]["/p/agents.toml"] = {"sha256": "c" * 64, "size": 12, "mode": "600"}
    after["state"]["/p/state/phase-idx"] = "4\n"
    after["tmux"]["/tmp/s.sock"]["w-b"]["panes"][0]["pid"] = 12
    del after["tmux"]["/tmp/s.sock"]["w-a"]
    after["tmux"]["/tmp/s.sock"]["w-c"] = {"id": "$3", "created": 200, "panes": []}
    after["watchdog_sessions"]["w-@tmux server -S /tmp/s.sock"] = 2
    assert snapshot.compare(BEFORE, after) == [
        "file /p/agents.toml: changed (sha256 aaaaaaaaaaaa… 10 bytes mode 644 -> sha256 cccccccccccc… 12 bytes "
        "mode 600)",
        "file /p/new: new",
        "file /p/old: gone",
        "state file /p/state/phase-idx: changed ('3' -> '4')",
        "session w-a on tmux server -S /tmp/s.sock: gone",
        "session w-b on tmux server -S /tmp/s.sock: changed (id, created, panes ('$2', 100, (('%2', 11),)) -> "
        "('$2', 100, (('%2', 12),)))",
        "session w-c on tmux server -S /tmp/s.sock: new",
        "watchdog sessions w-@tmux server -S /tmp/s.sock: 1 -> 2",
    ]


def test_a_missing_file_and_a_server_that_went_away():
    after = copy.deepcopy(BEFORE)
    after["files"]["/p/old"] = {"missing": True}
    after["tmux"] = {}
    assert snapshot.compare(BEFORE, after) == [
        "file /p/old: changed (sha256 bbbbbbbbbbbb… 1 bytes mode 644 -> missing)",
        "session w-a on tmux server -S /tmp/s.sock: gone",
        "session w-b on tmux server -S /tmp/s.sock: gone",
    ]


def test_take_files_and_state_without_servers(tmp_path):
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "f").write_text("x")
    (tmp_path / "tree" / "link").symlink_to("sub/f")
    state = tmp_path / "state"
    state.mkdir()
    (state / "phase-idx").write_text("2\n")
    (state / "w.resume-id").write_text("id\n")
    (state / "w.run.json").write_text("{}")
    snap = snapshot.take(files=[str(tmp_path / "nope")], folders=[str(tmp_path / "tree"), str(tmp_path / "gone")],
                         state_dirs=[str(state), str(tmp_path / "nostate")])
    assert sorted(snap) == ["files", "projects", "state", "taken", "tmux", "watchdog_sessions", "watchdogs"]
    files = snap["files"]
    assert files[str(tmp_path / "nope")] == {"missing": True}
    assert files[str(tmp_path / "gone") + "/"] == {"missing": True}
    assert files[str(tmp_path / "tree" / "link")]["link"] == "sub/f"
    assert files[str(tmp_path / "tree" / "link")]["target"] == str(tmp_path / "tree" / "sub" / "f")
    assert files[str(tmp_path / "tree" / "sub" / "f")]["size"] == 1
    assert snap["state"] == {str(state / "phase-idx"): "2\n", str(state / "w.resume-id"): "id\n",
                             str(tmp_path / "nostate") + "/": None}
    assert (snap["tmux"], snap["watchdogs"], snap["watchdog_sessions"]) == ({}, {}, {})
    assert snapshot.summary(snap) == "4 files, 0 sessions, 0 watchdogs"
    assert snapshot.compare(snap, snapshot.take(files=[str(tmp_path / "nope")], folders=[str(tmp_path / "tree"),
                            str(tmp_path / "gone")], state_dirs=[str(state), str(tmp_path / "nostate")])) == []


LIVE = """\
[project]
name = "live"
session_prefix = "cc-ci-"
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


def live_project(tmp_path):
    """A live project's files (no tmux): config, state, logs, a kickoff, a symlinked agents.py."""
    live = tmp_path / "live"
    (live / "state").mkdir(parents=True)
    (live / "logs").mkdir()
    (live / "agents.toml").write_text(LIVE)
    (live / "kickoff.md").write_text("Work on {{ phase }}.\n")
    (tmp_path / "engine-a").mkdir()
    (tmp_path / "engine-a" / "agents.py").write_text("print('a')\n")
    (live / "agents.py").symlink_to(tmp_path / "engine-a" / "agents.py")
    (live / "state" / "phase-idx").write_text("0\n")
    (live / "state" / "worker.watch.json").write_text('{"state": "ok"}\n')
    (live / "state" / "worker.env").write_text("export A=1\n")
    (live / "state" / ".engine.lock").write_text("")
    (live / "logs" / "worker.log").write_text("start\n")
    log_event(live, "worker", "heal", "session gone", "restarted")
    return live


def log_event(live, agent, kind, reason, outcome):
    with open(live / "logs" / "events.jsonl", "a") as handle:
        record = {"ts": "T", "agent": agent, "event": kind, "reason": reason, "outcome": outcome}
        handle.write(json.dumps(record) + "\n")


def cover(live, since=None):
    return snapshot.take(configs=[str(live / "agents.toml")], since=since)


def test_a_project_is_covered_whole(tmp_path):
    live = live_project(tmp_path)
    (live / "state" / "notes.txt").write_text("any file of the state folder\n")
    snap = cover(live)
    for rel in ("agents.toml", "kickoff.md", "agents.py", "state/phase-idx", "state/worker.watch.json",
                "state/worker.env", "state/.engine.lock", "state/notes.txt", "logs/events.jsonl", "logs/worker.log"):
        assert str(live / rel) in snap["files"], rel
    assert snap["files"][str(live / "agents.py")]["target"] == str(tmp_path / "engine-a" / "agents.py")
    assert snap["projects"][str(live / "agents.toml")]["prefix"] == "cc-ci-"
    assert snap["watchdogs"] == {str(live / "agents.toml"): 0}
    json.dumps(snap)
    assert snapshot.judge(snap, cover(live, since=snap)) == {"touched": [], "live": []}


def test_the_parsed_config_cache_of_status_is_not_recorded(tmp_path):
    """status (``config.load(cached=True)``) writes the cache in the state folder: derived
    from agents.toml, it is no touch of the live system."""
    live = live_project(tmp_path)
    before = cover(live)
    config.load(str(live / "agents.toml"), cached=True)
    assert (live / "state" / ".agents.toml.parsed").exists()
    after = cover(live, since=before)
    assert str(live / "state" / ".agents.toml.parsed") not in after["files"]
    assert snapshot.judge(before, after) == {"touched": [], "live": []}


def test_each_touch_without_an_event_is_touched(tmp_path):
    live = live_project(tmp_path)
    touches = {
        "state/worker.stopped": lambda: (live / "state" / "worker.stopped").write_text("stopped by an operator\n"),
        "state/worker.watch.json": lambda: (live / "state" / "worker.watch.json").write_text('{"state": "FATAL"}\n'),
        "kickoff.md": lambda: (live / "kickoff.md").write_text("Do something else.\n"),
        "state/phase-idx": lambda: (live / "state" / "phase-idx").write_text("1\n"),
        "logs/events.jsonl": lambda: (live / "logs" / "events.jsonl").write_text(""),
    }
    for rel, touch in touches.items():
        before = cover(live)
        touch()
        verdict = snapshot.judge(before, cover(live, since=before))
        assert verdict["live"] == [], rel
        assert any(str(live / rel) in line for line in verdict["touched"]), (rel, verdict)


def test_a_symlinked_launcher_re_pointed_or_its_target_changed(tmp_path):
    live = live_project(tmp_path)
    before = cover(live)
    (tmp_path / "engine-b").mkdir()
    (tmp_path / "engine-b" / "agents.py").write_text("print('a')\n")  # the same text elsewhere
    os.unlink(live / "agents.py")
    (live / "agents.py").symlink_to(tmp_path / "engine-b" / "agents.py")
    touched = snapshot.judge(before, cover(live, since=before))["touched"]
    assert len(touched) == 1 and touched[0].startswith("file %s: changed (link " % (live / "agents.py"))
    assert str(tmp_path / "engine-b" / "agents.py") in touched[0]
    before = cover(live)
    (tmp_path / "engine-b" / "agents.py").write_text("print('b')\n")
    assert len(snapshot.judge(before, cover(live, since=before))["touched"]) == 1


def test_what_the_live_system_did_by_itself_comes_with_its_events(tmp_path):
    live = live_project(tmp_path)
    before = cover(live)
    # the watchdog healed the worker; an operator set the phase; the worker's log grew
    (live / "state" / "worker.watch.json").write_text('{"state": "ok", "restarts": 1}\n')
    (live / "state" / "worker.env").write_text("export A=2\n")
    log_event(live, "worker", "heal", "process gone", "restarted")
    (live / "state" / "phase-idx").write_text("1\n")
    log_event(live, "operator", "phase", "phase set", "build -> ship")
    with open(live / "logs" / "worker.log", "a") as handle:
        handle.write("iteration 2\n")
    verdict = snapshot.judge(before, cover(live, since=before))
    assert verdict["touched"] == []
    text = "\n".join(verdict["live"])
    assert "file %s: changed" % (live / "state" / "worker.watch.json") in text
    assert "changed during the check: T worker heal: process gone (restarted)" in text
    assert "file %s: changed" % (live / "state" / "phase-idx") in text
    assert "T operator phase: phase set (build -> ship)" in text
    assert "%s grew by 12 bytes" % (live / "logs" / "worker.log") in text
    assert "2 event(s) logged" in text
    # an event of another agent explains nothing of the worker's
    before = cover(live)
    (live / "state" / "worker.watch.json").write_text('{"state": "FATAL"}\n')
    log_event(live, "other", "heal", "session gone", "restarted")
    verdict = snapshot.judge(before, cover(live, since=before))
    assert len(verdict["touched"]) == 1
    assert verdict["touched"][0].startswith("file %s: changed" % (live / "state" / "worker.watch.json"))


def test_watchdog_processes_are_counted_and_explained_only_by_a_start():
    before = {"projects": {"/p/agents.toml": {"state_dir": "/p/state", "log_dir": "/p/logs", "events": "/p/logs/e",
                                              "prefix": "p-", "agents": ["watchdog"], "watchdog_pids": ["10@7"]}}}
    after = copy.deepcopy(before)
    after["projects"]["/p/agents.toml"]["watchdog_pids"] = []
    assert snapshot.judge(before, after) == {
        "touched": ["watchdog processes of /p/agents.toml: 1 -> 0 (pid@start 10@7 -> none)"], "live": []}
    after["projects"]["/p/agents.toml"]["watchdog_pids"] = ["11@9"]
    after["events"] = {"/p/agents.toml": [{"ts": "T", "agent": "watchdog", "event": "start", "reason": "pid 11",
                                           "outcome": "watching 1 agent(s)"}]}
    verdict = snapshot.judge(before, after)
    assert verdict["touched"] == []
    assert verdict["live"] == ["watchdog processes of /p/agents.toml: replaced (pid@start 10@7 -> 11@9); changed "
                               "during the check: T watchdog start: pid 11 (watching 1 agent(s))"]
    assert snapshot.summary(after) == "0 files, 0 sessions, 0 watchdogs"


def test_the_files_a_live_start_writes_are_explained_by_its_events_only():
    """project-id, server and the guard's lock are written when the live system starts an
    agent (a heal, its watchdog starting its guard): explained by those events, not by others;
    the watchdog's failed-write record explains itself."""
    state = "/live/state"
    info = {"state_dir": state, "log_dir": "/live/logs", "events": "/live/logs/events.jsonl", "agents": ["w"],
            "prefix": "l-"}
    heal = {"ts": "T1", "agent": "w", "event": "heal", "reason": "session gone", "outcome": "restarted"}
    start = {"ts": "T2", "agent": "watchdog", "event": "guard", "reason": "no guard running", "outcome": "started"}
    stall = {"ts": "T3", "agent": "w", "event": "stall", "reason": "quiet", "outcome": "nudged"}
    for records, name, explained in (([heal], "server", True), ([stall], "project-id", False),
                                     ([start], "watchdog-guard.lock", True), ([heal], "watchdog-guard.lock", False),
                                     ([], "watchdog.error", True)):
        evidence = snapshot._Evidence({"projects": {"/live/agents.toml": info}}, {"projects": {"/live/agents.toml": info}})
        evidence.events = {"/live/agents.toml": records}
        assert bool(evidence.explain("file", state + "/" + name)) is explained, name
