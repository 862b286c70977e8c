# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config, engine, layout, phase, status
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import StateError

PHASES = ("rcust shot lvl5 bsky dstamp mailu kuma drone cfold cf55 pvfix pvcheck ghost cf48 pxgate aoeng aotest "
          "porepo poe2e").split()


def _set(project, target, check_mode=False):
    change = engine.set_phase(project, target, check_mode)
    return change.old, change.new


@pytest.fixture
def project(tmp_path):
    text = "".join('[[phases]]\nname = "%s"\nplan = "plan-phase-%s.md"\n' % (p, p) for p in PHASES)
    (tmp_path / "agents.toml").write_text(text)
    return config.load(str(tmp_path / "agents.toml"))


def test_set_by_index_and_name(project):
    assert _set(project, 18) == (0, 18)
    assert open(layout.StateLayout.of(project).phase_index).read() == "18\n"
    assert status.phase_header(project, phase.read_phase_index(project)) == (
        "phase: poe2e [19/19] plan=plan-phase-poe2e.md (in progress)")
    assert _set(project, "porepo") == (18, 17)
    assert _set(project, "3") == (17, 3)


def test_check_mode_writes_nothing(project):
    assert _set(project, "poe2e", check_mode=True) == (0, 18)
    assert not os.path.exists(project.state_dir)


@pytest.mark.parametrize("value, words", [(19, "out of range"), (-1, "out of range"), ("nope", "unknown phase 'nope'"),
                                          ("", "unknown phase")])
def test_bad_phase_writes_nothing(project, value, words):
    _set(project, 5)
    with pytest.raises(StateError, match=words):
        _set(project, value)
    assert phase.read_phase_index(project) == 5


def test_no_phases_is_a_clear_error(tmp_path):
    (tmp_path / "agents.toml").write_text("")
    empty = config.load(str(tmp_path / "agents.toml"))
    with pytest.raises(StateError, match="has no \\[\\[phases\\]\\]"):
        _set(empty, 0)


def test_next_phase_and_whether_one_was_ever_set(project):
    assert not phase.phase_exists(project) and phase.read_phase_index(project) == 0
    assert phase.next_phase(project) == 1
    _set(project, 0)
    assert phase.phase_exists(project), "setting the current phase writes it once"
    _set(project, len(PHASES) - 1)
    with pytest.raises(StateError, match="already at the last phase \\(poe2e\\)"):
        phase.next_phase(project)


@pytest.mark.parametrize("text, words", [("x\n", "phase index must be a whole number, got 'x'"),
                                         ("19\n", "phase index 19 is out of range: the config has 19 phase\\(s\\)")])
def test_a_bad_index_file_names_its_position(project, text, words):
    path = layout.StateLayout.of(project).phase_index
    os.makedirs(os.path.dirname(path))
    open(path, "w").write(text)
    with pytest.raises(StateError, match="%s:1:1: %s" % (path, words)):
        phase.read_phase_index(project)


def test_an_unreadable_index_names_its_path(project):
    path = layout.StateLayout.of(project).phase_index
    os.makedirs(path)  # a folder where the file would be
    with pytest.raises(StateError, match="cannot read %s: " % path):
        phase.read_phase_index(project)
