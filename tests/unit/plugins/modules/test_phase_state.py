# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.agentloops.orchestrator.plugins.modules import phase_state

CONFIG = '[[phases]]\nname = "one"\nplan = "one.md"\n[[phases]]\nname = "two"\nplan = "two.md"\n'


def test_set_check_diff_idempotent_next(run_module, tmp_path):
    (tmp_path / "agents.toml").write_text(CONFIG)
    args = {"project_dir": str(tmp_path)}
    shown = run_module(phase_state, args)
    assert shown["changed"] is False and shown["phase"]["name"] == "one"
    planned = run_module(phase_state, dict(args, phase="two", _ansible_check_mode=True, _ansible_diff=True))
    assert planned["changed"] and planned["header"] == "phase: two [2/2] plan=two.md (in progress)"
    assert planned["diff"]["before"] == "phase: one [1/2] plan=one.md (in progress)\n"
    assert not (tmp_path / "state").exists()
    done = run_module(phase_state, dict(args, phase="1"))
    assert done["changed"] and (tmp_path / "state" / "phase-idx").read_text() == "1\n"
    assert run_module(phase_state, dict(args, phase="two"))["changed"] is False
    last = run_module(phase_state, dict(args, next=True))
    assert last["failed"] and "already at the last phase (two)" in last["msg"]
    run_module(phase_state, dict(args, phase="0"))
    assert run_module(phase_state, dict(args, next=True))["phase"]["index"] == 1


def test_bad_phase_fails_and_writes_nothing(run_module, tmp_path):
    (tmp_path / "agents.toml").write_text(CONFIG)
    for bad, words in (("2", "out of range"), ("three", "unknown phase 'three'")):
        result = run_module(phase_state, {"project_dir": str(tmp_path), "phase": bad})
        assert result["failed"] and words in result["msg"]
    both = run_module(phase_state, {"project_dir": str(tmp_path), "phase": "one", "next": True})
    assert both["failed"] and "mutually exclusive" in both["msg"]
    assert not (tmp_path / "state").exists()


def test_next_without_phases_is_a_clean_failure(run_module, tmp_path):
    (tmp_path / "agents.toml").write_text("")
    result = run_module(phase_state, {"project_dir": str(tmp_path), "next": True})
    assert result["failed"] and "has no [[phases]]" in result["msg"]


def test_a_corrupt_index_is_overwritten_and_shown_as_such(run_module, tmp_path):
    (tmp_path / "agents.toml").write_text(CONFIG)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "phase-idx").write_bytes(b"\xffgarbage\n")
    args = {"project_dir": str(tmp_path)}
    shown = run_module(phase_state, args)
    assert shown["failed"] and "not valid UTF-8" in shown["msg"] and "phase set N|NAME" in shown["msg"]
    done = run_module(phase_state, dict(args, phase="two", _ansible_diff=True))
    assert done["changed"] and (tmp_path / "state" / "phase-idx").read_text() == "1\n"
    assert done["previous"]["index"] is None and "not valid UTF-8" in done["previous"]["error"]
    assert done["diff"]["before"].startswith("phase: ? [?/2] error: ")
