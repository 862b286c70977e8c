# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception family of the engine core.

Every domain failure raises an ``OrchestratorError`` (or a subclass); modules map it to
``fail_json`` in one place and the CLI prints it on stderr. Nothing here imports Ansible.
An ``OSError`` never leaves the core as such: it becomes one of these, naming the path
(fsutil's writers, locks and removals do it for the files the engine owns).
"""

from __future__ import annotations

from .plain import Plain


class OrchestratorError(Exception):
    """Base class of every error the engine reports to an operator."""


class ConfigIssue(Plain):
    """One problem found in a configuration file, with its position (line 0: the file as a
    whole, printed as ``path: message`` without one)."""

    __slots__ = ("path", "line", "col", "key", "message")

    def __init__(self, path: str, line: int, col: int, key: str, message: str) -> None:
        self.path = path
        self.line = line
        self.col = col
        self.key = key
        self.message = message

    def __str__(self) -> str:
        where = "%s:%d:%d" % (self.path, self.line, self.col) if self.line else self.path
        return "%s: %s: %s" % (where, self.key, self.message) if self.key else "%s: %s" % (where, self.message)

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "col": self.col, "key": self.key, "message": self.message}


class ConfigError(OrchestratorError):
    """A configuration file is unreadable or invalid; carries every issue found."""

    def __init__(self, issues: list) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class TmuxError(OrchestratorError):
    """tmux refused or failed an operation, or could not be run; the message names the server.
    ``detail``: tmux's own words (its stderr), or why it could not run; ``output``: what tmux
    printed on stdout before it failed (a chained command list stops at its first failure)."""

    detail: str = ""
    output: tuple[str, ...] = ()


class TmuxNoServer(TmuxError):
    """No tmux server runs on the socket (or it exited while being asked)."""


class TmuxForeignServer(TmuxError):
    """The socket is not safely ours: another user's socket, something else than a socket at
    its path, or a folder others can write to; the engine neither reads nor starts there."""


class TmuxSessionExists(TmuxError):
    """A session of that exact name exists already: tmux refused to create a second one."""


class TmuxNoSuchSession(TmuxError):
    """The session (or pane) a command named by id is gone."""


class StateError(OrchestratorError):
    """A state file of a project is unreadable or invalid."""


class AlreadyRunning(OrchestratorError):
    """Another watchdog holds the project's lock (the CLI exits 3)."""


class WaitTimeout(OrchestratorError):
    """``agents.py wait`` (or a module's wait) ran out of time; the message names who is where."""


class StartFailed(OrchestratorError):
    """Agents ``up`` started were no longer running ``[project] confirm_seconds`` later (each named,
    with its exit status and the last lines of its screen). ``result``: the run's
    ``engine.ConvergeResult`` (what else it started, skipped or found owned by another project)."""

    result: object = None


class CannotStart(OrchestratorError):
    """Agents asked to start that this engine cannot start (a loop without the engine's runner,
    the builtin watchdog without an engine checkout), each named with why; nothing was started
    (nor would be, in check mode). ``result``: the planned ``engine.ConvergeResult``."""

    result: object = None
