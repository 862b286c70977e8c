# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engine remembers of each agent in ``state/``: the runner's last run (and a loop's
own BACKOFF/FATAL), the
watchdog's bookkeeping (restarts, quick deaths, BACKOFF/FATAL/STALLED), the backend's
conversation id, and the operator's intent (stopped on purpose, a paused loop).

Readers never fail: an unreadable or invalid record reads as absent. Writers are atomic and
raise the engine's error naming the file.
"""

from __future__ import annotations

import os

from .config import Agent, Project
from .errors import StateError
from .fsutil import atomic_write, read_state_text, remove
from .layout import StateLayout


def _read_json(path: str) -> dict | None:
    import json  # deferred: ``status`` of an idle project reads no record

    try:
        data = json.loads(read_state_text(path) or "null")
    except (StateError, ValueError):  # a symlink, unreadable, not UTF-8, not JSON
        return None
    return data if isinstance(data, dict) else None


# The runner's record of the agent's last run (see runner.py).

def read_run(project: Project, agent: Agent) -> dict | None:
    """The agent's last recorded run, or None."""
    return _read_json(StateLayout.of(project).run(agent))


def write_run(project: Project, agent: Agent, record: dict) -> None:
    import json

    atomic_write(StateLayout.of(project).run(agent), json.dumps(record) + "\n")


def clear_fatal(project: Project, agent: Agent) -> bool:
    """Forget that a loop gave up (``fatal`` in its run record, after ``fatal_after`` failed
    iterations in a row); False when it had not."""
    record = read_run(project, agent)
    if not record or "fatal" not in record:
        return False
    record.pop("fatal")
    record.pop("backoff", None)
    write_run(project, agent, record)
    return True


# The backend's conversation id (``resume_arg``).

def resume_id(project: Project, agent: Agent) -> str:
    try:
        return (read_state_text(StateLayout.of(project).resume(agent)) or "").strip()
    except StateError:  # a symlink, unreadable, not UTF-8: no id to resume
        return ""


def write_resume_id(project: Project, agent: Agent, text: str) -> None:
    atomic_write(StateLayout.of(project).resume(agent), text + "\n", 0o600)


def clear_resume_id(project: Project, agent: Agent) -> None:
    remove(StateLayout.of(project).resume(agent))


# The watchdog's bookkeeping of an agent (see watchdog.py).

def read_watch(project: Project, agent: Agent) -> dict:
    """Restarts, recent quick deaths, BACKOFF/FATAL/STALLED ({} when none)."""
    return _read_json(StateLayout.of(project).watch(agent)) or {}


def write_watch(project: Project, agent: Agent, data: dict) -> None:
    import json

    atomic_write(StateLayout.of(project).watch(agent), json.dumps(data, sort_keys=True) + "\n")


def clear_watch(project: Project, agent: Agent) -> bool:
    """Forget the watchdog's bookkeeping; False when there was none."""
    return remove(StateLayout.of(project).watch(agent))


# The operator's intent.

def is_stopped(project: Project, agent: Agent) -> bool:
    """Whether an operator wants the agent down (``down``, ``state=stopped``): the
    watchdog never revives it until an operator starts it again."""
    return os.path.exists(StateLayout.of(project).stopped(agent))


def set_stopped(project: Project, agent: Agent, stopped: bool) -> None:
    path = StateLayout.of(project).stopped(agent)
    if not stopped:
        remove(path)
    elif not os.path.exists(path):
        atomic_write(path, "stopped by an operator\n")


def is_paused(project: Project, agent: Agent) -> bool:
    """Whether a loop agent is held before its next iteration (``pause``)."""
    return os.path.exists(StateLayout.of(project).paused(agent))


def set_paused(project: Project, agent: Agent, paused: bool) -> None:
    path = StateLayout.of(project).paused(agent)
    if paused:
        atomic_write(path, "paused\n")
    else:
        remove(path)
