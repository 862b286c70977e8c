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


SPEC = dict(project_dir=dict(type="path"), config=dict(type="path"), tmux_socket=dict(type="str"),
            name=dict(type="str", required=True), ref=dict(type="str", default="HEAD"),
            agents=dict(type="list", elements="str", default=[]), live=dict(type="bool", default=False))


class ParamsModule(FakeModule):
    def __init__(self, **params) -> None:
        super().__init__()
        self.argument_spec = SPEC
        self.params = dict(dict.fromkeys(SPEC), **params)


def test_blank_options_are_not_given():
    params = dict(project_dir="", config=" ", tmux_socket="", name="n", ref="", agents=[], live=False)
    assert ansible_glue.unset_blanks(params, SPEC) == []
    assert params == dict(project_dir=None, config=None, tmux_socket=None, name="n", ref="", agents=[], live=False)
    params = dict(tmux_socket="default", name="")
    assert ansible_glue.unset_blanks(params, SPEC) == ["name"] and params == dict(tmux_socket="default", name=None)


def test_run_makes_blanks_not_given_before_the_body_and_fails_a_blank_required_option():
    module = ParamsModule(tmux_socket="", name="n")
    seen = []
    with pytest.raises(SystemExit):
        ansible_glue.run(module, lambda: seen.append(dict(module.params)) or {"changed": False})
    assert seen[0]["tmux_socket"] is None
    module = ParamsModule(name="")
    with pytest.raises(SystemExit):
        ansible_glue.run(module, lambda: seen.append("ran") or {})
    assert module.result == {"msg": "name is required (given empty)", "failed": True} and len(seen) == 1


def test_config_path_needs_a_project_dir_that_is_not_blank():
    assert ansible_glue.config_path({"project_dir": "/p", "config": ""}) == "/p/agents.toml"
    assert ansible_glue.config_path({"project_dir": "", "config": "/c/a.toml"}) == "/c/a.toml"
    for params in ({"project_dir": "", "config": None}, {"project_dir": None, "config": ""}):
        with pytest.raises(OrchestratorError, match="^project_dir is required"):
            ansible_glue.config_path(params)
    assert run(lambda: {"x": ansible_glue.config_path({"project_dir": " "})}) == {
        "msg": "project_dir is required (or config): it was not given, or given empty", "failed": True}
