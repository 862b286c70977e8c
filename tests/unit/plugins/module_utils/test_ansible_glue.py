# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible_glue.run: the seam where every failure of a module's body becomes fail_json."""

from __future__ import annotations

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import ansible_glue
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import (
    ConfigError,
    ConfigIssue,
    OrchestratorError,
)


class FakeModule:
    """Records what a module would exit with (both exits leave through SystemExit)."""

    def __init__(self) -> None:
        self.result: dict = {}

    def exit_json(self, **kwargs) -> None:
        self.result = dict(kwargs, failed=False)
        raise SystemExit(0)

    def fail_json(self, **kwargs) -> None:
        self.result = dict(kwargs, failed=True)
        raise SystemExit(1)


def run(body) -> dict:
    module = FakeModule()
    with pytest.raises(SystemExit):
        ansible_glue.run(module, body)
    return module.result


def test_a_result_exits():
    assert run(lambda: {"changed": True}) == {"changed": True, "failed": False}


def test_engine_errors_fail_cleanly():
    def config_error():
        raise ConfigError([ConfigIssue("a.toml", 3, 1, "k", "bad")])

    def engine_error():
        raise OrchestratorError("cannot write /x: Permission denied")

    assert run(config_error) == {"msg": "a.toml:3:1: k: bad", "failed": True, "issues": [
        {"path": "a.toml", "line": 3, "col": 1, "key": "k", "message": "bad"}]}
    assert run(engine_error) == {"msg": "cannot write /x: Permission denied", "failed": True}


def test_anything_else_fails_with_its_traceback():
    def bug():
        return {}["missing"]

    result = run(bug)
    assert result["failed"] and result["msg"] == "unexpected error: KeyError: 'missing'"
    assert result["exception"].startswith("Traceback (most recent call last):")
    assert "in bug" in result["exception"]
