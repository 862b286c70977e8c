# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os
import sys

from ansible_collections.agentloops.orchestrator.plugins.module_utils import runtime
from ansible_collections.agentloops.orchestrator.plugins.modules import engine_runtime_info

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def test_requirements_are_those_of_requirements_txt():
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as handle:
        pins = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    assert list(runtime.REQUIREMENTS) == pins


def test_this_interpreter_has_everything_and_the_venv_is_absolute(run_module, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    result = run_module(engine_runtime_info, {})
    assert result["changed"] is False and result["missing"] == [] and result["supported"] is True
    assert result["python"] == sys.executable
    assert result["venv"] == str(tmp_path / ".agentloops" / "venv")
    assert result["venv_python"] == str(tmp_path / ".agentloops" / "venv" / "bin" / "python")


def test_a_missing_library_is_named(monkeypatch):
    monkeypatch.setattr(runtime, "REQUIREMENTS", ("libtmux>=0.40", "no_such_library_xyz>=1"))
    assert runtime.inspect("/srv/v")["missing"] == ["no_such_library_xyz>=1"]


def test_an_old_version_counts_as_missing(monkeypatch):
    monkeypatch.setattr(runtime, "REQUIREMENTS", ("libtmux>=999.1", "tomlkit>=0.12"))
    assert runtime.inspect("/srv/v")["missing"] == ["libtmux>=999.1"]


def test_version_comparison():
    assert runtime.satisfied("libtmux>=0.57", "0.57")
    assert runtime.satisfied("libtmux>=0.57", "0.62.0")
    assert not runtime.satisfied("libtmux>=0.57", "0.56.9")
    assert not runtime.satisfied("libtmux>=0.57", "0.40")
    assert runtime.satisfied("libtmux>=0.57", "1.0rc1")
    assert not runtime.satisfied("libtmux>=0.57", None)
    assert runtime.satisfied("tomlkit", "0.1")
    assert not runtime.satisfied("tomlkit>=0.12", "0")
