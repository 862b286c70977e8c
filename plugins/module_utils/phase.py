# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The current phase: the index in ``state/phase-idx``, read, resolved and written."""

from __future__ import annotations

import os

from .errors import StateError
from .fsutil import atomic_write, locked, read_state_text
from .layout import StateLayout

TYPE_CHECKING = False  # not typing's: the status path does not import typing (nor config.py, nor re)
if TYPE_CHECKING:
    from .config import Project

REPAIR = "`phase set N|NAME` writes a good one"
_DIGITS = frozenset("0123456789")  # ASCII digits only (int() would take "٣", "1_0", "+1")


def _whole_number(text: str) -> bool:
    """``-?[0-9]{1,18}``, without importing re (status reads the phase)."""
    digits = text[1:] if text.startswith("-") else text
    return 0 < len(digits) <= 18 and _DIGITS.issuperset(digits)


def read_phase_index(project: Project) -> int:
    """The current 0-based phase index (0 when none was ever set). A corrupt file (not a
    whole number, out of range, not UTF-8, a symlink) raises ``StateError`` naming it."""
    path = StateLayout.of(project).phase_index
    try:
        text = read_state_text(path)
    except StateError as exc:
        raise StateError("%s; %s" % (exc, REPAIR)) from None
    if text is None:
        return 0
    text = text.strip()
    if not _whole_number(text):
        raise StateError("%s:1:1: phase index must be a whole number, got %r; %s" % (path, text[:40], REPAIR))
    index = int(text)
    if project.phases and not 0 <= index < len(project.phases):
        raise StateError("%s:1:1: phase index %d is out of range: the config has %d phase(s) (0..%d); %s"
                         % (path, index, len(project.phases), len(project.phases) - 1, REPAIR))
    return index


def read_phase_or_error(project: Project) -> tuple[int | None, str | None]:
    """``(index, None)``, or ``(None, why)`` when the phase index file is corrupt: for the
    readers that show the rest anyway (status) and the writers that repair it."""
    try:
        return read_phase_index(project), None
    except StateError as exc:
        return None, str(exc)


def resolve_phase(project: Project, phase: str | int) -> int:
    """The 0-based index of ``phase``: an index (``18``, ``"18"``) or a phase name."""
    if not project.phases:
        raise StateError("%s has no [[phases]]" % project.config_path)
    count = len(project.phases)
    text = str(phase).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < count:
            raise StateError("phase index %d is out of range: %s has %d phase(s), 0..%d"
                             % (index, project.config_path, count, count - 1))
        return index
    for index, item in enumerate(project.phases):
        if item.name == text:
            return index
    raise StateError("unknown phase %r; %s has: %s" % (text, project.config_path,
                                                       ", ".join(p.name for p in project.phases)))


def next_phase(project: Project) -> int:
    """The index after the current phase; an error at the last one or without phases."""
    current = resolve_phase(project, read_phase_index(project) if project.phases else 0)
    if current + 1 >= len(project.phases):
        raise StateError("already at the last phase (%s)" % project.phases[current].name)
    return current + 1


def write_phase_index(project: Project, new: int) -> int | None:
    """Write phase index ``new`` (already resolved) atomically under the project's lock,
    unless the file holds it already; returns the index it held (None when it was corrupt:
    it is overwritten). ``engine.set_phase`` is the entry point that resolves names and
    ``next`` and honours check mode."""
    layout = StateLayout.of(project)
    with locked(layout.engine_lock):
        old, _why = read_phase_or_error(project)
        if old != new or not os.path.exists(layout.phase_index):
            atomic_write(layout.phase_index, "%d\n" % new)
    return old


def phase_exists(project: Project) -> bool:
    """Whether the phase index was ever written (else the first phase is current)."""
    return os.path.exists(StateLayout.of(project).phase_index)
