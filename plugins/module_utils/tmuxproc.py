# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tmux driver's light part: the one read's format, argv and parser (``parse_panes``, to
the snapshot classes ``Session``, ``Pane`` and ``Owner``), the socket check, and the process
runner of the read path. It imports only os, stat and plain.py (errors.py when it refuses),
so ``agents.py status`` can start its read before the engine is imported (early.py);
tmux.py builds on it and re-exports its names.
"""

from __future__ import annotations

import os
import stat

from .plain import Plain

# The fields of the one read, ``list-panes -a -F FORMAT`` (parse_panes reads them).
FIELDS = ("session_name", "session_id", "session_created", "window_index", "pane_index",
          "pane_id", "pane_pid", "pane_current_command", "pane_dead", "pane_dead_status",
          "window_activity", "@agentloops_config", "@agentloops_program", "@agentloops_state",
          "@agentloops_project", "pane_title")  # the title last: a program sets it, and it may hold a tab
FORMAT = "\t".join("#{%s}" % f for f in FIELDS)
# The name a session's keeper runs under (a symlink to dash in state/, see sessions.keeper_command):
# tmux shows it as the pane's current command while the keeper waits, its agent ended.
KEEPER = "agentloops-keeper"
_PIPE_SIZE = 1 << 20  # the most a user may ask by default (/proc/sys/fs/pipe-max-size)


def socket_args(socket: str) -> list[str]:
    """tmux's arguments for a server: [] the default one, ``-S PATH`` (any ``/``), ``-L NAME``."""
    if not socket:
        return []
    return ["-S", socket] if "/" in socket else ["-L", socket]


def list_panes_argv(socket: str, tmux_bin: str = "tmux") -> list[str]:
    """The argv of the one read of a server: every session and pane, in FORMAT."""
    return [tmux_bin] + socket_args(socket) + ["list-panes", "-a", "-F", FORMAT]


class Spawned:
    """A command started with stdin from /dev/null and its output in pipes; ``wait`` reads
    them and reaps it. Its stdout pipe is made as large as a user may (1 MB by default), so
    a read of a thousand panes fits and tmux finishes while its caller does something else."""

    __slots__ = ("pid", "_out", "_err", "_result", "_failure")

    def __init__(self, argv: list[str]) -> None:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            import fcntl

            fcntl.fcntl(out_w, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        except (ImportError, AttributeError, OSError):  # F_SETPIPE_SZ is Linux's; elsewhere the default size stays
            pass
        devnull = os.open(os.devnull, os.O_RDONLY)
        try:
            self.pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[
                (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)])
        except OSError:
            for fd in (out_r, err_r):
                os.close(fd)
            raise
        finally:
            for fd in (out_w, err_w, devnull):
                os.close(fd)
        self._out, self._err = out_r, err_r
        self._result: tuple[int, str, str] | None = None
        self._failure: OSError | None = None

    def wait(self) -> tuple[int, str, str]:
        """``(exit code, stdout, stderr)``, once the command has ended; the same answer
        again when asked again (status's quick path may hand a read it waited for to the
        engine's); the same failure again when it failed (its pipes are closed by then)."""
        if self._failure is not None:
            raise self._failure
        if self._result is None:
            try:
                chunks = []
                for fd in (self._out, self._err):
                    with open(fd, "rb") as handle:
                        chunks.append(handle.read().decode("utf-8", "replace"))
                _pid, status = os.waitpid(self.pid, 0)
            except OSError as exc:
                self._failure = exc
                raise
            self._result = (os.waitstatus_to_exitcode(status), chunks[0], chunks[1])
        return self._result


def capture(argv: list[str]) -> tuple[int, str, str]:
    """Run ``argv`` with stdin from /dev/null; return ``(exit code, stdout, stderr)``.

    The read path's own runner: ``subprocess`` costs more to import than the tmux call
    it would make, and ``status`` is run often (by operators, and by monitors in a loop).
    Output beyond a pipe's buffer on stderr is not expected from the commands run here.
    """
    return Spawned(argv).wait()


