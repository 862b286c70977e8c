# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``agents.py status`` without loading the engine: the validated project, as plain data.

Most of what status costs at a handful of agents is Python importing the engine (dataclasses,
re, argparse, the validation code), not the work. So when status validates agents.toml it
also caches a **view** of the validated project (``plan``: what status reads of it, as plain
data) beside what tomllib made of the text (early.py's parsed-config cache), with a
**stamp**: everything that validation reads besides the text, taken before it reads it
and again after (``stamp``; no view is kept when they differ, or when an input cannot be
told). The next ``agents.py status`` with no options (``run``) uses the view only when
the stamp taken now is the same, and then builds the same report from it (``status.report``,
the very code the engine's path runs) with nothing but light modules imported.

The stamp holds: $HOME and /etc/passwd (``~`` in paths), the engine's own code (a new
engine validates differently), the real paths of the kickoffs the config names (validation
refuses one that resolves outside the project) and of its folder, and the agent profile
folders (their files, and whether the project pins an engine with its own). A file is known
by its device, inode, size, mtime and ctime, and a symlink by itself and its target.
Anything else is a miss: the engine's path runs, validates, and caches a new view.

Whatever the quick path cannot show as the engine's would (the server's answer is not a
plain success, a row needs what the view lacks, anything raised), it leaves to the
engine's path, which has the same tmux answer (``early.take``) and says what is wrong.
It never writes. Imports only light modules (status, tmuxproc, layout, bookkeeping,
phase, fsutil, errors, plain), and procs.py only for a project with a builtin watchdog.
"""

from __future__ import annotations

import os
import sys

from . import early, layout
from .fsutil import resolve_path

TYPE_CHECKING = False  # not typing's: this is the status path
if TYPE_CHECKING:
    from .config import Project

PLAN_FORMAT = 2  # the shape of ``plan``'s data and of the stamp; another is a miss
_CODE_DIR = os.path.dirname(os.path.abspath(__file__))
# What validation reads of the environment: ``~`` in a path is $HOME (the password database's
# home when it is unset, or for ``~user``: /etc/passwd is stamped too). Nothing else: a test
# (test_quick.py) fails when config.py, tomlcheck.py or profiles.py read more of it.
ENV_READ = ("HOME",)


class _Unknown(Exception):
    """An input of validation that cannot be told now: no stamp, so no view is used or kept."""


def _identity(path: str, follow: bool = True) -> tuple | None:
    """A file's identity and version (device, inode, size, mtime, ctime: an edit that keeps
    the size and mtime still moves the ctime); None when there is none (or it dangles)."""
    try:
        info = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _Unknown(str(exc)) from None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _listing(folder: str) -> tuple | None:
    """Every entry of ``folder``: its name, its own identity and what it names (a symlink's
    target; None when it dangles); None when there is no such folder."""
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise _Unknown(str(exc)) from None
    return tuple((name, _identity(os.path.join(folder, name), False), _identity(os.path.join(folder, name)))
                 for name in names)


def _code() -> tuple:
    """The engine's code as validation runs it: its modules' names and versions."""
    return tuple(entry for entry in _listing(_CODE_DIR) or () if entry[0].endswith(".py"))


def _kickoffs(root: str, data: dict) -> tuple:
    """The real path of every kickoff the config names, resolved as validation resolves it."""
    agents = data.get("agents")
    paths = set()
    if isinstance(agents, dict):
        for table in agents.values():
            kickoff = table.get("kickoff") if isinstance(table, dict) else None
            if isinstance(kickoff, str) and kickoff and "\0" not in kickoff:
                paths.add(resolve_path(root, kickoff))
    return tuple((path, os.path.realpath(path)) for path in sorted(paths))


def stamp(config_path: str, data: dict) -> tuple | None:
    """What validating ``data`` (tomllib's parse of ``config_path``) reads besides its text;
    None when some of it cannot be told (a folder that cannot be listed): no view then.
    config.load takes it before validation and again after, and keeps a view only when both
    agree (an input that changed meanwhile is a miss)."""
    root = os.path.dirname(config_path)
    try:
        return (PLAN_FORMAT, sys.hexversion, tuple(os.environ.get(name) for name in ENV_READ),
                _identity("/etc/passwd"), _code(), os.path.realpath(root), _kickoffs(root, data),
                _listing(os.path.join(root, "engine", "profiles")), _listing(layout.ENGINE_PROFILE_DIR))
    except _Unknown:
        return None


def plan(project: Project) -> dict:
    """What status reads of a validated project, as plain data (``PlanProject`` reads it)."""
    from .sessions import needs_engine

    return {"config_path": project.config_path, "root": project.root, "state_dir": project.state_dir,
            "log_dir": project.log_dir, "session_prefix": project.session_prefix,
            "phases": [(p.name, p.plan) for p in project.phases],
            "agents": [(a.name, a.kind, a.backend, a.model, a.watch, a.enabled, a.is_service, a.builtin,
                        needs_engine(project, a), project.session_name(a)) for a in project.agents]}


class PlanPhase:
    """A phase of the view: what status shows of it."""

    __slots__ = ("name", "plan")

    def __init__(self, name: str, plan_: str) -> None:
        self.name = name
        self.plan = plan_


class PlanAgent:
    """An agent of the view: what status reads of a ``config.Agent``, and its session's name."""

    __slots__ = ("name", "kind", "backend", "model", "watch", "enabled", "is_service", "builtin", "needs_engine",
                 "session")  # the session's name, as the project names it (``Project.session_name``)

    def __init__(self, name: str, kind: str, backend: str, model: str, watch: str, enabled: bool, is_service: bool,
                 builtin: str, needs_engine: bool, session: str) -> None:
        self.name = name
        self.kind = kind
        self.backend = backend
        self.model = model
        self.watch = watch
        self.enabled = enabled
        self.is_service = is_service
        self.builtin = builtin
        self.needs_engine = needs_engine
        self.session = session


class PlanProject:
    """The view of a validated project: what status reads of a ``config.Project``."""

    __slots__ = ("config_path", "root", "state_dir", "log_dir", "session_prefix", "phases", "agents")

    def __init__(self, data: dict) -> None:
        self.config_path: str = data["config_path"]
        self.root: str = data["root"]
        self.state_dir: str = data["state_dir"]
        self.log_dir: str = data["log_dir"]
        self.session_prefix: str = data["session_prefix"]
        self.phases = tuple(PlanPhase(*p) for p in data["phases"])
        self.agents = tuple(PlanAgent(*a) for a in data["agents"])

    def session_name(self, agent: PlanAgent) -> str:
        return agent.session

    def unsupported_reason(self, agent: PlanAgent, engine_script: str = "") -> str:
        return layout.no_engine_reason(self.root, agent, agent.needs_engine, engine_script)  # type: ignore[arg-type]


def run(engine_root: str) -> int | None:
    """``agents.py status`` from the view, when early.py's cache had one with today's stamp:
    the report written, its exit status returned; None when the engine's path is to run."""
    view = early.cached_view()
    if view is None:
        return None
    path, data, (stamped, plan_) = view
    spawned = early.peek()
    if spawned is None or stamped is None or stamped != stamp(path, data):
        return None
    try:
        code, out, _err = spawned.wait()
        if code != 0:  # no server, an empty one, a refusal: the engine's path tells them apart
            return None
        from . import status, tmuxproc

        report = status.report(PlanProject(plan_), tmuxproc.parse_panes(out), count_watchdogs=False,  # type: ignore[arg-type]
                               engine_script=os.path.join(engine_root, "agents.py"))
    except Exception:  # pylint: disable=broad-exception-caught  # the engine's path says what is wrong
        return None
    return status.write_report(report, sys.stdout, sys.stderr)
