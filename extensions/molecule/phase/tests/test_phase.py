# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""testinfra: phase.yml set the 19th of 19 phases; the engine CLI agrees."""

import os
import sys

PROJECT = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "phased")
ENGINE = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "agents.py")


def test_phase_index_file(host):
    assert host.file(os.path.join(PROJECT, "state", "phase-idx")).content_string == "18\n"


def test_engine_cli_shows_the_phase(host):
    cmd = host.run("cd %s && %s %s phase show", PROJECT, sys.executable, ENGINE)
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout == "phase: poe2e [19/19] plan=plan-phase-poe2e.md (in progress)\n"
