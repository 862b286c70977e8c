# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``agents.toml`` model: load, validate, and describe a project.

Parsing uses the standard library's ``tomllib`` (fast: this is on the path of every
``agents.py status``); style-preserving edits of the same files use tomlkit elsewhere.
Every problem is reported with the file, line, column and dotted key, and all problems of
a file are reported at once. Loading never writes anything, but for the parsed-config cache
of ``agents.py status`` (``load(path, cached=True)``, early.py).

A project is frozen data: a ``Project`` of ``Phase``, ``Backend`` and ``Agent``. What an
agent may set depends on its kind, and the model says so: every agent but a service has
``WatchSettings`` (how the watchdog heals it), a loop agent ``LoopSettings``, the builtin
cleanlogs service ``CleanlogsSettings``. ``AGENT_SETTINGS`` declares each key of an
``[agents.NAME]`` table: its type, who takes it, its smallest value and where it goes.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from collections.abc import Mapping

TYPE_CHECKING = False  # not typing's: importing typing costs every `agents.py status` a few ms
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, TypeVar

from .early import DEFAULT_STATE_DIR
from .errors import ConfigError, ConfigIssue
from .fsutil import resolve_path
from .tomlcheck import ARRAY, BOOL, INT, NUM, STR, STRLIST, STRMAP, TABLE, Checker, get_str, has_type, parse_toml, read_text

KINDS = ("persistent", "loop", "task", "service")
WATCH_POLICIES = ("none", "heal", "heal+stall")
PROMPT_DELIVERIES = ("arg", "stdin", "keys", "exec")
BUILTIN_SERVICES = ("watchdog", "cleanlogs")

# Names become tmux session names: tmux turns '.' and ':' into '_' (they are target
# separators) and whitespace makes shell use fragile. Refuse rather than mangle.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*\Z")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]*\Z")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
# Variables an agent's ``pass_env`` cannot take from the caller: tmux sets them in the pane
# (TERM is the server's default-terminal) and the engine sets PWD and its AGENTLOOPS_* identity.
_NOT_PASSED = frozenset(("TERM", "TMUX", "TMUX_PANE", "PWD"))
_WINDOW_SIZE_RE = re.compile(r"^([0-9]{1,4})x([0-9]{1,4})\Z")
DEFAULT_WINDOW_SIZE = (200, 50)  # a session's detached window: width, height (tmux's own is 80x24)
DEFAULT_CONFIRM_SECONDS = 1.0  # how long up waits (once) before it confirms that what it started still runs
WINDOW_SIZE_LIMITS = (20, 1000)  # the smallest and largest width and height


@dataclass(frozen=True, slots=True)
class Backend:
    """How to run one agent program: a command template and how it takes a prompt."""

    name: str
    bin: str
    args: tuple[str, ...] = ()
    model_arg: str = ""
    resume_arg: str = ""
    session_id_arg: str = ""
    prompt_delivery: str = "arg"
    profile: str = ""  # the agent profile (profiles.py); "" = chosen by bin's name

    @property
    def profile_name(self) -> str:
        """The profile this backend's agents get: its own ``profile``, else by ``bin``."""
        if self.profile:
            return self.profile
        from .profiles import default_for_bin

        return default_for_bin(self.bin)


# Backends every project knows without declaring them. A project's [backends.NAME] table
# replaces the built-in of the same name as a whole.
BUILTIN_BACKENDS: Mapping[str, Backend] = MappingProxyType({b.name: b for b in (
    Backend("claude", "claude", model_arg="--model", resume_arg="--resume", session_id_arg="--session-id"),
    Backend("codex", "codex", model_arg="--model"),
    Backend("aider", "aider", model_arg="--model"),
    Backend("demo", "echo '[demo] agent up' ; exec sleep 1000000", prompt_delivery="exec"),
)})


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """How the watchdog heals an agent whose ``watch`` policy is heal or heal+stall."""

    start_seconds: float = 5.0  # a death sooner after its start is a quick death
    backoff_max: float = 30.0  # the longest wait before restarting after quick deaths
    fatal_after: int = 5  # this many quick deaths within fatal_window: FATAL, no restart
    fatal_window: float = 120.0
    stall_after: float = 600.0  # heal+stall: no output this long is a stall
    stall_grace: float = 120.0  # heal+stall: no stall check this long after a start
    nudge_wait: float = 120.0  # heal+stall: restart when the nudge changed nothing this long
    nudge: str = "continue"  # heal+stall: text typed (then Enter) into a stalled agent's pane


@dataclass(frozen=True, slots=True)
class LoopSettings:
    """How a loop agent repeats."""

    max_iterations: int = 0  # 0 = no limit
    loop_delay: float = 5.0  # seconds between iterations


