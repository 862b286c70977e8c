# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""carryover.carry_over on temp folders: the phase index and resume ids a cutover hands on."""

from __future__ import annotations

import os

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import bookkeeping, config, engine, phase
from ansible_collections.agentloops.orchestrator.plugins.module_utils.carryover import carry_over
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import StateError
from ansible_collections.agentloops.orchestrator.plugins.module_utils.layout import StateLayout

AGENT_A = '[agents.a]\nkind = "persistent"\nbackend = "demo"\n'
AGENTS = AGENT_A + '[agents.b]\nkind = "persistent"\nbackend = "demo"\n'
PHASES = '[[phases]]\nname = "one"\nplan = "1.md"\n[[phases]]\nname = "two"\nplan = "2.md"\n'


def load(folder, text):
    folder.mkdir()
    (folder / "agents.toml").write_text(text)
    return config.load(str(folder / "agents.toml"))


def test_phase_and_shared_resume_ids_are_carried(tmp_path):
    source = load(tmp_path / "live", PHASES + AGENTS)
    target = load(tmp_path / "staged", PHASES + AGENT_A + '[agents.c]\nkind = "persistent"\n'
                  'backend = "demo"\n')
    engine.set_phase(source, "two")
    bookkeeping.write_resume_id(source, source.agent("a"), "id-a")
    bookkeeping.write_resume_id(source, source.agent("b"), "id-b")
    into = StateLayout.of(target)
    planned = carry_over(source, target, check_mode=True)
    assert planned == [{"file": into.phase_index, "before": None, "after": "1\n", "changed": True},
                       {"file": into.resume("a"), "before": None, "after": "id-a\n", "changed": True}]
    assert not os.path.exists(target.state_dir), "check mode writes nothing"
    assert carry_over(source, target) == planned
    assert phase.read_phase_index(target) == 1 and bookkeeping.resume_id(target, target.agent("a")) == "id-a"
    assert oct(os.stat(into.resume("a")).st_mode & 0o777) == "0o600"
    assert [f["changed"] for f in carry_over(source, target)] == [False, False]


def test_nothing_to_carry_and_the_same_state_folder(tmp_path):
    source = load(tmp_path / "live", AGENTS)
    target = load(tmp_path / "staged", AGENTS)
    assert carry_over(source, target) == [] and carry_over(source, source) == []


def test_a_phase_named_otherwise_in_the_target_is_refused(tmp_path):
    source = load(tmp_path / "live", PHASES + AGENTS)
    target = load(tmp_path / "staged", PHASES.replace('"two"', '"deux"') + AGENTS)
    engine.set_phase(source, "two")
    with pytest.raises(StateError, match="phase 1 is 'two' there, but 'deux' in "):
        carry_over(source, target)
    assert not os.path.exists(target.state_dir)


def test_corrupt_state_on_either_side_is_reported_not_a_traceback(tmp_path):
    source = load(tmp_path / "live", PHASES + AGENTS)
    target = load(tmp_path / "staged", PHASES + AGENTS)
    os.makedirs(source.state_dir)
    with open(StateLayout.of(source).phase_index, "wb") as handle:
        handle.write(b"\xff\n")
    with pytest.raises(StateError, match="phase-idx: not valid UTF-8"):
        carry_over(source, target, check_mode=True)
    engine.set_phase(source, "two")  # repaired
    os.makedirs(target.state_dir)
    with open(StateLayout.of(target).phase_index, "wb") as handle:
        handle.write(b"\xfe\xff\n")
    with pytest.raises(StateError, match="%s: not valid UTF-8" % StateLayout.of(target).phase_index):
        carry_over(source, target)
    os.unlink(StateLayout.of(target).phase_index)
    os.symlink(tmp_path / "elsewhere", StateLayout.of(target).phase_index)
    with pytest.raises(StateError, match="refusing to read %s: it is a symlink" % StateLayout.of(target).phase_index):
        carry_over(source, target)
    assert not os.path.exists(tmp_path / "elsewhere")