def socket_path(socket: str) -> str:
    """The socket file of a server: the path itself for ``-S``; for a name (and the default
    server, ``default``) the file tmux uses, ``$TMUX_TMPDIR`` (else /tmp) ``/tmux-UID/NAME``."""
    if "/" in socket:
        return socket
    folder = os.path.realpath(os.environ.get("TMUX_TMPDIR") or "/tmp")
    return os.path.join(folder, "tmux-%d" % os.geteuid(), socket or "default")


def _owner(uid: int) -> str:
    try:
        import pwd

        return "uid %d (%s)" % (uid, pwd.getpwuid(uid).pw_name)
    except (ImportError, KeyError):
        return "uid %d" % uid


def _refuse(message: str) -> Exception:
    from .errors import TmuxForeignServer  # only when refusing: errors.py imports dataclasses

    return TmuxForeignServer(message)


def check_socket(socket: str) -> None:
    """Refuse (``TmuxForeignServer``) a server the caller does not safely own, before the
    engine reads from it or starts anything in it (whoever owns a server reads and types
    into every pane of it). The rule, for the socket file (``socket_path``):

    - a path that exists and is not a socket (a regular file, a folder, a symlink) is refused:
      tmux would replace it, or connect through it;
    - a socket owned by another uid than the caller's is refused (tmux's own rule for the
      sockets it creates);
    - the socket's folder, when it is a folder, must be owned by the caller or root, and not
      writable by group or others unless it has the sticky bit (as /tmp has): in such a
      folder anyone may put a socket, so only one the caller owns is used.

    A path whose folder does not exist (or is not a folder) has no server: nothing to check.
    """
    path = socket_path(socket)
    uid = os.geteuid()
    try:
        info = os.lstat(path)
    except OSError:
        info = None
    if info is not None:
        if not stat.S_ISSOCK(info.st_mode):
            raise _refuse("refusing tmux socket %s: it exists and is not a socket (%s)"
                          % (path, "a symlink" if stat.S_ISLNK(info.st_mode) else
                             "a folder" if stat.S_ISDIR(info.st_mode) else "a file"))
        if info.st_uid != uid:
            raise _refuse("refusing tmux socket %s: it is owned by %s, not by the caller (%s): "
                          "its server is someone else's" % (path, _owner(info.st_uid), _owner(uid)))
    folder = os.path.dirname(path) or "."
    try:
        where = os.stat(folder)
    except OSError:
        return
    if not stat.S_ISDIR(where.st_mode):
        return
    if where.st_uid not in (uid, 0):
        raise _refuse("refusing tmux socket %s: its folder %s is owned by %s, not by the caller (%s) "
                      "or root" % (path, folder, _owner(where.st_uid), _owner(uid)))
    if where.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not where.st_mode & stat.S_ISVTX:
        raise _refuse("refusing tmux socket %s: its folder %s (mode %04o) is writable by others "
                      "without the sticky bit: anyone could put a server there"
                      % (path, folder, stat.S_IMODE(where.st_mode)))


class Pane(Plain):
    """A snapshot of one pane, as ``list-panes`` reported it. ``waiting``: its keeper waits,
    the agent it runs ended (the pane lives on: see sessions.keeper_command); such a pane is
    ``dead`` too, as one tmux keeps after its program ended, with no ``dead_status``."""

    __slots__ = ("id", "pid", "current_command", "dead", "dead_status", "window_index", "index", "activity", "title",
                 "waiting")

    def __init__(self, id: str, pid: int, current_command: str, dead: bool,  # pylint: disable=redefined-builtin
                 dead_status: int | None, window_index: int, index: int, activity: int, title: str = "",
                 waiting: bool = False) -> None:
        self.id = id
        self.pid = pid
        self.current_command = current_command
        self.dead = dead
        self.dead_status = dead_status
        self.window_index = window_index
        self.index = index
        self.activity = activity
        self.title = title
        self.waiting = waiting

    def as_dict(self) -> dict:
        return {"id": self.id, "pid": self.pid, "current_command": self.current_command, "dead": self.dead,
                "dead_status": self.dead_status, "window_index": self.window_index, "index": self.index,
                "activity": self.activity, "title": self.title, "waiting": self.waiting}


