# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``agents.toml`` model: load, validate, and describe a project.

Parsing uses the standard library's ``tomllib`` (fast: this is on the path of every
``agents.py status``); style-preserving edits of the same files use tomlkit elsewhere.
Every problem is reported with the file, line, column and dotted key, and all problems of
a file are reported at once. Loading never writes anything.
"""

from __future__ import annotations

import os
import re

from .errors import ConfigError, ConfigIssue

__metaclass__ = type

KINDS = ("persistent", "loop", "task", "service")
WATCH_POLICIES = ("none", "heal", "heal+stall")
PROMPT_DELIVERIES = ("arg", "stdin", "keys", "exec")
BUILTIN_SERVICES = ("watchdog", "cleanlogs")

# Names become tmux session names: tmux turns '.' and ':' into '_' (they are target
# separators) and whitespace makes shell use fragile. Refuse rather than mangle.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]*$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Backends every project knows without declaring them. A project's [backends.NAME] table
# replaces the built-in of the same name as a whole.
BUILTIN_BACKENDS = {
    "claude": {"bin": "claude", "model_arg": "--model", "resume_arg": "--resume",
               "session_id_arg": "--session-id"},
    "codex": {"bin": "codex", "model_arg": "--model"},
    "aider": {"bin": "aider", "model_arg": "--model"},
    "demo": {"bin": "echo '[demo] agent up' ; exec sleep 1000000", "prompt_delivery": "exec"},
}

_STR = "a string"
_BOOL = "a boolean"
_STRLIST = "an array of strings"
_STRMAP = "a table of strings"

_TABLE = "a table"
_ARRAY = "an array of tables"
_TOP_KEYS = {"project": _TABLE, "phases": _ARRAY, "backends": _TABLE, "agents": _TABLE}
_PROJECT_KEYS = {"name": _STR, "session_prefix": _STR, "log_dir": _STR, "state_dir": _STR,
                 "tmux_socket": _STR}
_PHASE_KEYS = {"name": _STR, "plan": _STR}
_BACKEND_KEYS = {"bin": _STR, "args": _STRLIST, "model_arg": _STR, "resume_arg": _STR,
                 "session_id_arg": _STR, "prompt_delivery": _STR}
_AGENT_KEYS = {"kind": _STR, "backend": _STR, "model": _STR, "watch": _STR, "enabled": _BOOL,
               "kickoff": _STR, "env": _STRMAP, "builtin": _STR, "command": _STR,
               "description": _STR}


class Backend:
    """How to run one agent program: a command template and how it takes a prompt."""

    __slots__ = ("name", "bin", "args", "model_arg", "resume_arg", "session_id_arg",
                 "prompt_delivery")

    def __init__(self, name: str, bin: str, args: tuple = (), model_arg: str = "",
                 resume_arg: str = "", session_id_arg: str = "",
                 prompt_delivery: str = "arg") -> None:
        self.name = name
        self.bin = bin
        self.args = tuple(args)
        self.model_arg = model_arg
        self.resume_arg = resume_arg
        self.session_id_arg = session_id_arg
        self.prompt_delivery = prompt_delivery


class Agent:
    """One ``[agents.NAME]`` table."""

    __slots__ = ("name", "kind", "backend", "model", "watch", "enabled", "kickoff", "env",
                 "builtin", "command", "description")

    def __init__(self, name: str, kind: str, backend: str = "", model: str = "",
                 watch: str = "none", enabled: bool = True, kickoff: str = "",
                 env: dict | None = None, builtin: str = "", command: str = "",
                 description: str = "") -> None:
        self.name = name
        self.kind = kind
        self.backend = backend
        self.model = model
        self.watch = watch
        self.enabled = enabled
        self.kickoff = kickoff
        self.env = dict(env or {})
        self.builtin = builtin
        self.command = command
        self.description = description

    @property
    def is_service(self) -> bool:
        return self.kind == "service"


class Phase:
    __slots__ = ("name", "plan")

    def __init__(self, name: str, plan: str) -> None:
        self.name = name
        self.plan = plan


class Project:
    """A validated ``agents.toml``: everything the engine needs to act on a project."""

    __slots__ = ("config_path", "root", "name", "session_prefix", "log_dir", "state_dir",
                 "tmux_socket", "phases", "backends", "agents")

    def __init__(self, config_path: str, root: str, name: str, session_prefix: str,
                 log_dir: str, state_dir: str, tmux_socket: str, phases: tuple,
                 backends: dict, agents: tuple) -> None:
        self.config_path = config_path
        self.root = root
        self.name = name
        self.session_prefix = session_prefix
        self.log_dir = log_dir
        self.state_dir = state_dir
        self.tmux_socket = tmux_socket
        self.phases = phases
        self.backends = backends
        self.agents = agents

    def session_name(self, agent: Agent | str) -> str:
        return self.session_prefix + (agent if isinstance(agent, str) else agent.name)

    def agent(self, name: str) -> Agent:
        for agent in self.agents:
            if agent.name == name:
                return agent
        raise KeyError(name)

    def select(self, names: list | tuple | None) -> list:
        """The agents named (all when ``names`` is empty), in config order.

        Unknown names raise ``ConfigError`` listing what the config knows.
        """
        if not names:
            return list(self.agents)
        known = {a.name for a in self.agents}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError([ConfigIssue(self.config_path, 1, 1, "agents", "unknown agent(s) %s; this config has: %s"
                                           % (", ".join(sorted(unknown)), ", ".join(a.name for a in self.agents)))])
        wanted = set(names)
        return [a for a in self.agents if a.name in wanted]


# --------------------------------------------------------------------------------------
# Positions: tomllib gives none for keys, so a small scan of the source maps dotted key
# paths to (line, column). Tables of arrays are indexed: ("phases", 2, "plan").

_BARE_KEY = r"[A-Za-z0-9_-]+"
_BARE_KEY_RE = re.compile(r"^%s$" % _BARE_KEY)
_LOCATOR_RES: list = []


def _locator_res() -> tuple:
    """Regexes of the position scan, compiled on first use: only errors need them, and
    compiling them costs more than the rest of a ``status`` call's parsing."""
    if not _LOCATOR_RES:
        part = r'(?:%s|"(?:[^"\\]|\\.)*"|\'[^\']*\')' % _BARE_KEY
        dotted = r"%s(?:\s*\.\s*%s)*" % (part, part)
        _LOCATOR_RES.extend((re.compile(r"^\s*(\[\[?)\s*(%s)\s*\]\]?" % dotted),
                             re.compile(r"^(\s*)(%s)\s*=" % dotted),
                             re.compile(part)))
    return tuple(_LOCATOR_RES)


