# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

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
