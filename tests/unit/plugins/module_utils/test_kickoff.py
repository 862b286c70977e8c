# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import dataclasses
import os

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config, engine, kickoff
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError

CONFIG = """
[project]
name = "cc-ci"
[[phases]]
name = "porepo"
plan = "plan-phase-porepo.md"
[[phases]]
name = "poe2e"
plan = "plan-phase-poe2e-end-to-end.md"
[agents.builder]
kind = "loop"
backend = "claude"
model = "claude-opus-4-8"
kickoff = "kickoffs/builder.md"
[agents.bare]
kind = "task"
backend = "demo"
"""

NASTY = "quotes ' \" `backticks` $(rm -rf /) ${HOME} {json: 1} \\{{ not a placeholder }} — ünïcødé ✓\n"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "agents.toml").write_text(CONFIG)
    (tmp_path / "kickoffs").mkdir()
    (tmp_path / "kickoffs" / "builder.md").write_text(
        "You are {{ agent }} ({{model}}) of {{ project }}.\n"
        "Phase {{ phase }} [{{ phase_number }}/{{ phase_count }}] index {{phase_index}}, plan {{ plan }}.\n" + NASTY)
    return config.load(str(tmp_path / "agents.toml"))


def test_renders_for_the_current_phase(project):
    engine.set_phase(project, "poe2e")
    text = kickoff.render_for(project, project.agent("builder"))
    assert text == ("You are builder (claude-opus-4-8) of cc-ci.\n"
                    "Phase poe2e [2/2] index 1, plan plan-phase-poe2e-end-to-end.md.\n"
                    + NASTY.replace("\\{{", "{{"))
    assert kickoff.render_for(project, project.agent("builder")) == text  # deterministic
    assert "Phase porepo [1/2]" in kickoff.render_for(project, project.agent("builder"), phase_index=0)


def test_two_configs_on_the_same_files_render_identically(project, tmp_path):
    other = tmp_path / "staged.toml"
    other.write_text(CONFIG)
    staged = config.load(str(other))
    assert kickoff.render_for(staged, staged.agent("builder")) == kickoff.render_for(project, project.agent("builder"))


def test_errors(project, tmp_path):
    with pytest.raises(kickoff.KickoffError, match="agent 'bare' has no kickoff template"):
        kickoff.render_for(project, project.agent("bare"))
    (tmp_path / "kickoffs" / "builder.md").write_text("line one\n  see {{ nonsense }}\n")
    with pytest.raises(kickoff.KickoffError, match=r"builder.md:2:7: unknown placeholder \{\{ nonsense \}\}"):
        kickoff.render_for(project, project.agent("builder"))
    (tmp_path / "kickoffs" / "builder.md").unlink()
    with pytest.raises(kickoff.KickoffError, match="kickoff template of agent 'builder' not found"):
        kickoff.render_for(project, project.agent("builder"))
    with pytest.raises(ConfigError, match="unknown agent"):
        project.select(["ghost"])


def test_a_kickoff_that_leads_outside_the_project_is_refused_when_rendered(project, tmp_path):
    """The config's check is done again at each render: a symlink may change after validation."""
    secret = tmp_path.parent / ("%s-secret.txt" % tmp_path.name)
    secret.write_text("not for agents\n")
    try:
        os.replace(tmp_path / "kickoffs" / "builder.md", tmp_path / "kickoffs" / "old.md")
        os.symlink(secret, tmp_path / "kickoffs" / "builder.md")
        with pytest.raises(kickoff.KickoffError, match="kickoff template of agent 'builder' is outside the project: "
                           ".*builder.md resolves to %s" % secret):
            kickoff.render_for(project, project.agent("builder"))
        allowed = dataclasses.replace(project, allow_outside_kickoffs=True)
        assert kickoff.render_for(allowed, allowed.agent("builder")) == "not for agents\n"
    finally:
        secret.unlink()


def test_a_kickoff_with_a_byte_order_mark_is_refused(project, tmp_path):
    """The mark would reach the agent as an invisible first character of its prompt."""
    path = tmp_path / "kickoffs" / "builder.md"
    path.write_bytes(b"\xef\xbb\xbfhello {{ agent }}\n")
    with pytest.raises(ConfigError, match="builder.md:1:1: starts with a byte order mark"):
        kickoff.render_for(project, project.agent("builder"))