def _split_key(dotted: str) -> tuple:
    parts = []
    for m in _locator_res()[2].finditer(dotted):
        p = m.group(0)
        if p[0] in "\"'":
            p = p[1:-1]
        parts.append(p)
    return tuple(parts)


class _Locator:
    def __init__(self, text: str) -> None:
        self.pos: dict = {}
        array_counts: dict = {}
        current: tuple = ()
        in_multiline = False
        header_re, keyline_re, _part = _locator_res()
        for lineno, line in enumerate(text.splitlines(), start=1):
            # skip the bodies of multi-line strings
            quotes = line.count('"""') + line.count("'''")
            if in_multiline:
                if quotes % 2 == 1:
                    in_multiline = False
                continue
            header = header_re.match(line)
            if header:
                path = _split_key(header.group(2))
                if header.group(1) == "[[":
                    idx = array_counts.get(path, -1) + 1
                    array_counts[path] = idx
                    current = path + (idx,)
                    self.pos.setdefault(path, (lineno, line.index("[") + 1))
                else:
                    # [a.b] under an array of tables [[a]] refers to its last element
                    current = self._resolve(path, array_counts)
                self.pos.setdefault(current, (lineno, line.index("[") + 1))
            else:
                keyline = keyline_re.match(line)
                if keyline:
                    self.pos.setdefault(current + _split_key(keyline.group(2)),
                                        (lineno, len(keyline.group(1)) + 1))
            if quotes % 2 == 1:
                in_multiline = True

    @staticmethod
    def _resolve(path: tuple, array_counts: dict) -> tuple:
        out: tuple = ()
        for part in path:
            out = out + (part,)
            if out in array_counts:
                out = out + (array_counts[out],)
        return out

    def locate(self, path: tuple) -> tuple:
        while path:
            if path in self.pos:
                return self.pos[path]
            path = path[:-1]
        return (1, 1)


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += "[%d]" % (part + 1)
        else:
            out += ("." if out else "") + (part if _BARE_KEY_RE.match(part) else '"%s"' % part)
    return out


