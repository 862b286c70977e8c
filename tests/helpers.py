# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small helpers the tests share."""

from __future__ import annotations

import time


def wait_for(predicate, timeout=10.0, step=0.05):
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def phased_agents(name: str, extra: str = "") -> str:
    """An agents.toml with two phases (build, ship) and a demo worker, plus ``extra`` tables."""
    return ('[project]\nname = "%s"\nsession_prefix = "%s-"\n\n'
            '[[phases]]\nname = "build"\nplan = "plan-build.md"\n\n'
            '[[phases]]\nname = "ship"\nplan = "plan-ship.md"\n\n'
            '[agents.worker]\nkind = "persistent"\nbackend = "demo"\nmodel = "demo-1"\nwatch = "heal"\n'
            % (name, name)) + extra
