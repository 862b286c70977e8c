# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engine remembers of each agent in ``state/``: the runner's last run (and a loop's
own BACKOFF/FATAL), the
watchdog's bookkeeping (restarts, quick deaths, BACKOFF/FATAL/STALLED), the backend's
conversation id, the operator's intent (stopped on purpose, a paused loop), and who the
project is (its id, and the owner its sessions are tagged with).

Readers never fail: an unreadable record, or one that is not a JSON object, reads as absent;
a field of the wrong type (``{"restarts": "many"}``) reads as absent too, and a process that
registered a reporter (``report_bad_records``: the watchdog, the runner) hears once per
content of the file what was ignored. Writers are atomic and
raise the engine's error naming the file.
"""

from __future__ import annotations

import os

from .errors import OrchestratorError, StateError
from .fsutil import atomic_write, read_state_bytes, read_state_text, remove
from .layout import StateLayout
from .tmuxproc import Owner

TYPE_CHECKING = False  # not typing's: the status path does not import typing (nor config.py)
if TYPE_CHECKING:
    from .config import Agent, Project


# What each field of a record must be: a bad value reads as the field's absence (its default).
_NUMBER = "number"
_INT = "int"
_TEXT = "text"
_FLAG = "flag"
_NUMBERS = "numbers"
_OPTIONAL = "?"  # suffix: null is allowed too
WATCH_FIELDS = {"state": _TEXT, "failures": _NUMBERS, "last_start": _NUMBER, "restarts": _INT,
                "next_try": _NUMBER, "nudged": _NUMBER, "unready": _INT}
RUN_FIELDS = {"agent": _TEXT, "kind": _TEXT, "iteration": _INT, "phase": _TEXT + _OPTIONAL,
              "started": _NUMBER, "ended": _NUMBER + _OPTIONAL, "exit": _INT + _OPTIONAL,
              "pid": _INT + _OPTIONAL, "fatal": _TEXT, "finished": _FLAG, "backoff": "backoff"}

# Who hears of a record that was ignored in part or whole (the watchdog and the runner make
# it an event; status stays silent: it writes nothing). Each content of a file is reported once.
_reporter: list = []
_reported: dict = {}


def report_bad_records(reporter) -> None:
    """Have ``reporter(path, problem)`` called once per bad content of a record file (None:
    nobody hears)."""
    _reporter[:] = [reporter] if reporter is not None else []
    _reported.clear()


def _report(path: str, raw: bytes, problem: str) -> None:
    import hashlib

    digest = hashlib.sha256(raw).hexdigest()
    if not _reporter or _reported.get(path) == digest:
        return
    _reported[path] = digest
    try:
        _reporter[0](path, problem)
    except Exception:  # pylint: disable=broad-exception-caught  # reporting must never end a reader
        pass


def _valid(kind: str, value: object) -> bool:
    if kind.endswith(_OPTIONAL):
        return value is None or _valid(kind[:-1], value)
    if isinstance(value, bool):
        return kind == _FLAG
    if kind == _NUMBER:
        import math

        return isinstance(value, (int, float)) and math.isfinite(value)
    if kind == _INT:
        return isinstance(value, int)
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == _NUMBERS:
        return isinstance(value, list) and all(_valid(_NUMBER, v) for v in value)
    if kind == "backoff":
        return isinstance(value, dict) and _valid(_INT, value.get("failures")) and _valid(_NUMBER, value.get("until"))
    return False


def _read_json(path: str, fields: dict | None = None) -> dict | None:
    """The record in ``path`` with every field of ``fields`` of the wrong type left out;
    None when there is none or it is not a JSON object (reported, as bad fields are)."""
    import json  # deferred: ``status`` of an idle project reads no record

    try:
        raw = read_state_bytes(path)
    except StateError as exc:  # unreadable, a symlink, a FIFO (never followed or waited on in state/)
        _report(path, b"", "%s: ignored" % exc)
        return None
    if raw is None:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        _report(path, raw, "not UTF-8 text: ignored")
        return None
    except ValueError as exc:
        _report(path, raw, "not JSON (%s): ignored" % exc)
        return None
    if not isinstance(data, dict):
        _report(path, raw, "a JSON %s, not an object: ignored" % type(data).__name__)
        return None
    bad = sorted(k for k, kind in (fields or {}).items() if k in data and not _valid(kind, data[k]))
    if bad:
        _report(path, raw, "ignored field(s) with a wrong value: %s" % ", ".join(
            "%s=%s" % (k, json.dumps(data[k])[:40]) for k in bad))
        for key in bad:
            del data[key]
    return data


# The runner's record of the agent's last run (see runner.py).

def read_run(project: Project, agent: Agent) -> dict | None:
    """The agent's last recorded run, or None."""
    return _read_json(StateLayout.of(project).run(agent), RUN_FIELDS)


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
    return _read_json(StateLayout.of(project).watch(agent), WATCH_FIELDS) or {}


def write_watch(project: Project, agent: Agent, data: dict) -> None:
    import json

    atomic_write(StateLayout.of(project).watch(agent), json.dumps(data, sort_keys=True) + "\n", durable=False)


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


# Who the project is: its id (``state/project-id``, made by sessions.ensure_project_id at its
# first start) and, with its config's paths, the owner its sessions are tagged with.

_HEX = frozenset("0123456789abcdef")


def read_project_id(project: Project) -> str:
    """The project's id (``state/project-id``); "" before its first start, or when unreadable."""
    try:
        value = (read_state_text(StateLayout.of(project).project_id) or "").strip()
    except OrchestratorError:  # a symlink, unreadable, not UTF-8
        return ""
    return value if len(value) == 32 and _HEX.issuperset(value) else ""


def owner_of(project: Project) -> Owner:
    """Who the project's engine is for its sessions' tags: its config's real path (the tag it
    writes), the path as given (agents.toml replaced by a symlink), and its project id."""
    real = os.path.realpath(project.config_path)
    return Owner(tuple(dict.fromkeys((real, os.path.abspath(project.config_path)))), read_project_id(project))
