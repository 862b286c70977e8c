# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tmux driver: one server (default, ``-L name`` or ``-S path``), exact names only.

Reads are one ``list-panes -a`` call for every session and pane of the server, so the cost
of ``status`` does not grow with the number of agents. Writes go through libtmux, imported
only when something is written (it is the heaviest import of the engine). Sessions are
stopped by their id (``$N``), never by a name, so ``foo`` can never hit ``foobar``.
"""

from __future__ import annotations

import os
import time

from .errors import TmuxError

_FIELDS = ("session_name", "session_id", "session_created", "window_index", "pane_index",
           "pane_id", "pane_pid", "pane_current_command", "pane_dead", "pane_dead_status",
           "window_activity", "@agentloops_config")
_FORMAT = "\t".join("#{%s}" % f for f in _FIELDS)
# The session option naming the agents.toml whose engine started a session: an engine acts
# only on sessions it owns (or that no engine tagged, such as a hand-run system's).
OWNER_OPTION = "@agentloops_config"
_NO_SERVER = ("no server running", "error connecting to", "server exited unexpectedly")
# A server up with no session at all (just started, or its last session just ended) has no
# "current target" for list-panes: that is no sessions too.
_EMPTY_SERVER = ("no current target",)


class Pane:
    __slots__ = ("id", "pid", "current_command", "dead", "dead_status", "window_index", "index",
                 "activity")

    def __init__(self, id: str, pid: int, current_command: str, dead: bool, dead_status: int | None,
                 window_index: int, index: int, activity: int) -> None:
        self.id = id
        self.pid = pid
        self.current_command = current_command
        self.dead = dead
        self.dead_status = dead_status
        self.window_index = window_index
        self.index = index
        self.activity = activity

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__}


class Session:
    """A snapshot of one tmux session: name, id, creation time, panes (first pane first) and
    its owner (the agents.toml that started it; "" when no engine tagged it)."""

    __slots__ = ("name", "id", "created", "panes", "owner")

    def __init__(self, name: str, id: str, created: int, panes: list, owner: str = "") -> None:
        self.name = name
        self.id = id
        self.created = created
        self.panes = panes
        self.owner = owner

    def foreign_to(self, owner: str) -> bool:
        """Whether another config's engine started this session (untagged ones are nobody's)."""
        return bool(self.owner) and self.owner != owner

    @property
    def first_pane(self) -> Pane | None:
        return self.panes[0] if self.panes else None

    def as_dict(self) -> dict:
        return {"name": self.name, "id": self.id, "created": self.created, "owner": self.owner,
                "panes": [p.as_dict() for p in self.panes]}


def _int(value: str, default: int = 0) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def parse_panes(output: str) -> dict:
    """Sessions by exact name from ``list-panes -a -F _FORMAT`` output."""
    sessions: dict = {}
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) != len(_FIELDS):
            continue
        (name, sid, created, widx, pidx, pane_id, pid, cmd, dead, dead_status, activity, owner) = parts
        sess = sessions.get(name)
        if sess is None:
            sess = sessions[name] = Session(name, sid, _int(created), [], owner)
        sess.panes.append(Pane(pane_id, _int(pid), cmd, dead == "1",
                               _int(dead_status) if dead_status != "" else None,
                               _int(widx), _int(pidx), _int(activity)))
    for sess in sessions.values():
        sess.panes.sort(key=lambda p: (p.window_index, p.index))
    return sessions


def capture(argv: list) -> tuple:
    """Run ``argv`` with stdin from /dev/null; return ``(exit code, stdout, stderr)``.

    The read path's own runner: ``subprocess`` costs more to import than the tmux call
    it would make, and ``status`` is run often (by operators, and by monitors in a loop).
    Output beyond a pipe's buffer on stderr is not expected from the commands run here.
    """
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)])
    except OSError:
        for fd in (out_r, err_r):
            os.close(fd)
        raise
    finally:
        for fd in (out_w, err_w, devnull):
            os.close(fd)
    chunks = []
    for fd in (out_r, err_r):
        buf = []
        with open(fd, "rb") as handle:
            for block in iter(lambda h=handle: h.read(65536), b""):
                buf.append(block)
        chunks.append(b"".join(buf).decode("utf-8", "replace"))
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), chunks[0], chunks[1]


def resolve_socket(socket: str) -> str:
    """An operator's socket value as the engine uses it: a path (anything with ``/``) made
    absolute from the current folder, ``~`` expanded; a name or "" unchanged."""
    if socket and "/" in socket:
        return os.path.abspath(os.path.expanduser(socket))
    return socket


class TmuxServer:
    """One tmux server. ``socket``: "" the default server, a name (``-L``), or a path (``-S``)."""

    def __init__(self, socket: str = "", tmux_bin: str = "tmux") -> None:
        self.socket = socket
        self.tmux_bin = tmux_bin
        self._libtmux_server = None

    @classmethod
    def from_socket_args(cls, args: list) -> "TmuxServer":
        """The server of ``tmux`` arguments such as ``["-L", "loops"]`` (what sessions get in
        ``AGENTLOOPS_TMUX_ARGS``); ``[]`` is the default server."""
        return cls(args[1] if len(args) == 2 and args[0] in ("-L", "-S") else "")

    @property
    def socket_args(self) -> list:
        if not self.socket:
            return []
        return ["-S", self.socket] if "/" in self.socket else ["-L", self.socket]

    def describe(self) -> str:
        if not self.socket:
            return "the default tmux server"
        return "tmux server %s %s" % tuple(self.socket_args)

    def sessions(self) -> dict:
        """Every session of the server with its panes, by exact name, in ONE tmux call.

        A server that is not running has no sessions (that is not an error).
        """
        try:
            code, out, err = capture([self.tmux_bin] + self.socket_args + ["list-panes", "-a", "-F", _FORMAT])
        except OSError as exc:
            raise TmuxError("cannot run %s: %s" % (self.tmux_bin, exc.strerror or exc)) from None
        if code != 0:
            if any(marker in err for marker in _NO_SERVER + _EMPTY_SERVER):
                return {}
            raise TmuxError("%s: list-panes failed: %s" % (self.describe(), err.strip()))
        return parse_panes(out)

    def _run(self, *args: str, data: bytes | None = None) -> None:
        import subprocess  # deferred: the read path uses posix_spawn (capture)

        proc = subprocess.run([self.tmux_bin] + self.socket_args + list(args), input=data, capture_output=True,
                              check=False)
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip()
            raise TmuxError("%s: %s failed: %s" % (self.describe(), args[0], err))

    def capture_pane(self, pane_id: str) -> str:
        """The visible screen of a pane ("" when it is gone)."""
        _code, out, _err = capture([self.tmux_bin] + self.socket_args + ["capture-pane", "-p", "-t", pane_id])
        return out

    def send_keys(self, pane_id: str, text: str, enter: bool = True) -> None:
        """Type ``text`` literally into a pane (no key names), then Enter."""
        self._run("send-keys", "-t", pane_id, "-l", text)
        if enter:
            self._run("send-keys", "-t", pane_id, "Enter")

    def paste(self, pane_id: str, text: str, enter: bool = True) -> None:
        """Paste ``text`` into a pane as one bracketed paste (a program reads it as typed
        text, newlines included, not as keys), through a buffer of its own, then Enter."""
        buffer = "agentloops-%s" % pane_id.lstrip("%")
        self._run("load-buffer", "-b", buffer, "-", data=text.encode("utf-8"))
        self._run("paste-buffer", "-d", "-p", "-b", buffer, "-t", pane_id)
        if enter:
            self._run("send-keys", "-t", pane_id, "Enter")

    @property
    def _server(self):
        if self._libtmux_server is None:
            import libtmux  # deferred: heavy, and only writers need it

            kwargs = {"tmux_bin": self.tmux_bin}
            if "/" in self.socket:
                kwargs["socket_path"] = self.socket
            elif self.socket:
                kwargs["socket_name"] = self.socket
            self._libtmux_server = libtmux.Server(**kwargs)
        return self._libtmux_server

    def start(self, name: str, command: str, cwd: str, environment: dict, owner: str = "") -> str:
        """Create detached session ``name`` running ``command``; return its id (``$N``).

        The environment is passed explicitly: a tmux server keeps the environment of the
        process that started it, which may be long gone or quite different from ours.
        A duplicate name is refused by tmux itself (exact match), so a concurrent start of
        the same agent cannot create a second session. ``owner`` is set as the session's
        ``@agentloops_config`` in the same tmux command.
        """
        args = ["-d", "-P", "-F", "#{session_id}", "-s", name, "-c", cwd]
        for key in sorted(environment):
            args.append("-e%s=%s" % (key, environment[key]))
        args.append(command)
        if owner:
            args += [";", "set-option", "-t", "=%s:" % name, OWNER_OPTION, owner]
        saved_tmux = os.environ.pop("TMUX", None)  # else tmux refuses nesting
        try:
            for attempt in range(20):
                try:
                    proc = self._server.cmd("new-session", *args)
                except Exception as exc:  # libtmux's own errors (tmux missing, too old, ...)
                    raise TmuxError("%s: cannot start session %s: %s" % (self.describe(), name, exc)) from None
                # The server exits when its last session is killed; a start at that moment
                # reaches a server on its way out. Try again: the next one starts afresh.
                if proc.returncode == 0 or not any(m in " ".join(proc.stderr) for m in _NO_SERVER):
                    break
                time.sleep(0.05 * (attempt + 1))
        finally:
            if saved_tmux is not None:
                os.environ["TMUX"] = saved_tmux
        if proc.returncode != 0 or not proc.stdout:
            err = " ".join(proc.stderr).strip() or "exit %s" % proc.returncode
            raise TmuxError("%s: cannot start session %s: %s" % (self.describe(), name, err))
        return proc.stdout[0].strip()

    def kill(self, session_id: str) -> bool:
        """Kill a session by id; False when it was already gone."""
        if not session_id.startswith("$"):
            raise TmuxError("refusing to kill %r: sessions are killed by id ($N) only" % session_id)
        try:
            proc = self._server.cmd("kill-session", "-t", session_id)
        except Exception as exc:  # libtmux's own errors
            raise TmuxError("%s: cannot kill session %s: %s" % (self.describe(), session_id, exc)) from None
        if proc.returncode != 0:
            err = " ".join(proc.stderr)
            if "can't find session" in err or any(m in err for m in _NO_SERVER):
                return False
            raise TmuxError("%s: cannot kill session %s: %s" % (self.describe(), session_id, err.strip()))
        return True
