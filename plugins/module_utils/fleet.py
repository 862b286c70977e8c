# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet registry: ``fleet.toml`` (schema v1) lists the projects a host or operator
manages.

    schema = 1

    [projects.cc-ci]
    dir = "/home/loops/poe2e/cc-ci"
    engine = "agent-orchestrator@v0.1.0"
    enabled = false
    tmux_socket = "ao-cc-ci"    # optional: the server its agents run on (below)

``tmux_socket`` has the meaning of agents.toml's ``[project] tmux_socket`` and of the
modules' option: a name is ``tmux -L NAME``, an absolute path (with ``/``) ``tmux -S PATH``,
``default`` the default server. It overrides the project's own agents.toml socket for what
reads the fleet (``fleet status``); left out, the project's agents.toml applies. It may not
be blank (a file saying ``""`` would read as "not given" to some and "the default server"
to others: agents.toml's own meaning): leave the key out instead.

Reads validate every entry and report all problems with line and column. Edits keep the
file's comments and layout (tomlkit), are validated before they are written, and are
written atomically under a lock, so concurrent edits from separate processes serialize.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .config import socket_name_problem
from .errors import ConfigError, ConfigIssue, OrchestratorError
from .fsutil import atomic_write, locked
from .tomlcheck import BOOL, INT, STR, TABLE, Checker, get_str, parse_toml, read_text

SCHEMA = 1
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*\Z")
_ENGINE_RE = re.compile(r"^[^@\s]+@[^@\s]+\Z")
_TOP_KEYS = {"schema": INT, "projects": TABLE}
_ENTRY_KEYS = {"dir": STR, "engine": STR, "enabled": BOOL, "description": STR, "tmux_socket": STR}
UNSETTABLE = ("description", "tmux_socket")
HEADER = ("# fleet.toml: the projects this host or operator manages (schema v1).\n"
          "# Edited by agentloops.orchestrator.fleet_entry; comments and layout are kept.\n")


class FleetProject:
    __slots__ = ("name", "dir", "engine", "enabled", "description", "tmux_socket")

    def __init__(self, name: str, dir: str, engine: str, enabled: bool = True, description: str = "",
                 tmux_socket: str | None = None) -> None:
        self.name = name
        self.dir = dir
        self.engine = engine
        self.enabled = enabled
        self.description = description
        self.tmux_socket = tmux_socket  # None: the project's agents.toml socket applies

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__}

    def status_line(self) -> str:
        line = "%s [%s] %s %s" % (self.name, "enabled" if self.enabled else "disabled", self.engine, self.dir)
        return line + (" tmux_socket=%s" % self.tmux_socket if self.tmux_socket else "")


class Fleet:
    __slots__ = ("path", "schema", "projects")

    def __init__(self, path: str, schema: int, projects: list) -> None:
        self.path = path
        self.schema = schema
        self.projects = projects

    def get(self, name: str) -> FleetProject | None:
        for project in self.projects:
            if project.name == name:
                return project
        return None

    @property
    def enabled(self) -> list:
        return [p for p in self.projects if p.enabled]

    def summary(self) -> str:
        return "fleet: OK — %d project(s), schema v%d" % (len(self.projects), self.schema)

    def totals_line(self) -> str:
        enabled = len(self.enabled)
        return "total=%d enabled=%d disabled=%d" % (len(self.projects), enabled, len(self.projects) - enabled)


@dataclass(slots=True, frozen=True)
class ProjectStatus:
    """One fleet project as ``fleet status`` sees it: live ``running``/``stopped`` counts
    when it was looked at, or why its config could not be read."""

    entry: FleetProject
    running: int | None = None
    stopped: int | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return dict(self.entry.as_dict(), running=self.running, stopped=self.stopped, error=self.error)

    def line(self) -> str:
        line = self.entry.status_line()
        if self.running is not None:
            line += " running=%d stopped=%d" % (self.running, self.stopped or 0)
        elif self.error:
            line += " (unreadable: %s)" % self.error
        return line


def fleet_status(fleet: Fleet, live: bool = True) -> list[ProjectStatus]:
    """Every fleet project; with ``live``, enabled ones carry live counts (one tmux call per
    distinct server) or the first line of the error that kept their config from being read.
    Disabled projects are not looked at."""
    servers: dict = {}
    return [_live_status(entry, servers) if live and entry.enabled else ProjectStatus(entry)
            for entry in fleet.projects]