class Owner(Plain):
    """Who a project's engine is, for its sessions' tags: the agents.toml paths that are its
    config (its real path first, the tag it writes) and its project id ("" before its first
    start)."""

    __slots__ = ("configs", "project_id")

    def __init__(self, configs: tuple[str, ...], project_id: str = "") -> None:
        self.configs = configs
        self.project_id = project_id

    @property
    def config(self) -> str:
        return self.configs[0]


class Session(Plain):
    """A snapshot of one tmux session: name, id, creation time, panes (first pane first) and
    its owner (the agents.toml that started it; "" when no engine tagged it)."""

    __slots__ = ("name", "id", "created", "panes", "owner", "program", "state", "project_id")

    def __init__(self, name: str, id: str, created: int, panes: list[Pane],  # pylint: disable=redefined-builtin
                 owner: str = "", program: str = "", state: str = "", project_id: str = "") -> None:
        self.name = name
        self.id = id
        self.created = created
        self.panes = panes
        self.owner = owner
        self.program = program  # PROGRAM_OPTION's value ("" when the agent has no profile)
        self.state = state  # STATE_OPTION's value ("" when no watchdog classified it)
        self.project_id = project_id  # PROJECT_OPTION's value ("" when started by an older engine, or by hand)

    @property
    def tagged(self) -> bool:
        """Whether an engine started this session (a hand-run system's sessions are not)."""
        return bool(self.owner or self.project_id)

    def owned_by(self, owner: Owner | str) -> bool:
        """Whether ``owner``'s engine started this session: the same project id, or (a
        session of an older engine, or a project whose state was lost) one of its config
        paths. A same id from a config that still exists elsewhere is a copy's, not ours."""
        if isinstance(owner, str):
            return bool(self.owner) and self.owner == owner
        if self.owner and self.owner in owner.configs:
            return True
        if not (self.project_id and self.project_id == owner.project_id):
            return False
        try:  # moved (the old path is gone) or re-pointed (the same file): ours
            return not self.owner or not os.path.exists(self.owner) or os.path.samefile(self.owner, owner.config)
        except OSError:
            return True

    def foreign_to(self, owner: Owner | str) -> bool:
        """Whether another config's engine started this session (untagged ones are nobody's)."""
        return self.tagged and not self.owned_by(owner)

    @property
    def described_owner(self) -> str:
        """How its owner is named to people: its config, else its project id."""
        return self.owner or "project %s" % self.project_id

    @property
    def first_pane(self) -> Pane | None:
        return self.panes[0] if self.panes else None

    def as_dict(self) -> dict:
        return {"name": self.name, "id": self.id, "created": self.created, "owner": self.owner,
                "project_id": self.project_id, "program": self.program, "state": self.state,
                "panes": [p.as_dict() for p in self.panes]}


def _int(value: str, default: int = 0) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def parse_panes(output: str) -> dict[str, Session]:
    """Sessions by exact name from ``list-panes -a -F FORMAT`` output."""
    sessions: dict[str, Session] = {}
    for line in output.split("\n"):
        parts = line.split("\t", len(FIELDS) - 1)
        if len(parts) != len(FIELDS):
            continue
        (name, sid, created, widx, pidx, pane_id, pid, cmd, dead, dead_status, activity, owner, program,
         state, project_id, title) = parts
        sess = sessions.get(name)
        if sess is None:
            sess = sessions[name] = Session(name, sid, _int(created), [], owner, program, state, project_id)
        waiting = cmd == KEEPER and dead != "1"
        sess.panes.append(Pane(pane_id, _int(pid), cmd, dead == "1" or waiting,
                               _int(dead_status) if dead_status != "" else None,
                               _int(widx), _int(pidx), _int(activity), title, waiting))
    for sess in sessions.values():
        if len(sess.panes) > 1:  # an agent's session has one pane: nothing to sort
            sess.panes.sort(key=lambda p: (p.window_index, p.index))
    return sessions
