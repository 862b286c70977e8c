# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tmux driver: one server (default, ``-L name`` or ``-S path``), exact names only.

Reads are one ``list-panes -a`` call for every session and pane of the server, run by
``capture`` (posix_spawn), so the cost of ``status`` does not grow with the number of agents
and ``status`` never imports libtmux (the heaviest import of the engine) nor subprocess.
Writes and pane operations go through libtmux's objects (``Server``, ``Session``, ``Pane``),
imported only when something is written; what libtmux lacks lives in one place,
``TmuxServer.run_commands``. Failures are typed (``errors.TmuxError`` and its subclasses)
and name the server. Sessions are stopped by their id (``$N``), never by a name, so ``foo``
can never hit ``foobar``; the names the driver targets are exact (``=name``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
TYPE_CHECKING = False  # not typing's: the status path does not import typing

from . import tmuxproc
from .errors import TmuxError, TmuxForeignServer, TmuxNoServer, TmuxNoSuchSession, TmuxSessionExists

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import TypeVar

    import libtmux

    _T = TypeVar("_T")
# The light part of the driver lives in tmuxproc.py (early.py uses it before this module is
# imported); its names are the driver's too.
_FIELDS = tmuxproc.FIELDS
_FORMAT = tmuxproc.FORMAT
Pane = tmuxproc.Pane
Owner = tmuxproc.Owner
Session = tmuxproc.Session
parse_panes = tmuxproc.parse_panes
KEEPER = tmuxproc.KEEPER
capture = tmuxproc.capture
check_socket = tmuxproc.check_socket
list_panes_argv = tmuxproc.list_panes_argv
socket_path = tmuxproc.socket_path
# The session option naming the agents.toml whose engine started a session: an engine acts
# only on sessions it owns (or that no engine tagged, such as a hand-run system's).
OWNER_OPTION = "@agentloops_config"
# The session option naming the project that started it by its id (``state/project-id``),
# which survives moving the project or replacing its agents.toml by a symlink.
PROJECT_OPTION = "@agentloops_project"
# What the agent's profile calls its program, then the pane commands that are it
# (``codex codex node``), set at start: status shows ``[codex]`` for codex's node wrapper.
PROGRAM_OPTION = "@agentloops_program"
# What the watchdog last saw the agent do: ``<state> <since> <seen>`` (``idle 1764636000
# 1764636100``), from its profile's rules; status reads it in the same list-panes call.
STATE_OPTION = "@agentloops_state"
# What tmux says on stderr, by the error it means (the first match wins). A socket tmux may
# not connect to is not "no server": someone else's server is there.
_DENIED = ("(Permission denied)", "(Operation not permitted)")
_NO_SERVER = ("no server running", "error connecting to", "server exited unexpectedly")
_ERRORS = ((_DENIED, TmuxForeignServer),
           (("duplicate session",), TmuxSessionExists),
           (("can't find session", "can't find pane", "can't find window"), TmuxNoSuchSession),
           (_NO_SERVER, TmuxNoServer))
# A server up with no session at all (just started, or its last session just ended) has no
# "current target" for list-panes: that is no sessions too.
_EMPTY_SERVER = ("no current target",)
# A start reaching a server on its way out is tried again, this often, waiting longer each time.
_START_ATTEMPTS = 20
# The most a tmux client sends as one command line: tmux 3.3a packs the arguments (each with
# its NUL) into one message of at most 16384 bytes less its headers, and refuses more than
# 16364 bytes ("command too long", or "failed to send command" at the edge). Batches of
# starts are cut by size below that, with a margin (another version may keep more headers).
_COMMAND_BYTES = 12 * 1024


def resolve_socket(socket: str) -> str:
    """An operator's socket value as the engine uses it: a path (anything with ``/``) made
    absolute from the current folder, ``~`` expanded; a name or "" unchanged."""
    if socket and "/" in socket:
        return os.path.abspath(os.path.expanduser(socket))
    return socket


def choose_socket(configured: str, override: str | None) -> str:
    """The server an operator's ``override`` picks: None or "" (a blank survey field, an
    empty ``-e``) is not given, so the config's ``configured`` socket applies; anything else
    is resolved (``default`` is tmux's own name for the default server, ``tmux -L default``)."""
    return configured if override is None or not override.strip() else resolve_socket(override.strip())


def error_for(where: str, what: str, stderr: str) -> TmuxError:
    """The typed error for tmux's ``stderr`` answer to ``what`` on server ``where``."""
    text = stderr.strip()
    kind = next((k for markers, k in _ERRORS if any(m in text for m in markers)), TmuxError)
    error = kind("%s: %s: %s" % (where, what, text))
    error.detail = text
    return error


def _starting(name: str) -> str:
    return "cannot start session %s" % name


def _unreachable(error: TmuxError) -> bool:
    """Whether ``error`` is the server's (none, not ours, no tmux to run), not a command's."""
    return isinstance(error, (TmuxNoServer, TmuxForeignServer)) or \
        (not error.output and error.detail.startswith("cannot run "))


def literal(arg: str) -> str:
    """``arg`` as tmux must receive it to keep it whole: tmux ends a command at any argument
    that ends with ``;`` (and keeps a ``\\;`` ending as ``;``), so that ending is escaped."""
    return arg[:-1] + "\\;" if arg.endswith(";") else arg


def chained(commands: list[list[str]]) -> list[str]:
    """``commands`` as the arguments of one tmux invocation: ``a ; b ; ...``, kept whole."""
    argv: list[str] = []
    for command in commands:
        argv += ([";"] if argv else []) + command[:1] + [literal(a) for a in command[1:]]
    return argv


def command_bytes(commands: list[list[str]]) -> int:
    """How many bytes tmux's client sends for ``commands`` chained: each argument with its NUL."""
    return sum(len(os.fsencode(arg)) + 1 for arg in chained(commands))


@dataclass(slots=True, frozen=True)
class NewSession:
    """One session to start (``TmuxServer.start`` says what each field does): the commands
    that create it and tag it, in one tmux call."""

    name: str
    command: str
    cwd: str
    environment: Mapping[str, str]
    owner: str = ""
    width: int = 200
    height: int = 50
    options: Mapping[str, str] | None = None
    window_options: Mapping[str, str] | None = None

    def commands(self) -> list[list[str]]:
        """``new-session`` (printing the new id), then its tags (``tags``) by its exact name."""
        new = ["new-session", "-d", "-P", "-F", "#{session_id}", "-s", self.name, "-c", self.cwd,
               "-x", str(self.width), "-y", str(self.height)]
        new += ["-e%s=%s" % (key, self.environment[key]) for key in sorted(self.environment)]
        return [new + [self.command]] + self.tags("=%s:" % self.name)

    def tags(self, target: str) -> list[list[str]]:
        """The ``set-option`` commands of its owner, ``options`` and ``window_options`` on
        ``target`` (``=name:``, or ``$N:`` once it exists)."""
        commands = []
        if self.owner:
            commands.append(["set-option", "-t", target, OWNER_OPTION, self.owner])
        for option, value in sorted((self.options or {}).items()):
            commands.append(["set-option", "-t", target, option, value])
        for option, value in sorted((self.window_options or {}).items()):  # in the same call: before its program can end
            commands.append(["set-option", "-w", "-t", target, option, value])
        return commands


def _chunk(specs: list[NewSession], todo: list[int], limit: int) -> list[int]:
    """The first of ``todo`` (indices of ``specs``) whose commands fit in ``limit`` bytes
    chained (at least one: a start too long alone gets tmux's own refusal)."""
    size, out = 0, []  # type: int, list[int]
    for index in todo:
        more = command_bytes(specs[index].commands()) + (2 if out else 0)  # " ;" between two
        if out and size + more > limit:
            break
        out.append(index)
        size += more
    return out


class TmuxServer:
    """One tmux server. ``socket``: "" the default server, a name (``-L``), or a path (``-S``)."""

    def __init__(self, socket: str = "", tmux_bin: str = "tmux") -> None:
        self.socket = socket
        self.tmux_bin = tmux_bin
        self._libtmux_server: libtmux.Server | None = None

    @classmethod
    def from_socket_args(cls, args: list[str]) -> "TmuxServer":
        """The server of ``tmux`` arguments such as ``["-L", "loops"]`` (what sessions get in
        ``AGENTLOOPS_TMUX_ARGS``); ``[]`` is the default server."""
        return cls(args[1] if len(args) == 2 and args[0] in ("-L", "-S") else "")

    @property
    def socket_args(self) -> list[str]:
        return tmuxproc.socket_args(self.socket)

    def describe(self) -> str:
        if not self.socket:
            return "the default tmux server"
        return "tmux server %s %s" % tuple(self.socket_args)

    def check(self) -> None:
        """Refuse a server this user does not safely own (``check_socket``); every read and
        write of the driver runs it first."""
        check_socket(self.socket)

    def _cannot_run(self, what: str, exc: OSError) -> TmuxError:
        detail = "cannot run %s: %s" % (self.tmux_bin, exc.strerror or exc)
        error = TmuxError("%s: %s: %s" % (self.describe(), what, detail))
        error.detail = detail
        return error

    # -- reads --------------------------------------------------------------------------

    def sessions(self) -> dict[str, Session]:
        """Every session of the server with its panes, by exact name, in ONE tmux call.

        A server that is not running has no sessions (that is not an error); a socket that is
        not safely ours is (``check_socket``).
        """
        from .early import take  # the same read, when agents.py started it before the engine was imported

        self.check()
        argv = list_panes_argv(self.socket, self.tmux_bin)
        started = take(argv)
        try:
            code, out, err = started.wait() if started is not None else capture(argv)
        except OSError as exc:
            raise self._cannot_run("list-panes failed", exc) from None
        if code == 0:
            return parse_panes(out)
        error = error_for(self.describe(), "list-panes failed", err)
        if isinstance(error, TmuxNoServer) or any(marker in err for marker in _EMPTY_SERVER):
            return {}
        raise error

    # -- writes and pane operations, through libtmux -------------------------------------

    @property
    def _server(self) -> libtmux.Server:
        if self._libtmux_server is None:
            from libtmux.server import Server  # deferred: heavy, and only writers need it

            if "/" in self.socket:
                self._libtmux_server = Server(socket_path=self.socket, tmux_bin=self.tmux_bin)
            elif self.socket:
                self._libtmux_server = Server(socket_name=self.socket, tmux_bin=self.tmux_bin)
            else:
                self._libtmux_server = Server(tmux_bin=self.tmux_bin)
        return self._libtmux_server

    def _call(self, what: str, action: Callable[[], _T]) -> _T:
        """Run ``action`` (libtmux calls); its failures as typed errors naming this server."""
        from libtmux import exc

        self.check()
        try:
            return action()
        except exc.TmuxCommandNotFound:
            raise self._cannot_run(what, FileNotFoundError(2, "command not found")) from None
        except exc.LibTmuxException as err:
            raise error_for(self.describe(), what, "\n".join(str(a) for a in err.args) or repr(err)) from None
        except OSError as err:
            raise self._cannot_run(what, err) from None
        except TmuxError:
            raise
        except Exception as err:  # anything else from libtmux is a failed operation, not the caller's crash
            raise error_for(self.describe(), what, str(err) or repr(err)) from None

    def _pane(self, pane_id: str) -> libtmux.Pane:
        from libtmux.pane import Pane as LibtmuxPane

        return LibtmuxPane(server=self._server, pane_id=pane_id)

    def run_commands(self, what: str, commands: list[list[str]]) -> list[str]:
        """Run ``commands`` in ONE tmux invocation (``a ; b ; ...``); tmux's stdout lines.

        The one place for what libtmux lacks, built on its ``Server.cmd``:
        several commands in one invocation (tmux applies them together, so a session is
        tagged with its owner by the command that creates it, and N commands cost one
        process); arguments kept whole (``literal``); TMUX not inherited (tmux refuses to
        nest, and a client in a pane would default to that pane's server); and, for a batch
        that creates sessions, tries again while the server is on its way out (it exits
        when its last session is killed; the next try starts a fresh one). ``what`` names
        the operation in errors; a failure's ``output`` is what tmux printed before it (tmux
        stops a chained list at its first failing command: the commands before it ran).
        """
        argv = chained(commands)
        creates = any(command[0] == "new-session" for command in commands)
        for attempt in range(_START_ATTEMPTS):
            code, out, err = self._call(what, lambda: self._run_argv(argv))
            if code == 0:
                return out
            error = error_for(self.describe(), what, "\n".join(err) or "exit %s" % code)
            if not isinstance(error, TmuxNoServer) or not creates or attempt == _START_ATTEMPTS - 1:
                error.output = tuple(out)
                raise error
            time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _run_argv(self, argv: list[str]) -> tuple[int, list[str], list[str]]:
        saved_tmux = os.environ.pop("TMUX", None)
        try:
            proc = self._server.cmd(*argv)
        finally:
            if saved_tmux is not None:
                os.environ["TMUX"] = saved_tmux
        return proc.returncode, list(proc.stdout), list(proc.stderr)

    def start(self, name: str, command: str, cwd: str, environment: Mapping[str, str], owner: str = "",
              width: int = 200, height: int = 50, options: Mapping[str, str] | None = None,
              window_options: Mapping[str, str] | None = None) -> str:
        """Create detached session ``name`` running ``command`` in a ``width`` x ``height``
        window (a detached session has no client to take a size from); return its id (``$N``).

        The environment is passed explicitly (``-e``): a tmux server keeps the environment
        of the process that started it, which may be long gone or quite different from ours.
        A duplicate name is refused by tmux itself (exact match; ``TmuxSessionExists``), so a
        concurrent start of the same agent cannot create a second session. ``owner`` is set
        as the session's ``@agentloops_config`` in the same tmux command, as are ``options``
        (the session's) and ``window_options`` (its window's: ``remain-on-exit``).
        """
        (result,) = self.start_many([NewSession(name, command, cwd, environment, owner, width, height, options,
                                                window_options)])
        if isinstance(result, TmuxError):
            raise result
        return result

    def start_many(self, specs: list[NewSession]) -> list[str | TmuxError]:
        """Start ``specs`` in as few tmux calls as their size allows; for each, in order, its
        id (``$N``) or the error that kept it from starting (nothing is raised).

        Each session is created and tagged in one call (``NewSession.commands``); the calls
        are cut by their size (``_COMMAND_BYTES``), whatever the count. tmux stops a chained
        list at its first failing command: the sessions before it exist (each printed its id,
        in order), the rest were not tried. A name taken meanwhile (``TmuxSessionExists``) is
        that session's error, and the next call goes on after it. Another failure may have hit
        the tags of the last session made: those are set again by its id, else the session is
        killed (never an untagged session left); then what was not tried is started alone,
        one by one, so each failure is its own; a server that cannot be reached fails the rest.
        """
        from functools import partial

        from libtmux.common import session_check_name

        results: list[str | TmuxError | None] = [None] * len(specs)
        todo: list[int] = []
        for index, spec in enumerate(specs):
            try:
                self._call(_starting(spec.name), partial(session_check_name, spec.name))
            except TmuxError as exc:
                results[index] = exc
            else:
                todo.append(index)
        alone = 0  # how many of todo go one by one (after a failure that named none of them)
        while todo:
            chunk = todo[:1] if alone else _chunk(specs, todo, _COMMAND_BYTES)
            alone = max(alone - 1, 0)
            todo = todo[len(chunk):]
            names = [specs[i].name for i in chunk]
            what = _starting(names[0]) if len(names) == 1 else "cannot start sessions %s" % ", ".join(names)
            try:
                ids, failure = self.run_commands(what, [c for i in chunk for c in specs[i].commands()]), None
            except TmuxError as exc:
                ids, failure = list(exc.output), exc
            ids = [line.strip() for line in ids if line.strip()][:len(chunk)]
            for index, sid in zip(chunk, ids):
                results[index] = sid
            rest = chunk[len(ids):]
            if failure is None:
                for index in rest:
                    results[index] = self._named(TmuxError("tmux printed no session id"), specs[index].name)
                continue
            if isinstance(failure, TmuxSessionExists) and rest:  # only a new-session fails so
                results[rest[0]] = self._named(failure, specs[rest[0]].name)
                todo = rest[1:] + todo
                continue
            if ids:
                results[chunk[len(ids) - 1]] = self._tag_again(specs[chunk[len(ids) - 1]], ids[-1], failure)
            if _unreachable(failure):  # the server's failure, not a session's: the rest too
                for index in rest + todo:
                    results[index] = self._named(failure, specs[index].name)
                todo = []
            elif len(chunk) > 1 and rest:  # which of them failed is not known: each alone
                todo, alone = rest + todo, len(rest)
            elif rest:
                results[rest[0]] = self._named(failure, specs[rest[0]].name)
        return [r if r is not None else TmuxError("%s: %s: not tried" % (self.describe(), _starting(s.name)))
                for r, s in zip(results, specs)]

    def _named(self, error: TmuxError, name: str) -> TmuxError:
        """``error`` (of a batch, or without a server) as the error of starting ``name``."""
        detail = error.detail or str(error)
        named = type(error)("%s: %s: %s" % (self.describe(), _starting(name), detail))
        named.detail, named.output = detail, error.output
        return named

    def _tag_again(self, spec: NewSession, sid: str, failure: TmuxError) -> str | TmuxError:
        """The tags of ``spec``'s session ``sid`` set again by its id (a batch failed after
        it was made, maybe on them): its id, or, when they cannot be set, the failure (and the
        session is killed: a session of the engine is never left untagged)."""
        tags = spec.tags(sid + ":")
        if not tags:
            return sid
        try:
            self.run_commands(_starting(spec.name), tags)
            return sid
        except TmuxError as exc:
            failure = exc
        try:
            self.kill(sid)
        except TmuxError:
            pass
        return self._named(failure, spec.name)

    def kill(self, session_id: str) -> bool:
        """Kill a session by id; False when it was already gone (or the server with it)."""
        if not session_id.startswith("$"):
            raise TmuxError("refusing to kill %r: sessions are killed by id ($N) only" % session_id)
        from libtmux.session import Session as LibtmuxSession

        session = LibtmuxSession(server=self._server, session_id=session_id)
        try:
            self._call("cannot kill session %s" % session_id, session.kill)
        except (TmuxNoSuchSession, TmuxNoServer):
            return False
        return True

    def capture_panes(self, pane_ids: list[str]) -> dict[str, str]:
        """The visible screens of several panes in ONE tmux call (``capture-pane`` for each,
        a marker line between them); a pane gone meanwhile is left out."""
        out: dict[str, str] = {}
        if not pane_ids:
            return out
        marker = "\x1eagentloops-screen-end\x1e"
        commands: list[list[str]] = []
        for pane_id in pane_ids:
            commands += [["capture-pane", "-p", "-t", pane_id], ["display-message", "-p", "-t", pane_id, marker]]
        try:
            lines = self.run_commands("capture-pane failed", commands)
        except TmuxNoSuchSession:  # one pane went away: read them one by one
            for pane_id in pane_ids:
                try:
                    out[pane_id] = self.capture_pane(pane_id)
                except TmuxError:
                    continue
            return out
        screen: list[str] = []
        queue = list(pane_ids)
        for line in lines:
            if line == marker and queue:
                out[queue.pop(0)] = "\n".join(screen).rstrip("\n")
                screen = []
            else:
                screen.append(line)
        return out

    def set_session_options(self, values: list[tuple[str, str, str]]) -> None:
        """Set ``(session id, option, value)`` triples in ONE tmux call; sessions gone
        meanwhile are no error (tmux stops at the first failing command: the rest is set one
        by one then). By id (``$N``): a session started meanwhile under the same name is
        another session."""
        if not values:
            return
        for session_id, _option, _value in values:
            if not session_id.startswith("$"):
                raise TmuxError("refusing to set options on %r: sessions are targeted by id ($N) only" % session_id)
        commands = [["set-option", "-t", session_id, option, value] for session_id, option, value in values]
        try:
            self.run_commands("set-option failed", commands)
        except TmuxNoSuchSession:
            for command in commands:
                try:
                    self.run_commands("set-option failed", [command])
                except TmuxNoSuchSession:
                    continue

    def press(self, pane_id: str, keys: list[str], gap: float = 0.15) -> None:
        """Press tmux keys (``Down``, ``Enter``) in a pane one by one, ``gap`` seconds apart
        (a TUI redrawing between two keys may drop the second one)."""
        for i, key in enumerate(keys):
            if i:
                time.sleep(gap)
            self.run_commands("send-keys failed", [["send-keys", "-t", pane_id, key]])

    def pane_title(self, pane_id: str) -> str:
        """A pane's title (``#{pane_title}``)."""
        out = self.run_commands("display-message failed", [["display-message", "-p", "-t", pane_id, "#{pane_title}"]])
        return out[0] if out else ""

    def capture_pane(self, pane_id: str) -> str:
        """The visible screen of a pane, trailing blank lines left out ("" when it is gone)."""
        pane = self._pane(pane_id)
        return "\n".join(self._call("capture-pane failed", pane.capture_pane) or [])

    def capture_history(self, pane_id: str, lines: int) -> str:
        """A pane's screen and up to ``lines`` lines of its scrollback above it, wrapped lines
        joined, no escape sequences, trailing blank lines left out ("" when it is gone)."""
        pane = self._pane(pane_id)
        return "\n".join(self._call("capture-pane failed",
                                    lambda: pane.capture_pane(start=-lines, join_wrapped=True)) or [])

    def _keys(self, pane: libtmux.Pane, *args: str) -> None:
        """``send-keys`` to ``pane``, checked: libtmux's ``Pane.send_keys`` and ``enter``
        do not look at tmux's answer, and a gone pane must not go unnoticed."""
        from libtmux.common import raise_if_stderr

        self._call("send-keys failed",
                   lambda: raise_if_stderr(pane.cmd("send-keys", *[literal(a) for a in args]), "send-keys"))

    def send_keys(self, pane_id: str, text: str, enter: bool = True) -> None:
        """Type ``text`` literally into a pane (no key names), then Enter."""
        pane = self._pane(pane_id)
        self._keys(pane, "-l", text)
        if enter:
            self._keys(pane, "Enter")

    def paste(self, pane_id: str, text: str, enter: bool = True) -> None:
        """Paste ``text`` into a pane as one bracketed paste (a program reads it as typed
        text, newlines included, not as keys), through a buffer of its own, then Enter.

        The text reaches tmux through a private (0600) file, never its command line
        (readable by anyone in /proc, and limited in length)."""
        buffer = "agentloops-%s" % pane_id.lstrip("%")
        pane = self._pane(pane_id)
        self._call("load-buffer failed", lambda: self._load_buffer(buffer, text))
        self._call("paste-buffer failed",
                   lambda: pane.paste_buffer(buffer_name=buffer, delete_after=True, bracket=True))
        if enter:
            self._keys(pane, "Enter")

    def _load_buffer(self, buffer: str, text: str) -> None:
        import tempfile

        with tempfile.NamedTemporaryFile("w", encoding="utf-8", prefix="agentloops-paste-") as handle:
            handle.write(text)
            handle.flush()
            self._server.load_buffer(handle.name, buffer_name=buffer)