@dataclass(frozen=True, slots=True)
class CleanlogsSettings:
    """What the builtin cleanlogs service deletes, and how often it looks."""

    max_age_days: float = 14.0
    max_total_mb: float = 500.0
    interval: float = 3600.0


_NO_ENV: Mapping[str, str] = MappingProxyType({})
_NO_PROFILES: Mapping[str, Mapping] = MappingProxyType({})


def _no_env() -> Mapping[str, str]:
    return _NO_ENV


@dataclass(frozen=True, slots=True)
class Agent:
    """One ``[agents.NAME]`` table.

    ``watch`` is the healing policy (none | heal | heal+stall; always none for a service);
    ``healing`` its settings (None for a service), ``loop`` those of a loop agent (None
    for any other kind), ``cleanlogs`` those of the builtin cleanlogs service."""

    name: str  # first the fields of every kind (see _Common)
    kind: str
    enabled: bool = True
    env: Mapping[str, str] = field(default_factory=_no_env)
    description: str = ""
    pass_env: tuple[str, ...] = ()  # names of the caller's variables the agent also gets
    backend: str = ""
    model: str = ""
    watch: str = "none"
    kickoff: str = ""
    builtin: str = ""
    command: str = ""
    args: tuple[str, ...] = ()  # this agent's arguments after its backend's (``["-p"]``: claude's print mode)
    answers: Mapping[str, str] = field(default_factory=_no_env)  # dialog -> the answer the operator allows
    healing: WatchSettings | None = None
    loop: LoopSettings | None = None
    cleanlogs: CleanlogsSettings | None = None

    @property
    def is_service(self) -> bool:
        return self.kind == "service"


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    plan: str


@dataclass(frozen=True, slots=True)
class Project:
    """A validated ``agents.toml``: everything the engine needs to act on a project."""

    config_path: str
    root: str
    name: str
    session_prefix: str
    log_dir: str
    state_dir: str
    tmux_socket: str
    phases: tuple[Phase, ...]
    backends: Mapping[str, Backend]
    agents: tuple[Agent, ...]
    profiles: Mapping[str, Mapping] = field(default_factory=lambda: _NO_PROFILES)  # checked [profiles.NAME] tables

    def unsupported_reason(self, agent: Agent, engine_script: str = "") -> str:
        """Why this engine cannot start the agent ("" when it can; ``sessions.unsupported_reason``)."""
        from .sessions import unsupported_reason

        return unsupported_reason(self, agent, engine_script)

    def profile_of(self, agent: Agent):
        """The agent's profile (``profiles.Profile``; generic for services), read on demand."""
        from . import profiles

        name = self.backends[agent.backend].profile_name if agent.backend in self.backends else profiles.GENERIC
        return profiles.resolve(name, self.profiles, profiles.folder_for(self.root))
    window_size: tuple[int, int] = DEFAULT_WINDOW_SIZE  # [project] window_size: width, height
    allow_outside_kickoffs: bool = False  # [project] allow_outside_kickoffs: kickoffs from anywhere on the host
    # [project] confirm_seconds: how long ``up`` waits, once for all it started, to confirm they still run
    confirm_seconds: float = DEFAULT_CONFIRM_SECONDS

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


# Who takes a key of an [agents.NAME] table.
ANY_KIND = "any kind"
PROGRAMS = "every kind but service"
LOOPS = "loop agents"
SERVICES = "services"
CLEANLOGS = "the builtin cleanlogs service"


@dataclass(frozen=True, slots=True)
class Setting:
    """One key of an ``[agents.NAME]`` table: its type, who takes it, and for a number
    its smallest value and the settings it goes to (None: the ``Agent`` itself). Its
    default is that of the field of the same name."""

    value_type: str
    takers: str = ANY_KIND
    minimum: int | None = None
    into: type | None = None


# In the order the errors about misplaced keys are reported.
AGENT_SETTINGS: Mapping[str, Setting] = MappingProxyType({
    "kind": Setting(STR),
    "enabled": Setting(BOOL),
    "env": Setting(STRMAP),
    "pass_env": Setting(STRLIST),
    "description": Setting(STR),
    "backend": Setting(STR, PROGRAMS),
    "model": Setting(STR, PROGRAMS),
    "watch": Setting(STR, PROGRAMS),
    "kickoff": Setting(STR, PROGRAMS),
    "max_iterations": Setting(INT, LOOPS, 1, LoopSettings),
    "loop_delay": Setting(NUM, LOOPS, 0, LoopSettings),
    "nudge": Setting(STR, PROGRAMS, None, WatchSettings),
    "start_seconds": Setting(NUM, PROGRAMS, 0, WatchSettings),
    "backoff_max": Setting(NUM, PROGRAMS, 0, WatchSettings),
    "fatal_after": Setting(INT, PROGRAMS, 1, WatchSettings),
    "fatal_window": Setting(NUM, PROGRAMS, 1, WatchSettings),
    "stall_after": Setting(NUM, PROGRAMS, 1, WatchSettings),
    "stall_grace": Setting(NUM, PROGRAMS, 0, WatchSettings),
    "nudge_wait": Setting(NUM, PROGRAMS, 0, WatchSettings),
    "args": Setting(STRLIST, PROGRAMS),
    "answers": Setting(STRMAP, PROGRAMS),
    "builtin": Setting(STR, SERVICES),
    "command": Setting(STR, SERVICES),
    "max_age_days": Setting(NUM, CLEANLOGS, 0, CleanlogsSettings),
    "max_total_mb": Setting(NUM, CLEANLOGS, 0, CleanlogsSettings),
    "interval": Setting(NUM, CLEANLOGS, 1, CleanlogsSettings),
})

