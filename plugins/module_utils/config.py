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
from .tomlcheck import ARRAY, BOOL, INT, NUM, STR, STRLIST, STRMAP, TABLE, Checker, get_str, has_type, parse_toml, read_text

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

_TOP_KEYS = {"project": TABLE, "phases": ARRAY, "backends": TABLE, "agents": TABLE}
_PROJECT_KEYS = {"name": STR, "session_prefix": STR, "log_dir": STR, "state_dir": STR,
                 "tmux_socket": STR}
_PHASE_KEYS = {"name": STR, "plan": STR}
_BACKEND_KEYS = {"bin": STR, "args": STRLIST, "model_arg": STR, "resume_arg": STR,
                 "session_id_arg": STR, "prompt_delivery": STR}
_AGENT_KEYS = {"kind": STR, "backend": STR, "model": STR, "watch": STR, "enabled": BOOL,
               "kickoff": STR, "env": STRMAP, "builtin": STR, "command": STR,
               "description": STR, "max_iterations": INT, "loop_delay": NUM,
               "start_seconds": NUM, "backoff_max": NUM, "fatal_after": INT, "fatal_window": NUM,
               "stall_after": NUM, "stall_grace": NUM, "nudge_wait": NUM, "nudge": STR,
               "max_age_days": NUM, "max_total_mb": NUM, "interval": NUM}

# Settings of the builtin cleanlogs service, with their defaults and smallest values.
CLEANLOGS_SETTINGS = {"max_age_days": (14.0, 0), "max_total_mb": (500.0, 0), "interval": (3600.0, 1)}

# Watchdog settings of an agent, with their defaults and smallest values.
WATCH_SETTINGS = {"start_seconds": (5.0, 0), "backoff_max": (30.0, 0), "fatal_after": (5, 1),
                  "fatal_window": (120.0, 1), "stall_after": (600.0, 1), "stall_grace": (120.0, 0),
                  "nudge_wait": (120.0, 0)}


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
                 "builtin", "command", "description", "max_iterations", "loop_delay", "start_seconds",
                 "backoff_max", "fatal_after", "fatal_window", "stall_after", "stall_grace", "nudge_wait",
                 "nudge", "max_age_days", "max_total_mb", "interval")

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
        self.max_iterations = 0  # loop agents: 0 = no limit
        self.loop_delay = 5.0  # loop agents: seconds between iterations
        for key, (default, _minimum) in WATCH_SETTINGS.items():
            setattr(self, key, default)
        self.nudge = "continue"  # heal+stall: text typed (then Enter) into a stalled agent's pane
        for key, (default, _minimum) in CLEANLOGS_SETTINGS.items():
            setattr(self, key, default)

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


def default_prefix(name: str) -> str:
    """The session prefix of a project that names none: its name made safe for tmux
    (``my.proj`` -> ``my-proj-``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", name) + "-"


def resolve_path(root: str, value: str) -> str:
    """A path from a config value: ``~`` expanded, relative to the config's folder."""
    value = os.path.expanduser(value)
    return os.path.normpath(value if os.path.isabs(value) else os.path.join(root, value))


def load(path: str) -> Project:
    """Read and validate an agents.toml; raise ``ConfigError`` with every issue found."""
    path = os.path.abspath(path)
    return parse(read_text(path), path)


