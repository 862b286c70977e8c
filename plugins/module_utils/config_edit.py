# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Style-preserving edits of an agents.toml's ``[project]`` table (comments and layout
kept), validated before anything is written, written atomically under the project's lock."""

from __future__ import annotations

import os

from . import config as config_mod
from .errors import ConfigError, ConfigIssue
from .tomlcheck import read_text

PROJECT_KEYS = ("name", "session_prefix", "log_dir", "state_dir", "tmux_socket")


def set_project_keys(text: str, values: dict, path: str) -> str:
    """``text`` with the given ``[project]`` keys set (None leaves a key as it is); the
    result must be a valid config for ``path``."""
    import tomlkit  # deferred: only edits need it

    unknown = sorted(set(values) - set(PROJECT_KEYS))
    if unknown:
        raise ConfigError([ConfigIssue(path, 0, 0, "project", "cannot set %s (settable: %s)"
                                       % (", ".join(unknown), ", ".join(PROJECT_KEYS)))])
    doc = tomlkit.parse(text)
    project = doc.get("project")
    if project is None:
        project = tomlkit.table()
        doc.add("project", project)
    for key in PROJECT_KEYS:
        value = values.get(key)
        if value is not None and project.get(key) != value:
            project[key] = value
    new_text = tomlkit.dumps(doc)
    config_mod.parse(new_text, path)
    return new_text


def apply(path: str, values: dict, check_mode: bool = False) -> tuple:
    """Set ``[project]`` keys of the agents.toml at ``path``; returns ``(changed, before, after)``."""
    from .fsutil import atomic_write, locked
    from .layout import StateLayout

    path = os.path.abspath(path)
    project = config_mod.load(path)  # never edit a broken file
    before = read_text(path)
    after = set_project_keys(before, values, path)
    if after != before and not check_mode:
        with locked(StateLayout.of(project).engine_lock):
            if read_text(path) != before:
                raise ConfigError([ConfigIssue(path, 0, 0, "", "changed by someone else while being edited; "
                                               "run again")])
            atomic_write(path, after, os.stat(path).st_mode & 0o7777, follow_symlinks=True)
    return after != before, before, after


REDACTED = "<redacted>"


def redact_env(text: str) -> str:
    """The text of an agents.toml with every agent's ``env`` value replaced, for diffs and
    output: environment values may be secrets."""
    import tomlkit

    try:
        doc = tomlkit.parse(text)
    except Exception:  # not TOML: show nothing of it rather than risk a secret
        return "(agents.toml, %d bytes: not shown)\n" % len(text)
    agents = doc.get("agents")
    if agents is None:
        return text
    for spec in agents.values():
        env = spec.get("env") if hasattr(spec, "get") else None
        if env is not None and hasattr(env, "keys"):
            for key in list(env.keys()):
                env[key] = REDACTED
    return tomlkit.dumps(doc)