_TOP_KEYS = {"project": TABLE, "phases": ARRAY, "backends": TABLE, "agents": TABLE, "profiles": TABLE}
_PROJECT_KEYS = {"name": STR, "session_prefix": STR, "log_dir": STR, "state_dir": STR,
                 "tmux_socket": STR, "window_size": STR, "allow_outside_kickoffs": BOOL, "confirm_seconds": NUM}
_PHASE_KEYS = {"name": STR, "plan": STR}
_BACKEND_KEYS = {"bin": STR, "args": STRLIST, "model_arg": STR, "resume_arg": STR,
                 "session_id_arg": STR, "prompt_delivery": STR, "profile": STR}
_AGENT_KEYS = {key: setting.value_type for key, setting in AGENT_SETTINGS.items()}
_NOT_FOR_SERVICES = tuple(k for k, s in AGENT_SETTINGS.items() if s.takers in (PROGRAMS, LOOPS))
_ONLY_FOR_SERVICES = tuple(k for k, s in AGENT_SETTINGS.items() if s.takers in (SERVICES, CLEANLOGS))
_KEYS_INTO = {cls: {k: s for k, s in AGENT_SETTINGS.items() if s.into is cls}
              for cls in (WatchSettings, LoopSettings, CleanlogsSettings)}
if TYPE_CHECKING:  # pragma: no cover
    _S = TypeVar("_S", WatchSettings, LoopSettings, CleanlogsSettings)
_DEFAULTS: dict[type, Any] = {cls: cls() for cls in _KEYS_INTO}


