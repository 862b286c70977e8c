# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding the engine's own processes (Linux /proc), cheaply enough for ``status``."""

from __future__ import annotations

import os

from .config import Project

__metaclass__ = type


def watchdog_pids(project: Project) -> list:
    """Pids of processes running this project's watchdog (read from /proc)."""
    pids = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return pids
    config = project.config_path.encode()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if b"watchdog" in argv and b"--config" in argv and config in argv and any(
                a.endswith(b"agents.py") for a in argv):
            pids.append(int(entry))
    return sorted(pids)
