# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Agent profiles: what the engine knows about each agent CLI it runs.

A profile is data, one TOML file per CLI in the collection's ``profiles/`` folder
(``profiles/claude.toml``, ``codex``, ``aider``, ``gemini``, ``generic``), readable by
operators; an agents.toml extends or adds profiles in ``[profiles.NAME]`` tables of the same
form (a table named like a built-in profile extends it). A backend chooses its profile with
``profile = "NAME"``; by default the one whose ``bins`` holds the basename of the backend's
``bin`` (``claude`` -> claude), else ``generic``, which knows nothing and changes nothing.

A profile says:

- how to classify a pane (its title and the bottom ``screen_lines`` of its screen, ANSI
  stripped) into ``working``, ``idle`` or ``blocked`` on a named dialog: ``[dialogs.NAME]``
  are tried first, in file order, then the ``[[states]]`` rules; a rule matches when its
  ``title`` regex matches the pane title and every ``screen`` regex is found on the screen
  (Python regexes, multi-line: ``^`` is a line's start). Nothing matching is ``starting``
  until the agent was seen working or idle, ``unknown`` after;
- the answers an operator may configure for a dialog (``answers = { trust = "accept" }`` on
  an agent): keys to press, or a menu line to ``select`` (the cursor is moved onto it);
- the resume model: ``session-id`` (the CLI takes a conversation id chosen by us; resume only
  when its ``transcript`` exists), ``subcommand`` (the CLI records its own id under
  ``record``; resume with ``args``), or ``none``;
- ``prompt_separator``: put before an ``arg`` prompt, so text starting with ``-`` is text;
- ``program`` (what status shows in ``[...]``) for the pane commands in ``commands``
  (codex's npm wrapper is ``node``);
- ``progress``: what on a working screen counts as progress though it changes like a timer
  (claude's ``↓ 120 tokens``): a stall is working without progress;
- ``batch_args``: backend arguments that make the CLI run one prompt to its end without a
  screen (``claude -p``, ``codex exec``): such a run is working while its process lives.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import ConfigError
from .layout import ENGINE_PROFILE_DIR
from .tomlcheck import INT, STR, STRLIST, TABLE, ARRAY, Checker, get_str, has_type, parse_toml, read_text

# The profiles shipped in profiles/ (a unit test keeps this list and the folder equal).
BUILTIN_PROFILES = ("aider", "claude", "codex", "gemini", "generic")
GENERIC = "generic"
# What a pane can be, as a profile classifies it.
STARTING, WORKING, IDLE, BLOCKED, UNKNOWN = "starting", "working", "idle", "blocked", "unknown"
STATES = (WORKING, IDLE)
DIALOG_NAMES = ("trust", "api-key", "bypass-warning", "login", "resume-choice", "permission", "onboarding")
RESUME_MODELS = ("none", "session-id", "subcommand")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")
_ANSI = re.compile(r"\x1b(?:\[[0-9;?<=>!]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_PROFILE_DIR = ENGINE_PROFILE_DIR

_TOP_KEYS = {"name": STR, "base": STR, "description": STR, "program": STR, "commands": STRLIST,
             "bins": STRLIST, "prompt_separator": STR, "batch_args": STRLIST, "screen_lines": INT,
             "menu_cursor": STR, "progress": STRLIST, "resume": TABLE, "dialogs": TABLE, "states": ARRAY}
_RESUME_KEYS = {"model": STR, "transcript": STR, "args": STRLIST, "record": STR, "record_id": STR}
_RULE_KEYS = {"title": STR, "screen": STRLIST}
_DIALOG_KEYS = dict(_RULE_KEYS, description=STR, answers=TABLE)
_STATE_KEYS = dict(_RULE_KEYS, state=STR)
_ANSWER_KEYS = {"keys": STRLIST, "select": STR}


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


@dataclass(frozen=True, slots=True)
class Rule:
    """A match on a pane: its title regex (if any) and every screen regex."""

    title: re.Pattern | None = None
    screen: tuple[re.Pattern, ...] = ()

    def matches(self, title: str, screen: str) -> bool:
        if self.title is not None and not self.title.search(title):
            return False
        return all(p.search(screen) for p in self.screen)


@dataclass(frozen=True, slots=True)
class Answer:
    """What answering a dialog does: ``keys`` (tmux key names) pressed in order, or the menu
    line ``select`` chosen (cursor moved onto it with Up/Down, then Enter)."""

    name: str
    keys: tuple[str, ...] = ()
    select: str = ""


@dataclass(frozen=True, slots=True)
class Dialog:
    name: str
    rule: Rule
    description: str = ""
    answers: Mapping[str, Answer] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Resume:
    """How the CLI continues a conversation (see the module's docstring)."""

    model: str = "none"
    transcript: str = ""  # session-id: a glob with {id}; ~ is the agent's HOME
    args: tuple[str, ...] = ()  # subcommand: what resumes, with {id}
    record: str = ""  # subcommand: a glob of the files the CLI records conversations in
    record_id: str = ""  # subcommand: the regex whose group 1 is the id in such a file's name


@dataclass(frozen=True, slots=True)
class Observation:
    """A pane as its profile sees it: ``state`` and, when blocked, the ``dialog``."""

    state: str
    dialog: str = ""

    @property
    def label(self) -> str:
        """``working``, ``idle``, ``blocked:trust``, ``starting``, ``unknown``."""
        return "%s:%s" % (self.state, self.dialog) if self.state == BLOCKED else self.state

    @classmethod
    def from_label(cls, label: str) -> "Observation":
        state, _sep, dialog = label.partition(":")
        return cls(state, dialog)


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    description: str = ""
    program: str = ""
    commands: tuple[str, ...] = ()
    bins: tuple[str, ...] = ()
    prompt_separator: str = ""
    batch_args: tuple[str, ...] = ()
    screen_lines: int = 40
    menu_cursor: str = ""
    progress: tuple[re.Pattern, ...] = ()  # what on a working screen is progress though it ticks
    resume: Resume = Resume()
    dialogs: tuple[Dialog, ...] = ()
    states: tuple[tuple[str, Rule], ...] = ()

    @property
    def knows_states(self) -> bool:
        """Whether this profile classifies panes at all (generic does not)."""
        return bool(self.dialogs or self.states)

    def dialog(self, name: str) -> Dialog | None:
        return next((d for d in self.dialogs if d.name == name), None)

    def classify(self, title: str, screen: str) -> Observation:
        """What the pane shows: blocked on a dialog, working, idle, or "" (nothing matched)."""
        lines = strip_ansi(screen).rstrip().split("\n")
        bottom = "\n".join(lines[-self.screen_lines:])
        title = strip_ansi(title)
        for dialog in self.dialogs:
            if dialog.rule.matches(title, bottom):
                return Observation(BLOCKED, dialog.name)
        for state, rule in self.states:
            if rule.matches(title, bottom):
                return Observation(state)
        return Observation("")

    def progress_of(self, screen: str) -> str:
        """The screen's progress marks (``↓ 120 tokens``): a stall check keeps them, while it
        takes out what merely animates (spinners, timers)."""
        return "\n".join(m.group(0) for p in self.progress for m in p.finditer(screen))

    def batch(self, args: tuple[str, ...] | list[str]) -> bool:
        """Whether a backend with these arguments runs the CLI in batch mode."""
        return any(a in self.batch_args for a in args)

    def shows(self, command: str) -> str:
        """The program name status shows for a pane whose current command is ``command``."""
        return self.program if self.program and command in self.commands else command

    def answer_keys(self, answer: Answer, screen: str) -> list[str]:
        """The keys that give ``answer`` on this screen ([] when the menu line to select is
        not on it: then nothing is pressed)."""
        if answer.keys:
            return list(answer.keys)
        bottom = strip_ansi(screen).rstrip().split("\n")[-self.screen_lines:]
        lines = [line for line in bottom if line.strip()]
        cursor = target = None
        for i, line in enumerate(lines):
            text = line.strip()
            if self.menu_cursor and text.startswith(self.menu_cursor):
                cursor = i
                text = text[len(self.menu_cursor):].strip()
            text = re.sub(r"^\d+\.\s+", "", text)
            if text == answer.select:
                target = i
        if cursor is None or target is None:
            return []
        step = "Down" if target > cursor else "Up"
        return [step] * abs(target - cursor) + ["Enter"]


# -- loading ------------------------------------------------------------------------------

def profile_path(name: str, folder: str = _PROFILE_DIR) -> str:
    return os.path.join(folder, name + ".toml")


def check_table(check: Checker, kp: tuple, table: object) -> dict | None:
    """Check one profile table (a file's top level or an agents.toml ``[profiles.NAME]``):
    keys, types, regexes, resume model, answers. Issues go to ``check``."""
    table = check.table(table, kp, _TOP_KEYS)
    if table is None:
        return None
    for i, pattern in enumerate(table.get("progress", ()) if has_type(table.get("progress", ()), STRLIST) else ()):
        _regex(check, kp + ("progress", i), pattern)
    if "screen_lines" in table and has_type(table["screen_lines"], INT) and not 1 <= table["screen_lines"] <= 1000:
        check.error(kp + ("screen_lines",), "must be between 1 and 1000")
    if "resume" in table:
        resume = check.table(table["resume"], kp + ("resume",), _RESUME_KEYS)
        if resume is not None:
            check.choice(resume, kp + ("resume",), "model", RESUME_MODELS, "none")
            _regex(check, kp + ("resume", "record_id"), resume.get("record_id"))
    dialogs = table.get("dialogs", {})
    if isinstance(dialogs, dict):
        for name, spec in dialogs.items():
            dkp = kp + ("dialogs", name)
            if not _NAME_RE.match(name):
                check.error(dkp, "a dialog name may hold only lowercase letters, digits, '-' and '_'")
            spec = check.table(spec, dkp, _DIALOG_KEYS)
            if spec is None:
                continue
            if "title" in spec or "screen" in spec or "answers" not in spec:
                _rule(check, dkp, spec)  # (answers alone extend a dialog the base profile knows)
            answers = spec.get("answers", {})
            for aname, aspec in (answers.items() if isinstance(answers, dict) else ()):
                akp = dkp + ("answers", aname)
                aspec = check.table(aspec, akp, _ANSWER_KEYS)
                if aspec is not None and ("keys" in aspec) == ("select" in aspec):
                    check.error(akp, "an answer needs exactly one of 'keys' or 'select'")
    states = table.get("states", [])
    if isinstance(states, list):
        for i, spec in enumerate(states):
            skp = kp + ("states", i)
            spec = check.table(spec, skp, _STATE_KEYS)
            if spec is None:
                continue
            if "state" not in spec:
                check.error(skp, "missing required key 'state' (one of %s)" % ", ".join(STATES))
            check.choice(spec, skp, "state", STATES, WORKING)
            _rule(check, skp, spec)
    return table


def _rule(check: Checker, kp: tuple, spec: dict) -> None:
    if "title" not in spec and not spec.get("screen"):
        check.error(kp, "a rule needs a 'title' or a 'screen' regex")
    _regex(check, kp + ("title",), spec.get("title"))
    screen = spec.get("screen")
    if isinstance(screen, list) and has_type(screen, STRLIST):
        for i, pattern in enumerate(screen):
            _regex(check, kp + ("screen", i), pattern)


def _regex(check: Checker, kp: tuple, pattern: object) -> None:
    if pattern == "":
        check.error(kp, "must not be empty (an empty regex matches every screen)")
    elif isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as exc:
            check.error(kp, "not a valid regular expression: %s" % exc)


def _compile(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.MULTILINE)


def _rule_of(spec: dict) -> Rule:
    title = spec.get("title")
    return Rule(_compile(title) if isinstance(title, str) else None,
                tuple(_compile(p) for p in spec.get("screen", ())))


def build(name: str, table: Mapping, base: Profile | None = None) -> Profile:
    """A profile from a checked table; ``base`` is extended (its keys overridden, its
    dialogs replaced by name or added after the table's own, its states after the table's)."""
    base = base or Profile(name)
    resume = base.resume
    if "resume" in table:
        r = table["resume"]
        resume = Resume(get_str(r, "model", "none"), get_str(r, "transcript"), tuple(r.get("args", ())),
                        get_str(r, "record"), get_str(r, "record_id"))
    own = []
    for dname, spec in table.get("dialogs", {}).items():
        answers = {a: Answer(a, tuple(s.get("keys", ())), get_str(s, "select"))
                   for a, s in spec.get("answers", {}).items()}
        inherited = base.dialog(dname)
        if not spec.get("screen") and "title" not in spec:
            if inherited is None:
                continue  # answers for a dialog the base does not know (or is not here): no rule, no dialog
            rule = inherited.rule  # only answers (or a description) added to a known dialog
        else:
            rule = _rule_of(spec)
        merged = dict(inherited.answers) if inherited is not None else {}
        merged.update(answers)
        own.append(Dialog(dname, rule, get_str(spec, "description", inherited.description if inherited else ""),
                          MappingProxyType(merged)))
    names = {d.name for d in own}
    states = tuple((get_str(s, "state", WORKING), _rule_of(s)) for s in table.get("states", ()))

    def pick(key: str, default: object) -> object:
        value = table.get(key, default)
        return tuple(value) if isinstance(value, list) else value

    return Profile(
        name=name, description=str(pick("description", base.description)), program=str(pick("program", base.program)),
        commands=pick("commands", base.commands), bins=pick("bins", base.bins),  # type: ignore[arg-type]
        prompt_separator=str(pick("prompt_separator", base.prompt_separator)),
        batch_args=pick("batch_args", base.batch_args),  # type: ignore[arg-type]
        screen_lines=int(pick("screen_lines", base.screen_lines)),  # type: ignore[call-overload]
        menu_cursor=str(pick("menu_cursor", base.menu_cursor)), resume=resume,
        progress=tuple(_compile(p) for p in table["progress"]) if "progress" in table else base.progress,
        dialogs=tuple(own) + tuple(d for d in base.dialogs if d.name not in names),
        states=states + base.states)


_BUILTIN_CACHE: dict[str, Profile] = {}
# Shipped profile files that did not load (path -> the first problem): their agents get a
# profile that knows nothing; the watchdog reports each once.
BROKEN: dict[str, str] = {}


def builtin(name: str, folder: str = "") -> Profile:
    """A shipped profile, read from its file in ``folder`` (default: this engine's
    profiles/) once per process. When the files are not there (the core runs inside an
    Ansible module's zip and the project has no engine checkout) the profile knows nothing,
    like generic: the agent is run and shown as without profiles."""
    folder = folder or _PROFILE_DIR
    key = os.path.join(folder, name)
    if key in _BUILTIN_CACHE:
        return _BUILTIN_CACHE[key]
    path = profile_path(name, folder)
    if name not in BUILTIN_PROFILES or not os.path.isfile(path):
        profile = Profile(name)
    else:
        try:
            text = read_text(path, "profile")
            check = Checker(path, text)
            table = check_table(check, (), parse_toml(text, path))
            check.finish()
            profile = build(name, table or {})
        except ConfigError as exc:  # a hand-edited file: its agents are run as without a profile
            BROKEN[path] = str(exc).splitlines()[0]
            profile = Profile(name)
    _BUILTIN_CACHE[key] = profile
    return profile


def folder_for(root: str) -> str:
    """Where a project's profiles come from: its pinned engine's profiles/ (the engine that
    runs its agents), else this engine's own."""
    pinned = os.path.join(root, "engine", "profiles")
    return pinned if os.path.isdir(pinned) else _PROFILE_DIR


def available(folder: str = "") -> bool:
    """Whether the profile files are there (not inside a module's zip)."""
    return os.path.isdir(folder or _PROFILE_DIR)


def default_for_bin(bin_: str) -> str:
    """The profile a backend gets when it names none: by the basename of ``bin``'s first
    word, among the shipped profiles' ``bins``; else generic."""
    words = bin_.split()
    base = os.path.basename(words[0]) if words else ""
    for name in BUILTIN_PROFILES:
        if name != GENERIC and base in _BINS.get(name, ()):
            return name
    return GENERIC


# The shipped profiles' ``bins`` (kept equal to the files by a unit test): choosing a
# backend's default profile must not read files on every status.
_BINS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "aider": ("aider",), "claude": ("claude",), "codex": ("codex",), "gemini": ("gemini",)})


def resolve(name: str, project_tables: Mapping[str, Mapping], folder: str = "") -> Profile:
    """The profile ``name`` for a project whose agents.toml has ``project_tables``
    (its checked ``[profiles.NAME]`` tables): a project table extends its ``base`` (by
    default the shipped profile of the same name, if any); shipped ones come from ``folder``."""
    table = project_tables.get(name)
    if table is None:
        return builtin(name, folder)
    base_name = get_str(dict(table), "base", name if name in BUILTIN_PROFILES else "")
    if base_name == name and name not in BUILTIN_PROFILES:
        base_name = ""
    rest = {k: v for k, v in project_tables.items() if k != name}
    base = resolve(base_name, rest, folder) if base_name else None
    return build(name, table, base)