def default_prefix(name: str) -> str:
    """The session prefix of a project that names none: its name made safe for tmux
    (``my.proj`` -> ``my-proj-``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", name) + "-"


def load(path: str, cached: bool = False) -> Project:
    """Read and validate an agents.toml; raise ``ConfigError`` with every issue found.

    ``cached`` (``agents.py status``): what tomllib makes of the text comes from the
    parsed-config cache when it holds this very text (``early.read_cache``), and is cached
    when it did not, with quick.py's view of the validated project (stamped with what
    validation read besides the text, taken before and after it reads it: no view when they
    differ), when it had none or another stamp; validation is the same either way. Without it nothing is written."""
    path = os.path.abspath(path)
    text = read_text(path)
    if not cached:
        return parse(text, path)
    from . import early, quick

    hit = early.read_cache(path, text)
    data = hit[0] if hit is not None else parse_toml(text, path)
    stamp = quick.stamp(path, data)
    project = parse(text, path, data)
    if (hit is None or hit[2] is None or hit[2][0] != stamp) and \
            project.state_dir == os.path.dirname(early.cache_path(path)):
        view = (stamp, quick.plan(project)) if stamp is not None and quick.stamp(path, data) == stamp else None
        early.write_cache(path, text, data, project.tmux_socket, view)
    return project


def parse(text: str, path: str, data: dict | None = None) -> Project:
    """Validate TOML text as if read from ``path`` (the base of relative paths); ``data``:
    what tomllib made of that text, when the caller has it (it is never changed here).

    Besides the text, validation reads only what ``quick.stamp`` records ($HOME, the password
    database, the kickoffs' real paths, the profile files, this code): status shows a cached view of
    the result while that stamp holds, so a new input read here goes into the stamp too."""
    data = parse_toml(text, path) if data is None else data
    check = Checker(path, text)
    check.table(data, (), _TOP_KEYS)
    root = os.path.dirname(path)
    project = _project_keys(check, data, root)
    phases = _phases(check, data.get("phases", []))
    profiles = _profiles(check, data["profiles"]) if "profiles" in data else {}
    backends = _backends(check, data.get("backends", {}), profiles)
    agents = _agents(check, data.get("agents", {}), backends)
    if any(a.answers for a in agents):
        _answers(check, agents, backends, profiles)
    window_size = _window_size(check, project["window_size"])
    allow_outside = _allow_outside_kickoffs(data)
    if not allow_outside and any(a.kickoff for a in agents):
        _kickoffs_inside(check, agents, root)
    confirm_seconds = _confirm_seconds(check, data.get("project"))
    result = Project(config_path=path, root=root, name=project["name"], session_prefix=project["session_prefix"],
                     log_dir=project["log_dir"], state_dir=project["state_dir"], tmux_socket=project["tmux_socket"],
                     phases=phases, backends=MappingProxyType(backends), agents=agents,
                     profiles=MappingProxyType(profiles) if profiles else _NO_PROFILES, window_size=window_size,
                     allow_outside_kickoffs=allow_outside, confirm_seconds=confirm_seconds)
    shell_bins = [name for name in (data.get("backends") or {}) if name in backends
                  and not SIMPLE_BIN.match(backends[name].bin)] if isinstance(data.get("backends"), dict) else []
    if shell_bins:
        _shell_bins(check, result, shell_bins)
    check.finish()
    return result


def _allow_outside_kickoffs(data: dict) -> bool:
    """``[project] allow_outside_kickoffs``: only an explicit ``true`` lets a kickoff come from
    outside the project (a wrong type is left to the table's check)."""
    table = data.get("project")
    return isinstance(table, dict) and table.get("allow_outside_kickoffs") is True


def kickoff_outside(root: str, path: str) -> str:
    """The real path of a kickoff template when it lies outside the project's folder ``root``
    (symlinks resolved, of the folder too); "" when it is inside."""
    real = os.path.realpath(path)
    base = os.path.realpath(root)
    return "" if real == base or real.startswith(base.rstrip("/") + "/") else real


def _kickoffs_inside(check: Checker, agents: tuple, root: str) -> None:
    """Every agent's ``kickoff`` lies inside the project (resolved, symlinks included): a kickoff
    is sent to an agent as its prompt, so ``../../etc/passwd`` would hand it any file of the host."""
    for agent in agents:
        if not agent.kickoff or "\0" in agent.kickoff:  # a NUL byte is reported by the table's check
            continue
        real = kickoff_outside(root, resolve_path(root, agent.kickoff))
        if real:
            check.error(("agents", agent.name, "kickoff"), "%r is outside the project (it resolves to %s): a kickoff "
                        "must be a file inside %s, unless [project] allow_outside_kickoffs = true"
                        % (agent.kickoff, real, root))


# A ``bin`` that is a program's path, with no shell in it (the runner runs it without a shell).
SIMPLE_BIN = re.compile(r"^[A-Za-z0-9_./+-]+\Z")
_SHELL_OPERATORS = ";&|()<>\n"
_REDIRECTIONS = frozenset(("<", ">", ">>", "<<", ">&", "<&", ">|", "<>", "&>", "&>>", "<<-"))
# Reserved words that open a compound command, each with the word that closes it, and the
# reserved words after which a command (not an argument) comes.
_OPENERS = MappingProxyType({"if": "fi", "case": "esac", "do": "done", "{": "}"})
_CLOSERS = MappingProxyType({close: opener for opener, close in _OPENERS.items()})
_COMMAND_AFTER = frozenset(("if", "then", "else", "elif", "do", "while", "until", "{", "!", "time"))


def _closing(text: str, i: int) -> int:
    """Past the quote, ``$(...)``, ``${...}`` or backquote that starts at ``i``; -1 when it never closes."""
    if text[i] == "'":
        end = text.find("'", i + 1)
        return -1 if end < 0 else end + 1
    if text[i] in '"`':
        j = i + 1
        while j < len(text):
            if text[j] == "\\":
                j += 2
                continue
            if text[j] == text[i]:
                return j + 1
            j += 1
        return -1
    pair = {"(": ")", "{": "}"}[text[i + 1]]
    depth, j = 0, i + 1
    while j < len(text):
        char = text[j]
        if char in "'\"`":
            j = _closing(text, j)
            if j < 0:
                return -1
            continue
        if char == "\\":
            j += 2
            continue
        depth += 1 if char == text[i + 1] else -1 if char == pair else 0
        j += 1
        if depth == 0:
            return j
    return -1


def _shell_words(text: str) -> tuple[list, bool, str]:
    """The words and operators of shell text, read as sh does (quotes, escapes, ``$(...)``,
    backquotes, comments), without running anything: ``([(token, kind)], ends in a comment,
    error)``; kind is "word", "quoted" (a word with quoting in it) or "op"."""
    tokens: list = []
    word: str | None = None
    quoted = False
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char in " \t" or char in _SHELL_OPERATORS:
            if word is not None:
                tokens.append((word, "quoted" if quoted else "word"))
                word, quoted = None, False
            if char in " \t":
                i += 1
                continue
            j = i + 1
            while char not in "()\n" and j < size and text[j] in ";&|<>-" and (text[j] != "-" or text[i:j] == "<<"):
                j += 1
            tokens.append((text[i:j], "op"))
            i = j
        elif char == "#" and word is None:
            end = text.find("\n", i)
            if end < 0:
                return tokens, True, ""
            i = end
        elif char == "\\":
            if i + 1 >= size:
                return tokens, False, "ends with a backslash"
            if text[i + 1] != "\n":  # a backslash-newline joins two lines
                word, quoted = (word or "") + text[i + 1], True
            i += 2
        elif char in "'\"`" or (char == "$" and text[i + 1:i + 2] in ("(", "{")):
            end = _closing(text, i)
            if end < 0:
                what = "$" + text[i + 1] if char == "$" else char
                return tokens, False, "%s opened at character %d is never closed" % (what, i + 1)
            word, quoted = (word or "") + (text[i + 1:end - 1] if char in "'\"" else text[i:end]), True
            i = end
        else:
            word = (word or "") + char
            i += 1
    if word is not None:
        tokens.append((word, "quoted" if quoted else "word"))
    return tokens, False, ""


def _shell_structure(tokens: list) -> tuple[str, bool]:
    """What keeps shell words from being a complete command: an opened compound command
    (if, case, do, {) or parenthesis never closed, or a closing word with no opener ("" when
    there is none); and whether the last word closes a compound command. Reserved words
    count only where a command starts."""
    opened: list = []
    parens = 0
    command_next = True
    closes = False
    for token, kind in tokens:
        closes = False
        if kind == "op":
            parens += 1 if token == "(" else -1 if token == ")" else 0
            command_next = token not in _REDIRECTIONS
            continue
        if kind == "word" and command_next:
            if token in _OPENERS:
                opened.append(token)
            elif token in _CLOSERS:
                if not opened or opened[-1] != _CLOSERS[token]:
                    return "%r without %r before it" % (token, _CLOSERS[token]), False
                opened.pop()
                closes = True
            command_next = token in _COMMAND_AFTER
        else:
            command_next = False
    if opened:
        return "%r without %r" % (opened[-1], _OPENERS[opened[-1]]), False
    if tokens and tokens[-1][1] == "op" and tokens[-1][0] not in (";", "&", "\n", ")"):
        return "ends with %r, which needs a command or a file name after it" % tokens[-1][0], False
    if parens and ("case", "word") not in tokens:  # a case pattern's ')' has no '('
        return "unbalanced parentheses", False
    return "", closes


def _shell_end(tokens: list, comment: bool, closes: bool) -> str:
    """Why words appended to shell text would not reach its last command ("" when they would);
    ``closes``: its last word closes a compound command (done, fi, esac, })."""
    if comment:
        return "ends in a comment, which would swallow them"
    token, kind = tokens[-1] if tokens else ("", "op")
    if kind == "op":
        return "ends with %r, after which they would %s" % (
            token, "be a syntax error" if token == ")" else "run as a command of their own")
    if closes:
        return "ends with %r, after which they would be a syntax error" % token
    return ""


def _shell_bins(check: Checker, project: Project, names: list) -> None:
    """The ``bin`` of each named backend, when it is shell text: it must be complete shell
    text, and when the engine appends words after it (the runner's ``"$@"``, args, the model),
    it must end with the command that takes them (``while true; do claude; done`` does not).
    Only reads the text: nothing is run."""
    for name in names:
        text = project.backends[name].bin
        tokens, comment, error = _shell_words(text)
        structure, closes = _shell_structure(tokens) if not error else ("", False)
        if error or structure:
            check.error(("backends", name, "bin"), "is not valid shell text: %s" % (error or structure))
            continue
        end = _shell_end(tokens, comment, closes)
        if not end:
            continue
        from . import sessions  # deferred: only a bin that cannot take arguments gets here

        users = [a.name for a in project.agents if a.backend == name and not a.is_service
                 and (sessions.needs_runner(project, a) or sessions.backend_args(project, a))]
        if users:
            check.error(("backends", name, "bin"), "%s: the engine appends the arguments of agent %s after bin "
                        "(the runner's \"$@\", args, the model); end bin with the command that takes them (a "
                        "loop goes into a script, or into sh -c '...' sh)" % (end, ", ".join(repr(u) for u in users)))


def _confirm_seconds(check: Checker, table: object) -> float:
    """``[project] confirm_seconds`` (supervisord's ``startsecs`` for ``up``; an agent's own
    ``start_seconds`` is the watchdog's quick-death line); its type is checked with the table."""
    value = table.get("confirm_seconds") if isinstance(table, dict) else None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return DEFAULT_CONFIRM_SECONDS
    if value < 0 or value > 600:
        check.error(("project", "confirm_seconds"), "must be 0 (no check) to 600 seconds, got %s" % value)
        return DEFAULT_CONFIRM_SECONDS
    return float(value)


def _window_size(check: Checker, value: str) -> tuple[int, int]:
    """``[project] window_size`` (``"WxH"``) as ``(width, height)``; the default when unset or wrong."""
    if not value:
        return DEFAULT_WINDOW_SIZE
    low, high = WINDOW_SIZE_LIMITS
    match = _WINDOW_SIZE_RE.match(value)
    size = (int(match.group(1)), int(match.group(2))) if match else None
    if size is None or not all(low <= n <= high for n in size):
        check.error(("project", "window_size"), "must be WIDTHxHEIGHT, each %d to %d (such as \"200x50\"), got %r"
                    % (low, high, value))
        return DEFAULT_WINDOW_SIZE
    return size


def socket_name_problem(socket: str) -> str:
    """'' when ``socket`` is an acceptable ``tmux_socket`` (a path with '/', a name for
    ``-L``, or '' here), else why not; agents.toml and fleet.toml share the rule."""
    if socket and "/" not in socket and not _PREFIX_RE.match(socket):
        return "a socket name may hold only letters, digits, '-' and '_'; use a path (with '/') for anything else"
    return ""


def _project_keys(check: Checker, data: dict, root: str) -> dict[str, str]:
    """The values of the ``[project]`` table (defaults for what it leaves out)."""
    table = (check.table(data["project"], ("project",), _PROJECT_KEYS) or {}) if "project" in data else {}
    name = get_str(table, "name") or os.path.basename(root) or "project"
    prefix = get_str(table, "session_prefix", default_prefix(name))
    if not prefix:
        check.error(("project", "session_prefix"), "must not be empty: sessions are the project's by their prefix, "
                    "and an empty one would claim any session named like an agent")
    elif not _PREFIX_RE.match(prefix):
        check.error(("project", "session_prefix"),
                    "may hold only letters, digits, '-' and '_' (tmux mangles '.', ':' and spaces), got %r" % prefix)
    socket = get_str(table, "tmux_socket")
    why = socket_name_problem(socket)
    if why:
        check.error(("project", "tmux_socket"), why)
    if socket and "/" in socket:
        socket = resolve_path(root, socket)
    return {"name": name, "session_prefix": prefix, "tmux_socket": socket,
            "window_size": get_str(table, "window_size"),
            "log_dir": resolve_path(root, get_str(table, "log_dir", ".ao-state")),
            "state_dir": resolve_path(root, get_str(table, "state_dir", DEFAULT_STATE_DIR))}


def _phases(check: Checker, tables: object) -> tuple[Phase, ...]:
    """The ``[[phases]]`` array."""
    if not isinstance(tables, list):
        return ()
    phases = []
    seen: set = set()
    for i, table in enumerate(tables):
        table = check.table(table, ("phases", i), _PHASE_KEYS)
        if table is None:
            continue
        for req in ("name", "plan"):
            if req not in table:
                check.error(("phases", i), "missing required key %r" % req)
        name = get_str(table, "name")
        if name in seen:
            check.error(("phases", i, "name"), "duplicate phase name %r" % name)
        seen.add(name)
        phases.append(Phase(name, get_str(table, "plan")))
    return tuple(phases)


def _profiles(check: Checker, tables: object) -> dict:
    """The ``[profiles.NAME]`` tables: each checked as a profile file is (profiles.py)."""
    from .profiles import BUILTIN_PROFILES, check_table

    out: dict = {}
    if not isinstance(tables, dict):
        check.error(("profiles",), "must be a table")
        return out
    for name, table in tables.items():
        kp = ("profiles", name)
        if not _NAME_RE.match(name):
            check.error(kp, "a profile name may hold only letters, digits, '-' and '_'")
        checked = check_table(check, kp, table)
        if checked is None:
            continue
        base = get_str(checked, "base")
        if base and base not in BUILTIN_PROFILES and base not in tables:
            check.error(kp + ("base",), "unknown profile %r (known: %s)"
                        % (base, ", ".join(sorted(set(BUILTIN_PROFILES) | set(tables)))))
        out[name] = checked
    return out


def _answers(check: Checker, agents: tuple, backends: dict, profiles: dict) -> None:
    """An agent's ``answers`` name dialogs of its profile and answers those dialogs know."""
    from . import profiles as profiles_mod

    for agent in agents:
        if not agent.answers or agent.backend not in backends:
            continue
        name = backends[agent.backend].profile_name
        folder = profiles_mod.folder_for(os.path.dirname(check.path))
        if name in profiles_mod.BUILTIN_PROFILES and name not in profiles and not profiles_mod.available(folder):
            continue  # the profile files are not here (a module's zip, no engine checkout)
        try:
            profile = profiles_mod.resolve(name, profiles, folder)
        except ConfigError as exc:
            check.issues.extend(exc.issues)
            continue
        for dialog, answer in agent.answers.items():
            kp = ("agents", agent.name, "answers", dialog)
            known = profile.dialog(dialog)
            if known is None:
                check.error(kp, "profile %r knows no dialog %r (it knows: %s)"
                            % (name, dialog, ", ".join(d.name for d in profile.dialogs) or "none"))
            elif answer not in known.answers:
                check.error(kp, "dialog %r of profile %r has no answer %r (it has: %s)"
                            % (dialog, name, answer, ", ".join(known.answers) or "none"))


def _backends(check: Checker, tables: object, profiles: dict | None = None) -> dict:
    """The built-in backends, replaced and extended by the ``[backends.NAME]`` tables."""
    backends = dict(BUILTIN_BACKENDS)
    if not isinstance(tables, dict):
        return backends
    for name, table in tables.items():
        kp = ("backends", name)
        if "\0" in name:
            check.error(kp, "a backend name must not contain a NUL byte")
        table = check.table(table, kp, _BACKEND_KEYS)
        if table is None:
            continue
        if "bin" not in table:
            check.error(kp, "missing required key 'bin'")
        elif not get_str(table, "bin").strip():
            check.error(kp + ("bin",), "must not be empty")
        delivery = check.choice(table, kp, "prompt_delivery", PROMPT_DELIVERIES, "arg")
        args = table.get("args", [])
        profile = get_str(table, "profile")
        if profile and profile not in _known_profiles(profiles):
            check.error(kp + ("profile",), "unknown profile %r (known: %s)"
                        % (profile, ", ".join(sorted(_known_profiles(profiles)))))
        backends[name] = Backend(
            name, get_str(table, "bin"), tuple(args) if has_type(args, STRLIST) else (),
            get_str(table, "model_arg"), get_str(table, "resume_arg"), get_str(table, "session_id_arg"), delivery,
            profile)
    return backends


def _known_profiles(profiles: dict | None) -> set:
    from .profiles import BUILTIN_PROFILES

    return set(BUILTIN_PROFILES) | set(profiles or ())


def _agents(check: Checker, tables: object, backends: dict) -> tuple[Agent, ...]:
    """The ``[agents.NAME]`` tables, in file order."""
    if not isinstance(tables, dict):
        return ()
    agents = []
    builtins_seen: dict = {}  # builtin service -> the agent that runs it
    for name, table in tables.items():
        agent = _agent(check, name, table, backends, builtins_seen)
        if agent is not None:
            agents.append(agent)
    return tuple(agents)


# The fields of every agent, whatever its kind, in the order Agent declares them: name,
# kind, enabled, env, description, pass_env. (A tuple: an Agent built from a dict of them
# costs twice as much, and this is on the path of every status.)
_Common = tuple[str, str, bool, Mapping[str, str], str, tuple[str, ...]]


def _agent(check: Checker, name: str, table: object, backends: dict, builtins_seen: dict) -> Agent | None:
    """One ``[agents.NAME]`` table: the keys every kind takes here, the rest by kind."""
    kp = ("agents", name)
    if not _NAME_RE.match(name):
        check.error(kp, "agent names may hold only letters, digits, '-' and '_' and start with a letter "
                    "or digit (tmux mangles '.', ':' and whitespace)")
    spec = check.table(table, kp, _AGENT_KEYS)
    if spec is None:
        return None
    if "kind" not in spec:
        check.error(kp, "missing required key 'kind' (one of %s)" % ", ".join(KINDS))
    kind = check.choice(spec, kp, "kind", KINDS, "")
    env = spec.get("env", {})
    if isinstance(env, dict):
        for ename in env:
            if not _ENV_NAME_RE.match(ename):
                check.error(kp + ("env", ename), "not a valid environment variable name")
    enabled = spec.get("enabled", True)
    common: _Common = (name, kind, enabled if isinstance(enabled, bool) else True,
                       MappingProxyType(dict(env)) if env and has_type(env, STRMAP) else _NO_ENV,
                       get_str(spec, "description"), _pass_env(check, kp, spec))
    if kind == "service":
        return _service(check, kp, spec, common, builtins_seen)
    if kind:
        return _program(check, kp, spec, common, backends)
    return Agent(*common)


def _pass_env(check: Checker, kp: tuple, spec: dict) -> tuple[str, ...]:
    """An agent's ``pass_env``: names of the caller's variables it gets (see sessions.CALLER_ENV)."""
    names = spec.get("pass_env", ())
    if not names or not has_type(names, STRLIST):  # a wrong type is left to the table's check
        return ()
    for i, ename in enumerate(names):
        if not _ENV_NAME_RE.match(ename):
            check.error(kp + ("pass_env", i), "not a valid environment variable name: %r" % ename)
        elif ename in _NOT_PASSED or ename.startswith("AGENTLOOPS_"):
            check.error(kp + ("pass_env", i), "%s is not the caller's to pass: %s" % (
                ename, "the engine sets it" if ename == "PWD" or ename.startswith("AGENTLOOPS_")
                else "tmux sets it in the pane"))
    return tuple(dict.fromkeys(names))


def _service(check: Checker, kp: tuple, spec: dict, common: _Common, builtins_seen: dict) -> Agent:
    """An agent of kind service: it runs a builtin of the engine or a command."""
    if not spec.keys().isdisjoint(_NOT_FOR_SERVICES):
        for key in _NOT_FOR_SERVICES:
            if key in spec:
                check.error(kp + (key,), "not allowed for a service (services run 'builtin' or 'command')")
    has_builtin, has_command = "builtin" in spec, "command" in spec
    if has_builtin == has_command:
        check.error(kp, "a service needs exactly one of 'builtin' (%s) or 'command'" % " | ".join(BUILTIN_SERVICES))
    builtin = check.choice(spec, kp, "builtin", BUILTIN_SERVICES, "") if has_builtin else ""
    cleanlogs = _settings(check, kp, spec, CleanlogsSettings, builtin == "cleanlogs",
                          "only the builtin cleanlogs service takes %r")
    command = get_str(spec, "command")
    if has_command and not command.strip():
        check.error(kp + ("command",), "must not be empty")
    if builtin:
        if builtin in builtins_seen:
            check.error(kp + ("builtin",), "builtin %r is already run by agent %r" % (builtin, builtins_seen[builtin]))
        builtins_seen.setdefault(builtin, kp[-1])
    return Agent(*common, builtin=builtin, command=command,
                 cleanlogs=cleanlogs if builtin == "cleanlogs" else None)


def _program(check: Checker, kp: tuple, spec: dict, common: _Common, backends: dict) -> Agent:
    """An agent of kind persistent, loop or task: it runs a backend's program."""
    if not spec.keys().isdisjoint(_ONLY_FOR_SERVICES):
        for key in _ONLY_FOR_SERVICES:
            if key in spec:
                check.error(kp + (key,), "only services take %r" % key)
    if "backend" not in spec:
        check.error(kp, "missing required key 'backend' (one of %s)" % ", ".join(sorted(backends)))
    backend = get_str(spec, "backend")
    if backend and backend not in backends and "backend" in spec:
        check.error(kp + ("backend",), "unknown backend %r (known: %s)" % (backend, ", ".join(sorted(backends))))
    watch = check.choice(spec, kp, "watch", WATCH_POLICIES, "none")
    is_loop = common[1] == "loop"
    loop = _settings(check, kp, spec, LoopSettings, is_loop, "only loop agents take %r")
    healing = _settings(check, kp, spec, WatchSettings, True, "")
    answers = spec.get("answers")
    return Agent(*common, backend=backend, model=get_str(spec, "model"), watch=watch,
                 kickoff=get_str(spec, "kickoff"), healing=healing, loop=loop if is_loop else None,
                 args=tuple(spec["args"]) if has_type(spec.get("args"), STRLIST) else (),
                 answers=MappingProxyType(dict(answers)) if answers and has_type(answers, STRMAP) else _NO_ENV)


def _settings(check: Checker, kp: tuple, spec: dict, cls: type[_S], taken: bool, refusal: str) -> _S:
    """The ``cls`` settings of an agent's table (defaults for the keys it leaves out).

    A number below its key's minimum is reported, and so is any number when the agent
    does not take these settings (``refusal % key``); values of the wrong type and
    numbers that are not finite are left to the table's check."""
    if spec.keys().isdisjoint(_KEYS_INTO[cls]):  # the common case: all defaults
        return _DEFAULTS[cls]
    values: dict = {}
    for key, setting in _KEYS_INTO[cls].items():
        if key not in spec:
            continue
        val = spec[key]
        if setting.minimum is None:
            if has_type(val, setting.value_type):
                values[key] = val
        elif not has_type(val, NUM):
            continue
        elif not taken:
            check.error(kp + (key,), refusal % key)
        elif not math.isfinite(val):
            continue
        elif val < setting.minimum:
            check.error(kp + (key,), "must be at least %d" % setting.minimum)
        else:
            values[key] = val
    return cls(**values) if values else _DEFAULTS[cls]
