# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kickoff prompts: an agent's template (its ``kickoff`` file) rendered for the current
phase. Placeholders are ``{{ name }}``; everything else — quotes, ``$(...)``, backticks,
braces, unicode — is text and comes out as written. ``\\{{`` gives a literal ``{{``.

Placeholders: project, project_dir, agent, kind, backend, model, session, phase, phase_index
(0-based), phase_number (1-based), phase_count, plan.
"""

from __future__ import annotations

import os
import re

from .config import Agent, Project, kickoff_outside, resolve_path
from .errors import OrchestratorError
from .phase import read_phase_index
from .tomlcheck import read_text

_PLACEHOLDER_RE = re.compile(r"(\\?)\{\{\s*([^{}]*?)\s*\}\}")


class KickoffError(OrchestratorError):
    """A kickoff template is missing or names an unknown placeholder."""


def context(project: Project, agent: Agent, phase_index: int | None = None) -> dict:
    index = read_phase_index(project) if phase_index is None else phase_index
    phase = project.phases[index] if project.phases else None
    return {
        "project": project.name, "project_dir": project.root, "agent": agent.name, "kind": agent.kind,
        "backend": agent.backend, "model": agent.model, "session": project.session_name(agent),
        "phase": phase.name if phase else "", "phase_index": str(index), "phase_number": str(index + 1),
        "phase_count": str(len(project.phases)), "plan": phase.plan if phase else "",
    }


def render(template: str, path: str, values: dict) -> str:
    """Fill ``{{ name }}`` placeholders; an unknown one is an error naming file:line:col."""
    def fill(match: re.Match) -> str:
        if match.group(1):
            return match.group(0)[1:]
        name = match.group(2)
        if name not in values:
            line = template.count("\n", 0, match.start()) + 1
            col = match.start() - (template.rfind("\n", 0, match.start()) + 1) + 1
            raise KickoffError("%s:%d:%d: unknown placeholder {{ %s }} (known: %s)"
                               % (path, line, col, name, ", ".join(sorted(values))))
        return values[name]

    return _PLACEHOLDER_RE.sub(fill, template)


def template_path(project: Project, agent: Agent) -> str:
    """The agent's kickoff file; one outside the project (symlinks resolved, as the config's
    check does, again now: a link may have changed since) is refused unless the project has
    ``allow_outside_kickoffs = true``."""
    if not agent.kickoff:
        raise KickoffError("agent %r has no kickoff template (set kickoff = \"path\" in %s)"
                           % (agent.name, project.config_path))
    path = resolve_path(project.root, agent.kickoff)
    real = "" if project.allow_outside_kickoffs else kickoff_outside(project.root, path)
    if real:
        raise KickoffError("kickoff template of agent %r is outside the project: %s resolves to %s (set "
                           "[project] allow_outside_kickoffs = true in %s to allow it)"
                           % (agent.name, path, real, project.config_path))
    return path


def render_for(project: Project, agent: Agent, phase_index: int | None = None) -> str:
    """The agent's kickoff for the current (or given) phase."""
    path = template_path(project, agent)
    if not os.path.isfile(path):
        raise KickoffError("kickoff template of agent %r not found: %s" % (agent.name, path))
    return render(read_text(path, "kickoff template"), path, context(project, agent, phase_index))
