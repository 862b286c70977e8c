# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A project's ``state/`` folder: the phase index and the engine's lock."""

from __future__ import annotations

import os

from .config import Project
from .errors import StateError

__metaclass__ = type

PHASE_FILE = "phase-idx"
LOCK_FILE = ".engine.lock"


def phase_index_path(project: Project) -> str:
    return os.path.join(project.state_dir, PHASE_FILE)


def lock_path(project: Project) -> str:
    return os.path.join(project.state_dir, LOCK_FILE)


def read_phase_index(project: Project) -> int:
    """The current 0-based phase index (0 when none was ever set)."""
    path = phase_index_path(project)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise StateError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    try:
        index = int(text)
    except ValueError:
        raise StateError("%s:1:1: phase index must be a whole number, got %r" % (path, text[:40])) from None
    if project.phases and not 0 <= index < len(project.phases):
        raise StateError("%s:1:1: phase index %d is out of range: the config has %d phase(s) (0..%d)"
                         % (path, index, len(project.phases), len(project.phases) - 1))
    return index
