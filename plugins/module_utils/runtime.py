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


def inspect(venv: str = DEFAULT_VENV) -> dict:
    """This interpreter: its path and version, the engine's libraries it lacks, and where a
    venv with them lives (``venv`` expanded for the user running this)."""
    missing = [r for r in REQUIREMENTS if find_spec(_name(r)) is None]
    path = os.path.abspath(os.path.expanduser(venv))
    return {"python": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3],
            "supported": sys.version_info[:2] >= MIN_PYTHON, "missing": missing, "requirements": list(REQUIREMENTS),
            "venv": path, "venv_python": os.path.join(path, "bin", "python")}
