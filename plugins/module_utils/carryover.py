# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cutover's carry-over: the state one config of a set of agents hands to another (the
``reuse`` step, and its rollback)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .bookkeeping import resume_id
from .config import Project
from .errors import StateError
from .fsutil import atomic_write, locked, read_state_text
from .layout import StateLayout
from .phase import phase_exists, read_phase_index


@dataclass(frozen=True, slots=True)
class Carried:
    """One file to write in the target's state: its path, text and mode."""

    path: str
    text: str
    mode: int | None  # None: an ordinary file (the umask decides)


def carry_over(source: Project, target: Project, check_mode: bool = False) -> list:
    """Carry a project's state over to another config of the same agents: the phase index
    and the resume id of every agent both configs have. Returns one dict per file with its
    text ``before`` and ``after`` and whether it ``changed``; written atomically under the
    target's lock, nothing in check mode. A phase index whose phase has another name in the
    target is refused (the index would silently mean a different phase)."""
    if os.path.realpath(source.state_dir) == os.path.realpath(target.state_dir):
        return []
    wanted = _wanted(source, target)
    if not wanted or check_mode:
        return _plan(wanted)
    with locked(StateLayout.of(target).engine_lock):
        result = _plan(wanted)
        for item, carried in zip(result, wanted):
            if item["changed"]:
                atomic_write(carried.path, carried.text, carried.mode)
    return result


def _wanted(source: Project, target: Project) -> list[Carried]:
    into = StateLayout.of(target)
    wanted = []
    if phase_exists(source):
        index = read_phase_index(source)
        _check_same_phase(source, target, index)
        wanted.append(Carried(into.phase_index, "%d\n" % index, None))
    names = {a.name for a in source.agents}
    for agent in target.agents:
        if agent.name in names:
            text = resume_id(source, source.agent(agent.name))
            if text:
                wanted.append(Carried(into.resume(agent), text + "\n", 0o600))
    return wanted


def _check_same_phase(source: Project, target: Project, index: int) -> None:
    name = source.phases[index].name if source.phases else None
    there = target.phases[index].name if index < len(target.phases) else None
    if name != there and (name is not None or target.phases):
        raise StateError("%s: phase %d is %s there, but %s in %s; align the [[phases]] of both configs "
                         "or start fresh" % (StateLayout.of(source).phase_index, index,
                                             repr(name) if name else "undefined",
                                             repr(there) if there else "undefined", target.config_path))


def _plan(wanted: list[Carried]) -> list:
    out = []
    for carried in wanted:
        before = read_state_text(carried.path)
        out.append({"file": carried.path, "before": before, "after": carried.text,
                    "changed": before != carried.text})
    return out
