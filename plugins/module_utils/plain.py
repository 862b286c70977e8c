# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Value classes for the status path, without ``dataclasses``.

Importing ``dataclasses`` costs a fresh process about 14 ms (it brings in ``inspect``,
``ast``, ``dis`` and ``tokenize``): more than the whole of ``agents.py status`` may take
beyond Python's own start (bench/status_and_run.py). The few classes that path builds
(tmux's snapshot, the state layout, a status row and report, a config issue, a process's
stat line) derive from ``Plain``:
equality, hash and repr by their ``__slots__``, in order, as a frozen dataclass's are by its
fields. They are not frozen: nothing assigns to them once made (the engine never does).
"""

from __future__ import annotations


class Plain:
    """Equality, hash and repr by the fields named in the class's ``__slots__``."""

    __slots__: tuple[str, ...] = ()

    def values(self) -> tuple:
        """The fields' values, in ``__slots__`` order."""
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plain) or other.__class__ is not self.__class__:
            return NotImplemented
        return self.values() == other.values()

    def __hash__(self) -> int:
        return hash(self.values())

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % (n, getattr(self, n)) for n in self.__slots__))