class _Checker:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self._locator: _Locator | None = None
        self.issues: list = []

    def error(self, key_path: tuple, message: str) -> None:
        if self._locator is None:
            self._locator = _Locator(self.text)
        line, col = self._locator.locate(key_path)
        self.issues.append(ConfigIssue(self.path, line, col, _dotted(key_path), message))

    def table(self, value: object, key_path: tuple, allowed: dict) -> dict | None:
        """Check a table's keys and value types; return it (None when it is no table)."""
        if not isinstance(value, dict):
            self.error(key_path, "must be a table")
            return None
        for key, val in value.items():
            kp = key_path + (key,)
            expected = allowed.get(key)
            if expected is None:
                self.error(kp, "unknown key (known: %s)" % ", ".join(sorted(allowed)))
            elif not _has_type(val, expected):
                self.error(kp, "must be %s, not %s" % (expected, _type_name(val)))
        return value

    def choice(self, value: dict, key_path: tuple, key: str, choices: tuple, default: str) -> str:
        val = value.get(key, default)
        if isinstance(val, str) and val not in choices:
            self.error(key_path + (key,), "must be one of %s (got %r)" % (", ".join(choices), val))
        return val if isinstance(val, str) else default


def _has_type(val: object, expected: str) -> bool:
    if expected == _STR:
        return isinstance(val, str)
    if expected == _BOOL:
        return isinstance(val, bool)
    if expected == _STRLIST:
        return isinstance(val, list) and all(isinstance(v, str) for v in val)
    if expected == _STRMAP:
        return isinstance(val, dict) and all(isinstance(v, str) for v in val.values())
    if expected == _TABLE:
        return isinstance(val, dict)
    if expected == _ARRAY:
        return isinstance(val, list)
    return False


def _type_name(val: object) -> str:
    if isinstance(val, bool):
        return "a boolean"
    if isinstance(val, (int, float)):
        return "a number"
    if isinstance(val, str):
        return "a string"
    if isinstance(val, list):
        return "an array"
    if isinstance(val, dict):
        return "a table"
    return "a date/time"


def _s(table: dict, key: str, default: str = "") -> str:
    val = table.get(key, default)
    return val if isinstance(val, str) else default


def resolve_path(root: str, value: str) -> str:
    """A path from a config value: ``~`` expanded, relative to the config's folder."""
    value = os.path.expanduser(value)
    return os.path.normpath(value if os.path.isabs(value) else os.path.join(root, value))