def parse(text: str, path: str) -> Project:
    """Validate TOML text as if read from ``path`` (the base of relative paths)."""
    data = parse_toml(text, path)

    check = Checker(path, text)
    check.table(data, (), _TOP_KEYS)
    root = os.path.dirname(path)

    project_t = data.get("project", {})
    project_t = (check.table(project_t, ("project",), _PROJECT_KEYS) or {}) if "project" in data else {}
    name = get_str(project_t, "name") or os.path.basename(root) or "project"
    prefix = get_str(project_t, "session_prefix", default_prefix(name))
    if not prefix:
        check.error(("project", "session_prefix"), "must not be empty: sessions are the project's by their prefix, "
                    "and an empty one would claim any session named like an agent")
    elif not _PREFIX_RE.match(prefix):
        check.error(("project", "session_prefix"),
                    "may hold only letters, digits, '-' and '_' (tmux mangles '.', ':' and spaces), got %r" % prefix)
    socket = get_str(project_t, "tmux_socket")
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
            pname = get_str(ph, "name")
            if pname in seen_phases:
                check.error(("phases", i, "name"), "duplicate phase name %r" % pname)
            seen_phases.add(pname)
            phases.append(Phase(pname, get_str(ph, "plan")))

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
            elif not get_str(spec, "bin").strip():
                check.error(kp + ("bin",), "must not be empty")
            delivery = check.choice(spec, kp, "prompt_delivery", PROMPT_DELIVERIES, "arg")
            args = spec.get("args", [])
            backends[bname] = Backend(
                bname, get_str(spec, "bin"), tuple(args) if has_type(args, STRLIST) else (),
                get_str(spec, "model_arg"), get_str(spec, "resume_arg"), get_str(spec, "session_id_arg"), delivery)

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
                          env=env if has_type(env, STRMAP) else {},
                          description=get_str(spec, "description"))
            if kind == "service":
                for bad in ("backend", "model", "watch", "kickoff", "max_iterations", "loop_delay", "nudge",
                            *WATCH_SETTINGS):
                    if bad in spec:
                        check.error(kp + (bad,), "not allowed for a service (services run 'builtin' or 'command')")
                has_builtin, has_command = "builtin" in spec, "command" in spec
                if has_builtin == has_command:
                    check.error(kp, "a service needs exactly one of 'builtin' (%s) or 'command'"
                                % " | ".join(BUILTIN_SERVICES))
                agent.builtin = check.choice(spec, kp, "builtin", BUILTIN_SERVICES, "") if has_builtin else ""
                for key, (_default, minimum) in CLEANLOGS_SETTINGS.items():
                    if key not in spec or not has_type(spec[key], NUM):
                        continue
                    if agent.builtin != "cleanlogs":
                        check.error(kp + (key,), "only the builtin cleanlogs service takes %r" % key)
                    elif spec[key] < minimum:
                        check.error(kp + (key,), "must be at least %d" % minimum)
                    else:
                        setattr(agent, key, spec[key])
                agent.command = get_str(spec, "command")
                if has_command and not agent.command.strip():
                    check.error(kp + ("command",), "must not be empty")
                if agent.builtin:
                    if agent.builtin in builtins_seen:
                        check.error(kp + ("builtin",), "builtin %r is already run by agent %r"
                                    % (agent.builtin, builtins_seen[agent.builtin]))
                    builtins_seen.setdefault(agent.builtin, aname)
                agent.watch = "none"
            elif kind:
                for bad in ("builtin", "command", *CLEANLOGS_SETTINGS):
                    if bad in spec:
                        check.error(kp + (bad,), "only services take %r" % bad)
                if "backend" not in spec:
                    check.error(kp, "missing required key 'backend' (one of %s)" % ", ".join(sorted(backends)))
                agent.backend = get_str(spec, "backend")
                if agent.backend and agent.backend not in backends and "backend" in spec:
                    check.error(kp + ("backend",), "unknown backend %r (known: %s)"
                                % (agent.backend, ", ".join(sorted(backends))))
                agent.model = get_str(spec, "model")
                agent.watch = check.choice(spec, kp, "watch", WATCH_POLICIES, "none")
                agent.kickoff = get_str(spec, "kickoff")
                for key, minimum in (("max_iterations", 1), ("loop_delay", 0)):
                    if key not in spec or not has_type(spec[key], NUM):
                        continue
                    if kind != "loop":
                        check.error(kp + (key,), "only loop agents take %r" % key)
                    elif spec[key] < minimum:
                        check.error(kp + (key,), "must be at least %d" % minimum)
                    else:
                        setattr(agent, key, spec[key])
                if "nudge" in spec and isinstance(spec["nudge"], str):
                    agent.nudge = spec["nudge"]
                for key, (_default, minimum) in WATCH_SETTINGS.items():
                    if key in spec and has_type(spec[key], NUM):
                        if spec[key] < minimum:
                            check.error(kp + (key,), "must be at least %d" % minimum)
                        else:
                            setattr(agent, key, spec[key])
            agents.append(agent)

    check.finish()
    return Project(
        config_path=path, root=root, name=name, session_prefix=prefix,
        log_dir=resolve_path(root, get_str(project_t, "log_dir", ".ao-state")),
        state_dir=resolve_path(root, get_str(project_t, "state_dir", "state")),
        tmux_socket=socket, phases=tuple(phases), backends=backends, agents=tuple(agents))
