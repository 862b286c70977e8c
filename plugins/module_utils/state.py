# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A project's ``state/`` folder: the phase index and the engine's lock."""

from __future__ import annotations

import os

from .config import Agent, Project
from .errors import StateError

PHASE_FILE = "phase-idx"
LOCK_FILE = ".engine.lock"


def phase_index_path(project: Project) -> str:
    return os.path.join(project.state_dir, PHASE_FILE)


def lock_path(project: Project) -> str:
    return os.path.join(project.state_dir, LOCK_FILE)


def read_phase_index(project: Project) -> int:
    """The current 0-based phase index (0 when none was ever set)."""
    path = phase_index_path(project)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise StateError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    try:
        index = int(text)
    except ValueError:
        raise StateError("%s:1:1: phase index must be a whole number, got %r" % (path, text[:40])) from None
    if project.phases and not 0 <= index < len(project.phases):
        raise StateError("%s:1:1: phase index %d is out of range: the config has %d phase(s) (0..%d)"
                         % (path, index, len(project.phases), len(project.phases) - 1))
    return index


def resolve_phase(project: Project, phase: str | int) -> int:
    """The 0-based index of ``phase``: an index (``18``, ``"18"``) or a phase name."""
    if not project.phases:
        raise StateError("%s has no [[phases]]" % project.config_path)
    count = len(project.phases)
    text = str(phase).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < count:
            raise StateError("phase index %d is out of range: %s has %d phase(s), 0..%d"
                             % (index, project.config_path, count, count - 1))
        return index
    for index, item in enumerate(project.phases):
        if item.name == text:
            return index
    raise StateError("unknown phase %r; %s has: %s" % (text, project.config_path,
                                                       ", ".join(p.name for p in project.phases)))


def next_phase(project: Project) -> int:
    """The index after the current phase; an error at the last one or without phases."""
    current = resolve_phase(project, read_phase_index(project) if project.phases else 0)
    if current + 1 >= len(project.phases):
        raise StateError("already at the last phase (%s)" % project.phases[current].name)
    return current + 1


def set_phase(project: Project, phase: str | int, check_mode: bool = False) -> tuple:
    """Set the current phase; returns ``(old index, new index)``. Written atomically
    under the project's lock; nothing is written in check mode or when unchanged."""
    from .fsutil import atomic_write, locked

    new = resolve_phase(project, phase)
    if check_mode:
        return read_phase_index(project), new
    with locked(lock_path(project)):
        old = read_phase_index(project)
        if old != new or not os.path.exists(phase_index_path(project)):
            atomic_write(phase_index_path(project), "%d\n" % new)
    return old, new


def phase_exists(project: Project) -> bool:
    """Whether the phase index was ever written (else the first phase is current)."""
    return os.path.exists(phase_index_path(project))


# Per-agent files the runner keeps (see runner.py).

def run_file(project: Project, agent: Agent) -> str:
    return os.path.join(project.state_dir, "%s.run.json" % agent.name)


def pause_file(project: Project, agent: Agent) -> str:
    return os.path.join(project.state_dir, "%s.paused" % agent.name)


def resume_file(project: Project, agent: Agent) -> str:
    return os.path.join(project.state_dir, "%s.resume-id" % agent.name)


def prompt_file(project: Project, agent: Agent) -> str:
    return os.path.join(project.state_dir, "%s.kickoff.md" % agent.name)


def read_run(project: Project, agent: Agent) -> dict | None:
    """The agent's last recorded run, or None."""
    import json  # deferred: only projects with loop or task agents read runs

    try:
        with open(run_file(project, agent), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def resume_id(project: Project, agent: Agent) -> str:
    try:
        with open(resume_file(project, agent), encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def stopped_marker(project: Project, agent: Agent) -> str:
    """Present while an operator wants the agent down (``down``, ``state=stopped``): the
    watchdog never revives it. Removed when an operator starts the agent again."""
    return os.path.join(project.state_dir, "%s.stopped" % agent.name)


def watch_file(project: Project, agent: Agent) -> str:
    return os.path.join(project.state_dir, "%s.watch.json" % agent.name)


def read_watch(project: Project, agent: Agent) -> dict:
    """The watchdog's bookkeeping of an agent: restarts, recent quick deaths, BACKOFF/FATAL."""
    import json  # deferred: only watched projects read it

    try:
        with open(watch_file(project, agent), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_watch(project: Project, agent: Agent, data: dict) -> None:
    import json

    from .fsutil import atomic_write

    atomic_write(watch_file(project, agent), json.dumps(data, sort_keys=True) + "\n")


def clear_watch(project: Project, agent: Agent) -> bool:
    try:
        os.unlink(watch_file(project, agent))
        return True
    except FileNotFoundError:
        return False


def carry_over(source: Project, target: Project, check_mode: bool = False) -> list:
    """Carry a project's state over to another config of the same agents (a cutover's
    ``reuse``, and its rollback): the phase index and the resume id of every agent both
    configs have. Returns one dict per file with its text ``before`` and ``after`` and
    whether it ``changed``; written atomically under the target's lock, nothing in check
    mode. A phase index whose phase has another name in the target is refused (the index
    would silently mean a different phase)."""
    from .fsutil import atomic_write, locked

    if os.path.realpath(source.state_dir) == os.path.realpath(target.state_dir):
        return []
    wanted = []  # (path, text, mode)
    if phase_exists(source):
        index = read_phase_index(source)
        name = source.phases[index].name if source.phases else None
        there = target.phases[index].name if index < len(target.phases) else None
        if name != there and (name is not None or target.phases):
            raise StateError("%s: phase %d is %s there, but %s in %s; align the [[phases]] of both configs "
                             "or start fresh" % (phase_index_path(source), index, repr(name) if name else "undefined",
                                                 repr(there) if there else "undefined", target.config_path))
        wanted.append((phase_index_path(target), "%d\n" % index, 0o644))
    names = {a.name for a in source.agents}
    for agent in target.agents:
        if agent.name in names:
            text = resume_id(source, source.agent(agent.name))
            if text:
                wanted.append((resume_file(target, agent), text + "\n", 0o600))
    if not wanted:
        return []

    def plan() -> list:
        out = []
        for path, text, _mode in wanted:
            try:
                with open(path, encoding="utf-8") as handle:
                    before = handle.read()
            except FileNotFoundError:
                before = None
            out.append({"file": path, "before": before, "after": text, "changed": before != text})
        return out

    if check_mode:
        return plan()
    with locked(lock_path(target)):
        result = plan()
        for item, (path, text, mode) in zip(result, wanted):
            if item["changed"]:
                atomic_write(path, text, mode)
    return result
