# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""errors: how a config issue reads, with and without a position."""

from __future__ import annotations

from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError, ConfigIssue


def test_an_issue_with_a_position():
    assert str(ConfigIssue("a.toml", 5, 3, "agents.w.modle", "unknown key")) == "a.toml:5:3: agents.w.modle: unknown key"
    assert str(ConfigIssue("a.toml", 1, 1, "", "invalid TOML: x")) == "a.toml:1:1: invalid TOML: x"


def test_an_issue_of_the_whole_file_has_no_0_0():
    assert str(ConfigIssue("a.toml", 0, 0, "", "cannot read config: gone")) == "a.toml: cannot read config: gone"
    assert str(ConfigIssue("f.toml", 0, 0, "projects.x", "dir is missing")) == "f.toml: projects.x: dir is missing"


def test_a_config_error_carries_every_issue_as_data():
    issues = [ConfigIssue("a.toml", 2, 1, "k", "bad"), ConfigIssue("a.toml", 0, 0, "", "worse")]
    error = ConfigError(issues)
    assert str(error) == "a.toml:2:1: k: bad\na.toml: worse"
    assert [i.as_dict() for i in error.issues][1] == {"path": "a.toml", "line": 0, "col": 0, "key": "",
                                                      "message": "worse"}
