# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding the engine's own processes (Linux /proc), cheaply enough for ``status``."""

from __future__ import annotations

import os

from .config import Project

PROC = "/proc"


def _config_of(pid: str, argv: list[bytes], proc: str = PROC) -> str | None:
    """The agents.toml a running ``agents.py ... watchdog`` process uses, or None."""
    if b"watchdog" not in argv or not any(a.endswith(b"agents.py") for a in argv):
        return None
    config = "agents.toml"
    for i, arg in enumerate(argv):
        if arg == b"--config" and i + 1 < len(argv):
            config = argv[i + 1].decode("utf-8", "replace")
        elif arg.startswith(b"--config="):
            config = arg[9:].decode("utf-8", "replace")
    if not os.path.isabs(config):
        try:
            config = os.path.join(os.readlink(os.path.join(proc, pid, "cwd")), config)
        except OSError:
            return None
    return os.path.realpath(config)


def watchdog_pids(project: Project, proc: str = PROC) -> list[int]:
    """Pids of processes running this project's watchdog, in tmux or in the foreground
    (``proc``: where the process table is mounted)."""
    pids: list[int] = []
    try:
        entries = os.listdir(proc)
    except OSError:
        return pids
    target = os.path.realpath(project.config_path)
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc, entry, "cmdline"), "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if _config_of(entry, argv, proc) == target:
            pids.append(int(entry))
    return sorted(pids)