def _live_status(entry: FleetProject, servers: dict) -> ProjectStatus:
    """``servers``: the sessions of every tmux server read so far, by socket. The entry's
    ``tmux_socket``, when it has one, picks the server; else the project's agents.toml does."""
    from .engine import open_project  # deferred: the registry itself needs no tmux

    try:
        project, server = open_project(os.path.join(entry.dir, "agents.toml"), entry.tmux_socket)
        if server.socket not in servers:
            servers[server.socket] = server.sessions()
        live = servers[server.socket]
    except OrchestratorError as exc:
        return ProjectStatus(entry, error=str(exc).splitlines()[0])
    from .sessions import ended  # deferred, as open_project: the registry itself needs no tmux

    running = sum(1 for a in project.agents if project.session_name(a) in live and not ended(live[project.session_name(a)]))
    return ProjectStatus(entry, running=running, stopped=len(project.agents) - running)


def fleet_lines(fleet: Fleet, statuses: list[ProjectStatus]) -> list[str]:
    """``fleet status`` lines: one per project (enabled ones with live counts), then totals."""
    return [s.line() for s in statuses] + [fleet.totals_line()]


def check_dir(value: str) -> str:
    """'' when ``value`` is an acceptable project folder, else why not."""
    if not value:
        return "must not be empty"
    if not os.path.isabs(value):
        return "must be an absolute path, got %r" % value
    return ""


def check_engine(value: str) -> str:
    return "" if _ENGINE_RE.match(value) else "must be NAME@REF (e.g. agent-orchestrator@v0.1.0), got %r" % value


def check_socket(value: str) -> str:
    """'' when ``value`` is an acceptable entry ``tmux_socket``, else why not: not blank, a
    name tmux takes for ``-L`` or an absolute path (an entry is read from anywhere, so a
    relative one would mean a different server to each reader)."""
    if not value.strip():
        return ("must not be empty: leave the key out for the project's own agents.toml socket, "
                "or say \"default\" for the default tmux server")
    if "/" in value and not os.path.isabs(value):
        return "a socket path must be absolute, got %r" % value
    return socket_name_problem(value)


def check_name(value: str) -> str:
    return "" if _NAME_RE.match(value) else (
        "project names may hold only letters, digits, '-' and '_', got %r" % value)


def parse(text: str, path: str) -> Fleet:
    data = parse_toml(text, path)
    check = Checker(path, text)
    check.table(data, (), _TOP_KEYS)
    schema = data.get("schema")
    if "schema" not in data:
        check.error((), "missing required key 'schema' (this version reads schema %d)" % SCHEMA)
    elif isinstance(schema, int) and not isinstance(schema, bool) and schema != SCHEMA:
        check.error(("schema",), "unknown schema %d (this version reads schema %d)" % (schema, SCHEMA))
    projects = []
    dirs: dict = {}
    table = data.get("projects", {})
    for name, entry in (table.items() if isinstance(table, dict) else ()):
        kp = ("projects", name)
        why = check_name(name)
        if why:
            check.error(kp, why)
        entry = check.table(entry, kp, _ENTRY_KEYS)
        if entry is None:
            continue
        for req in ("dir", "engine"):
            if req not in entry:
                check.error(kp, "missing required key %r" % req)
        pdir, engine = get_str(entry, "dir"), get_str(entry, "engine")
        if "dir" in entry and isinstance(entry["dir"], str):
            why = check_dir(pdir)
            if why:
                check.error(kp + ("dir",), why)
            elif os.path.normpath(pdir) in dirs:
                check.error(kp + ("dir",), "%s is already registered as project %r" % (pdir, dirs[os.path.normpath(pdir)]))
            dirs.setdefault(os.path.normpath(pdir), name)
        if "engine" in entry and isinstance(entry["engine"], str):
            why = check_engine(engine)
            if why:
                check.error(kp + ("engine",), why)
        socket = entry.get("tmux_socket")
        if isinstance(socket, str):
            why = check_socket(socket)
            if why:
                check.error(kp + ("tmux_socket",), why)
        enabled = entry.get("enabled", True)
        projects.append(FleetProject(name, pdir, engine, enabled if isinstance(enabled, bool) else True,
                                     get_str(entry, "description"), socket if isinstance(socket, str) else None))
    check.finish()
    return Fleet(path, SCHEMA, projects)


def load(path: str) -> Fleet:
    path = os.path.abspath(path)
    return parse(read_text(path, "fleet file"), path)


def lock_path(path: str) -> str:
    """The fleet file's lock, beside the file it resolves to: two writers through two
    symlinks to one file take one lock."""
    real = os.path.realpath(path)
    return os.path.join(os.path.dirname(real), "." + os.path.basename(real) + ".lock")


class EntryChange:
    """The result of an edit: texts and entries before and after."""

    __slots__ = ("changed", "before_text", "after_text", "before", "after")

    def __init__(self, changed: bool, before_text: str, after_text: str, before: dict | None,
                 after: dict | None) -> None:
        self.changed = changed
        self.before_text = before_text
        self.after_text = after_text
        self.before = before
        self.after = after


