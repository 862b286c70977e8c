# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engine needs from a host's Python, and whether an interpreter has it."""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec

MIN_PYTHON = (3, 11)  # tomllib
# The same pins as requirements.txt (a unit test keeps them equal).
REQUIREMENTS = ("libtmux>=0.57", "tomlkit>=0.12")
DEFAULT_VENV = "~/.agentloops/venv"


def _name(requirement: str) -> str:
    for sep in "<>=!~ ;[":
        requirement = requirement.split(sep, 1)[0]
    return requirement.strip()


def _numbers(version: str) -> tuple[int, ...]:
    """``0.57.1`` -> ``(0, 57, 1)``; a part with letters counts up to its first one (``1rc2`` -> 1)."""
    out = []
    for part in version.split("."):
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        out.append(int(digits or 0))
    return tuple(out)


def satisfied(requirement: str, installed: str | None) -> bool:
    """Whether an installed version (None: not installed) meets a ``name>=X.Y`` requirement.
    An older libtmux imports, but lacks what the driver uses: it counts as missing."""
    if installed is None:
        return False
    _name_part, sep, minimum = requirement.partition(">=")
    return not sep or _numbers(installed) >= _numbers(minimum.strip())


def installed_version(name: str) -> str | None:
    """The version of an importable distribution, None when it is not importable; "0" when
    it imports but has no metadata (it then fails any minimum)."""
    if find_spec(name) is None:
        return None
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "0"


def inspect(venv: str = DEFAULT_VENV) -> dict:
    """This interpreter: its path and version, the engine's libraries it lacks (or has in a
    version older than required), and where a venv with them lives (``venv`` expanded for
    the user running this)."""
    missing = [r for r in REQUIREMENTS if not satisfied(r, installed_version(_name(r)))]
    path = os.path.abspath(os.path.expanduser(venv))
    return {"python": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3],
            "supported": sys.version_info[:2] >= MIN_PYTHON, "missing": missing, "requirements": list(REQUIREMENTS),
            "venv": path, "venv_python": os.path.join(path, "bin", "python")}
