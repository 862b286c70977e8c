# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""snapshot: taking files and state from a temp folder, and comparing two snapshots (no tmux)."""

from __future__ import annotations

import copy

from ansible_collections.agentloops.orchestrator.plugins.module_utils import snapshot

BEFORE = {
    "files": {"/p/agents.toml": {"sha256": "a" * 64, "size": 10, "mode": "644"},
              "/p/old": {"sha256": "b" * 64, "size": 1, "mode": "644"}},
    "state": {"/p/state/phase-idx": "3\n"},
    "tmux": {"/tmp/s.sock": {"w-a": {"id": "$1", "created": 100, "panes": [{"id": "%1", "pid": 10, "command": "sh"}]},
                             "w-b": {"id": "$2", "created": 100, "panes": [{"id": "%2", "pid": 11, "command": "sh"}]}}},
    "watchdogs": {"w-@tmux server -S /tmp/s.sock": 1},
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
    after["watchdogs"]["w-@tmux server -S /tmp/s.sock"] = 2
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
        "watchdogs w-@tmux server -S /tmp/s.sock: 1 -> 2",
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
    assert sorted(snap) == ["files", "state", "taken", "tmux", "watchdogs"]
    files = snap["files"]
    assert files[str(tmp_path / "nope")] == {"missing": True}
    assert files[str(tmp_path / "gone") + "/"] == {"missing": True}
    assert files[str(tmp_path / "tree" / "link")]["link"] == "sub/f"
    assert files[str(tmp_path / "tree" / "sub" / "f")]["size"] == 1
    assert snap["state"] == {str(state / "phase-idx"): "2\n", str(state / "w.resume-id"): "id\n",
                             str(tmp_path / "nostate") + "/": None}
    assert (snap["tmux"], snap["watchdogs"]) == ({}, {})
    assert snapshot.summary(snap) == "4 files, 0 sessions, 0 watchdogs"
    assert snapshot.compare(snap, snapshot.take(files=[str(tmp_path / "nope")], folders=[str(tmp_path / "tree"),
                            str(tmp_path / "gone")], state_dirs=[str(state), str(tmp_path / "nostate")])) == []