def load(path: str) -> Project:
    """Read and validate an agents.toml; raise ``ConfigError`` with every issue found."""
    path = os.path.abspath(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError([ConfigIssue(path, 0, 0, "", "cannot read config: %s" % (exc.strerror or exc))]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError([ConfigIssue(path, line, 1, "", "not valid UTF-8")]) from None
    return parse(text, path)


def _toml_error(path: str, text: str, exc: Exception) -> ConfigError:
    msg = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)$", msg)
    line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
    if m:
        msg = msg[:m.start()].rstrip()
    elif "end of document" in msg:
        line = text.count("\n") + 1
    return ConfigError([ConfigIssue(path, line, col, "", "invalid TOML: %s" % msg)])


def parse(text: str, path: str) -> Project:
    """Validate TOML text as if read from ``path`` (the base of relative paths)."""
    import tomllib  # deferred: only parsing needs it

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, text, exc) from None
    except (ValueError, RecursionError) as exc:  # e.g. nesting deeper than Python allows
        raise ConfigError([ConfigIssue(path, 1, 1, "", "invalid TOML: %s" % exc)]) from None

    check = _Checker(path, text)
    check.table(data, (), _TOP_KEYS)
    root = os.path.dirname(path)

    project_t = data.get("project", {})
    project_t = (check.table(project_t, ("project",), _PROJECT_KEYS) or {}) if "project" in data else {}
    name = _s(project_t, "name") or os.path.basename(root) or "project"
    prefix = _s(project_t, "session_prefix", name + "-")
    if not _PREFIX_RE.match(prefix):
        check.error(("project", "session_prefix"),
                    "may hold only letters, digits, '-' and '_' (tmux mangles '.', ':' and spaces), got %r" % prefix)
    socket = _s(project_t, "tmux_socket")
    if socket and "/" not in socket and not _PREFIX_RE.match(socket):
        check.error(("project", "tmux_socket"), "a socket name may hold only letters, digits, '-' and '_'; "
                    "use a path (with '/') for anything else")
    if socket and "/" in socket:
        socket = resolve_path(root, socket)

    phases = []
    phases_t = data.get("phases", [])
    if isinstance(phases_t, list):
        seen_phases: set = set()
        for i, ph in enumerate(phases_t):
            ph = check.table(ph, ("phases", i), _PHASE_KEYS)
            if ph is None:
                continue
            for req in ("name", "plan"):
                if req not in ph:
                    check.error(("phases", i), "missing required key %r" % req)
            pname = _s(ph, "name")
            if pname in seen_phases:
                check.error(("phases", i, "name"), "duplicate phase name %r" % pname)
            seen_phases.add(pname)
            phases.append(Phase(pname, _s(ph, "plan")))

    backends = {n: Backend(n, **dict(spec)) for n, spec in BUILTIN_BACKENDS.items()}
    backends_t = data.get("backends", {})
    if isinstance(backends_t, dict):
        for bname, spec in backends_t.items():
            kp = ("backends", bname)
            spec = check.table(spec, kp, _BACKEND_KEYS)
            if spec is None:
                continue
            if "bin" not in spec:
                check.error(kp, "missing required key 'bin'")
            elif not _s(spec, "bin").strip():
                check.error(kp + ("bin",), "must not be empty")
            delivery = check.choice(spec, kp, "prompt_delivery", PROMPT_DELIVERIES, "arg")
            args = spec.get("args", [])
            backends[bname] = Backend(
                bname, _s(spec, "bin"), tuple(args) if _has_type(args, _STRLIST) else (),
                _s(spec, "model_arg"), _s(spec, "resume_arg"), _s(spec, "session_id_arg"), delivery)

    agents = []
    agents_t = data.get("agents", {})
    builtins_seen: dict = {}
    if isinstance(agents_t, dict):
        for aname, spec in agents_t.items():
            kp = ("agents", aname)
            if not _NAME_RE.match(aname):
                check.error(kp, "agent names may hold only letters, digits, '-' and '_' and start with a letter "
                            "or digit (tmux mangles '.', ':' and whitespace)")
            spec = check.table(spec, kp, _AGENT_KEYS)
            if spec is None:
                continue
            if "kind" not in spec:
                check.error(kp, "missing required key 'kind' (one of %s)" % ", ".join(KINDS))
            kind = check.choice(spec, kp, "kind", KINDS, "")
            env = spec.get("env", {})
            if isinstance(env, dict):
                for ename in env:
                    if not _ENV_NAME_RE.match(ename):
                        check.error(kp + ("env", ename), "not a valid environment variable name")
            enabled = spec.get("enabled", True)
            agent = Agent(aname, kind, enabled=enabled if isinstance(enabled, bool) else True,
                          env=env if _has_type(env, _STRMAP) else {},
                          description=_s(spec, "description"))
            if kind == "service":
                for bad in ("backend", "model", "watch", "kickoff"):
                    if bad in spec:
                        check.error(kp + (bad,), "not allowed for a service (services run 'builtin' or 'command')")
                has_builtin, has_command = "builtin" in spec, "command" in spec
                if has_builtin == has_command:
                    check.error(kp, "a service needs exactly one of 'builtin' (%s) or 'command'"
                                % " | ".join(BUILTIN_SERVICES))
                agent.builtin = check.choice(spec, kp, "builtin", BUILTIN_SERVICES, "") if has_builtin else ""
                agent.command = _s(spec, "command")
                if has_command and not agent.command.strip():
                    check.error(kp + ("command",), "must not be empty")
                if agent.builtin:
                    if agent.builtin in builtins_seen:
                        check.error(kp + ("builtin",), "builtin %r is already run by agent %r"
                                    % (agent.builtin, builtins_seen[agent.builtin]))
                    builtins_seen.setdefault(agent.builtin, aname)
                agent.watch = "none"
            elif kind:
                for bad in ("builtin", "command"):
                    if bad in spec:
                        check.error(kp + (bad,), "only services take %r" % bad)
                if "backend" not in spec:
                    check.error(kp, "missing required key 'backend' (one of %s)" % ", ".join(sorted(backends)))
                agent.backend = _s(spec, "backend")
                if agent.backend and agent.backend not in backends and "backend" in spec:
                    check.error(kp + ("backend",), "unknown backend %r (known: %s)"
                                % (agent.backend, ", ".join(sorted(backends))))
                agent.model = _s(spec, "model")
                agent.watch = check.choice(spec, kp, "watch", WATCH_POLICIES, "none")
                agent.kickoff = _s(spec, "kickoff")
            agents.append(agent)

    if check.issues:
        raise ConfigError(sorted(check.issues, key=lambda i: (i.line, i.col)))
    return Project(
        config_path=path, root=root, name=name, session_prefix=prefix,
        log_dir=resolve_path(root, _s(project_t, "log_dir", ".ao-state")),
        state_dir=resolve_path(root, _s(project_t, "state_dir", "state")),
        tmux_socket=socket, phases=tuple(phases), backends=backends, agents=tuple(agents))