def edit_text(text: str, path: str, name: str, state: str, dir: str | None = None,
              engine: str | None = None, enabled: bool | None = None,
              description: str | None = None, tmux_socket: str | None = None, unset: tuple = ()) -> str:
    """The fleet file's new text with entry ``name`` present (with the given values;
    None keeps the current one; a blank ``tmux_socket`` is not given either) or absent.
    ``unset`` names optional keys (``UNSETTABLE``) to drop from the entry. The text must be
    a valid fleet file (or empty) and the result is validated: an error raises and nothing
    is returned."""
    import tomlkit  # deferred: only edits need it

    if text.strip():
        parse(text, path)  # never edit a broken file
        doc = tomlkit.parse(text)
    else:
        doc = tomlkit.parse(HEADER)
        doc.add("schema", SCHEMA)
    tmux_socket = tmux_socket.strip() or None if tmux_socket is not None else None
    unset = tuple(unset or ())
    problems = [why for why in (check_name(name),
                                check_dir(dir) if dir is not None else "",
                                check_engine(engine) if engine is not None else "",
                                "tmux_socket: " + check_socket(tmux_socket) if tmux_socket and check_socket(tmux_socket)
                                else "") if why]
    problems += ["cannot unset %r (unsettable: %s)" % (key, ", ".join(UNSETTABLE)) for key in unset
                 if key not in UNSETTABLE]
    given = {"description": description, "tmux_socket": tmux_socket}
    problems += ["cannot both set and unset %s" % key for key in unset if given.get(key)]
    if problems:
        raise ConfigError([ConfigIssue(path, 0, 0, "projects.%s" % name, p) for p in problems])
    projects = doc.get("projects")
    if state == "absent":
        if projects is not None and name in projects:
            del projects[name]
        return tomlkit.dumps(doc)
    if projects is None:
        projects = tomlkit.table(is_super_table=True)
        doc.add("projects", projects)
    if name not in projects:
        if dir is None or engine is None:
            missing = [k for k, v in (("dir", dir), ("engine", engine)) if v is None]
            raise ConfigError([ConfigIssue(path, 0, 0, "projects.%s" % name,
                                           "a new entry needs %s" % " and ".join(missing))])
        entry = tomlkit.table()
        entry.add("dir", os.path.normpath(dir))
        entry.add("engine", engine)
        entry.add("enabled", True if enabled is None else enabled)
        if description:
            entry.add("description", description)
        if tmux_socket:
            entry.add("tmux_socket", _normal_socket(tmux_socket))
        projects.add(name, entry)
    else:
        entry = projects[name]
        for key, value in (("dir", os.path.normpath(dir) if dir is not None else None), ("engine", engine),
                           ("enabled", enabled), ("description", description),
                           ("tmux_socket", _normal_socket(tmux_socket) if tmux_socket else None)):
            if value is not None and entry.get(key) != value:
                entry[key] = value
        for key in unset:
            if key in entry:
                del entry[key]
    new_text = tomlkit.dumps(doc)
    parse(new_text, path)
    return new_text


def _normal_socket(socket: str) -> str:
    return os.path.normpath(socket) if "/" in socket else socket


def apply_entry(path: str, name: str, state: str = "present", check_mode: bool = False, **values) -> EntryChange:
    """Make entry ``name`` present or absent in the fleet file at ``path``, under the
    file's lock; the file is created (schema v1) when it does not exist, except to drop an
    entry (then nothing is). In check mode the change is computed and nothing is written."""
    path = os.path.abspath(path)
    if state not in ("present", "absent"):
        raise OrchestratorError("state must be present or absent")

    def compute() -> EntryChange:
        before_text = read_text(path, "fleet file") if os.path.exists(path) else ""
        before_fleet = parse(before_text, path) if before_text.strip() else None
        before = before_fleet.get(name) if before_fleet else None
        if state == "absent" and before is None:
            return EntryChange(False, before_text, before_text, None, None)
        after_text = edit_text(before_text, path, name, state, **values)
        after = parse(after_text, path).get(name)
        return EntryChange(after_text != before_text, before_text, after_text,
                           before.as_dict() if before else None, after.as_dict() if after else None)

    if check_mode or (state == "absent" and not os.path.lexists(path)):
        return compute()  # no file: no entry to drop, and nothing (not even a lock) is created
    with locked(lock_path(path)):
        change = compute()
        if change.changed:
            mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else None
            atomic_write(path, change.after_text, mode, follow_symlinks=True)
    return change
