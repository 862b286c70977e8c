# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's processes from Linux /proc: the project's watchdogs (cheaply enough for
``status``), and every process of one agent, so that ending an agent leaves nothing behind.

An agent's processes are found two ways: the descendants (by parent pid) of its pane's
process, and every process of the same user whose environment carries the agent's identity
(``AGENTLOOPS_CONFIG`` and ``AGENTLOOPS_AGENT``, which every process of a session inherits,
and keeps when it daemonizes: ``setsid``, a double fork, ``nohup``). Each is remembered with
its start time, so a pid the kernel reused meanwhile is never signalled.
"""

from __future__ import annotations

import os
import select
import time

from .plain import Plain
from .tmuxproc import KEEPER

TYPE_CHECKING = False  # not typing's: status imports this module for a builtin watchdog (quick.py)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from .config import Project

PROC = "/proc"
CONFIG_VAR = b"AGENTLOOPS_CONFIG"
AGENT_VAR = b"AGENTLOOPS_AGENT"


class ProcStat(Plain):
    """What ``/proc/PID/stat`` says of one process: parent, state letter, start time (clock
    ticks after boot: with the pid, it names one process for good), session id."""

    __slots__ = ("pid", "ppid", "state", "start", "sid")

    def __init__(self, pid: int, ppid: int, state: str, start: int, sid: int = 0) -> None:
        self.pid = pid
        self.ppid = ppid
        self.state = state
        self.start = start
        self.sid = sid


def pids(proc_root: str = PROC) -> list[int]:
    """Every pid in the process table (none when it cannot be read)."""
    try:
        entries = os.listdir(proc_root)
    except OSError:
        return []
    return sorted(int(e) for e in entries if e.isdigit())


def _read(pid: int, name: str, proc_root: str) -> bytes | None:
    try:
        with open(os.path.join(proc_root, str(pid), name), "rb") as handle:
            return handle.read()
    except OSError:  # gone meanwhile, or not ours to read
        return None


def read_stat(pid: int, proc_root: str = PROC) -> ProcStat | None:
    """A process's ``stat`` line, parsed (None when it is gone or the line is malformed). The
    command name comes in parentheses and may hold spaces and parentheses itself: the fields
    are what follows its last ``)``."""
    data = _read(pid, "stat", proc_root)
    if data is None:
        return None
    _comm, paren, tail = data.rpartition(b")")
    fields = tail.split()
    if not paren or len(fields) < 20:
        return None
    try:
        return ProcStat(pid, int(fields[1]), fields[0].decode("ascii", "replace"), int(fields[19]), int(fields[3]))
    except ValueError:
        return None


def read_environ(pid: int, proc_root: str = PROC) -> dict[bytes, bytes] | None:
    """A process's environment as it was started (None when it cannot be read)."""
    data = _read(pid, "environ", proc_root)
    if data is None:
        return None
    env = {}
    for item in data.split(b"\0"):
        key, eq, value = item.partition(b"=")
        if eq and key:
            env[key] = value
    return env


def _config_of(pid: str, argv: list[bytes], proc: str = PROC) -> str | None:
    """The agents.toml a running ``agents.py ... watchdog`` process uses, or None."""
    if b"watchdog" not in argv or not any(a.endswith(b"agents.py") for a in argv):
        return None
    config = "agents.toml"
    for i, arg in enumerate(argv):
        if arg == b"--config" and i + 1 < len(argv):
            config = argv[i + 1].decode("utf-8", "replace")
        elif arg.startswith(b"--config="):
            config = arg[9:].decode("utf-8", "replace")
    if not os.path.isabs(config):
        try:
            config = os.path.join(os.readlink(os.path.join(proc, pid, "cwd")), config)
        except OSError:
            return None
    return os.path.realpath(config)


def watchdog_pids(project: Project, proc: str = PROC) -> list[int]:
    """Pids of processes running this project's watchdog, in tmux or in the foreground
    (``proc``: where the process table is mounted)."""
    return watchdogs_of(project.config_path, proc)


def watchdogs_of(config_path: str, proc: str = PROC) -> list[int]:
    """Pids of processes running a watchdog of the agents.toml at ``config_path`` (which
    need not be valid: the cutover's evidence counts them whatever the file holds)."""
    found: list[int] = []
    target = os.path.realpath(config_path)
    for pid in pids(proc):
        data = _read(pid, "cmdline", proc)
        if data is not None and _config_of(str(pid), data.split(b"\0"), proc) == target:
            found.append(pid)
    return found


def _same_config(value: bytes, config_path: str) -> bool:
    text = os.fsdecode(value)
    return text == config_path or os.path.realpath(text) == os.path.realpath(config_path)


def read_table(proc_root: str = PROC, uid: int | None = None) -> dict[int, tuple[ProcStat, dict[bytes, bytes]]]:
    """One read of /proc: every live process of user ``uid`` (default: ours), its stat and
    environment. ``agent_processes`` of many agents (a mass heal) share one."""
    uid = os.getuid() if uid is None else uid
    table: dict[int, tuple[ProcStat, dict[bytes, bytes]]] = {}
    for pid in pids(proc_root):
        try:
            if os.stat(os.path.join(proc_root, str(pid))).st_uid != uid:
                continue
        except OSError:
            continue
        stat = read_stat(pid, proc_root)
        if stat is None or stat.state in ("Z", "X"):  # exited: nothing left to end
            continue
        table[pid] = (stat, read_environ(pid, proc_root) or {})
    return table


def ancestors(pid: int, table: Mapping[int, ProcStat] | None = None, proc_root: str = PROC) -> set[int]:
    """The pids above ``pid`` (its parent, its parent's ...), from ``table`` where it has them."""
    table = table or {}
    seen: set[int] = set()
    stat = table.get(pid) or read_stat(pid, proc_root)
    while stat is not None and stat.ppid > 0 and stat.ppid not in seen:
        seen.add(stat.ppid)
        stat = table.get(stat.ppid) or read_stat(stat.ppid, proc_root)
    return seen


def agent_processes(config_path: str, agent: str, roots: Iterable[int] = (), proc_root: str = PROC,
                    uid: int | None = None, me: int | None = None,
                    processes: Mapping[int, tuple[ProcStat, dict[bytes, bytes]]] | None = None) -> dict[int, int]:
    """Every live process of one agent (by pid, with its start time): the processes of user
    ``uid`` (default: ours) whose environment names ``config_path`` and ``agent``, and the
    descendants of those ``roots`` (the agent's pane processes) that name them too.

    Spared: process ``me`` (default: this one) and its ancestors (an agent may end itself
    from its own pane: the process doing it must finish its work), the ancestors of the
    roots, and the ancestors of any process of another identity (a tmux server started from
    an agent's pane carries that agent's environment, and other agents hang from it).
    """
    me = os.getpid() if me is None else me
    table: dict[int, ProcStat] = {}
    ours: set[int] = set()
    others: list[int] = []
    wanted = os.fsencode(agent)
    processes = read_table(proc_root, uid) if processes is None else processes
    for pid, (stat, env) in processes.items():
        table[pid] = stat
        if AGENT_VAR not in env:
            continue
        if env[AGENT_VAR] == wanted and _same_config(env.get(CONFIG_VAR, b""), config_path):
            ours.add(pid)
        else:
            others.append(pid)

    children: dict[int, list[int]] = {}
    for stat in table.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    found = set(ours)
    todo = [r for r in roots if r in ours]  # a pane pid that is not the agent's (gone, reused) roots nothing
    while todo:
        pid = todo.pop()
        for child in children.get(pid, ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    spared = {me} | ancestors(me, table, proc_root)
    for pid in list(roots) + others:
        spared |= ancestors(pid, table, proc_root)
    return {pid: table[pid].start for pid in sorted(found - spared)}


def _wait(fds: Mapping[int, int], timeout: float) -> list[int]:
    """Wait up to ``timeout`` seconds for the processes behind ``fds`` (pid -> pidfd) to
    exit; the pids still alive then."""
    alive = dict(fds)
    deadline = time.monotonic() + timeout
    while alive:
        left = deadline - time.monotonic()
        poller = select.poll()
        for fd in alive.values():
            poller.register(fd, select.POLLIN)
        ready = {fd for fd, _mask in poller.poll(max(0.0, left) * 1000)}
        alive = {pid: fd for pid, fd in alive.items() if fd not in ready}
        if left <= 0:
            break
    return sorted(alive)


def end_processes(found: Mapping[int, int], grace: float = 2.0, settle: float = 0.5,
                  proc_root: str = PROC) -> int:
    """End the processes ``found`` (pid -> start time, from ``agent_processes``); how many
    had to be ended. Each is held by a pidfd whose process is checked to be the one found
    (same start time), so a reused pid is never signalled. Those that do not exit within
    ``settle`` seconds by themselves (their session was just killed) get SIGTERM, and
    SIGKILL when still alive ``grace`` seconds later."""
    import signal  # here: it builds its enums on import, and status imports this module

    held: dict[int, int] = {}
    try:
        for pid, start in found.items():
            try:
                fd = os.pidfd_open(pid)
            except OSError:  # gone
                continue
            stat = read_stat(pid, proc_root)
            if stat is None or stat.start != start:  # another process now has the pid
                os.close(fd)
                continue
            held[pid] = fd
        ended = []
        for pid in _wait(held, settle):
            try:
                signal.pidfd_send_signal(held[pid], signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                continue
            ended.append(pid)
        for pid in _wait({p: held[p] for p in ended}, grace):
            try:
                signal.pidfd_send_signal(held[pid], signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        return len(ended)
    finally:
        for fd in held.values():
            os.close(fd)


def kept_agent(pane_pid: int, proc_root: str = PROC) -> int | None:
    """The process of a pane's agent: ``pane_pid`` itself, unless that is a keeper (its
    argv[0] named ``tmuxproc.KEEPER``, see sessions.keeper_command), whose agent is its child
    (the first one listed). None: a keeper without a child (between two runs of its agent).
    A pane process that cannot be read (gone, a zombie) is its own agent: whether it lives is
    for the caller to tell."""
    argv = _read(pane_pid, "cmdline", proc_root)
    if not argv or os.path.basename(argv.split(b"\0", 1)[0]) != KEEPER.encode():
        return pane_pid
    children = _read(pane_pid, os.path.join("task", str(pane_pid), "children"), proc_root)
    if children is None:  # a kernel without it (CONFIG_PROC_CHILDREN): the process table, by parent
        found = [pid for pid in pids(proc_root) if (read_stat(pid, proc_root) or ProcStat(0, 0, "", 0)).ppid == pane_pid]
        return found[0] if found else None
    first = children.split(None, 1)[:1]
    return int(first[0]) if first and first[0].isdigit() else None


def waiting_agent(pane_pid: int, proc_root: str = PROC) -> ProcStat | None:
    """The agent a waiting keeper still has (one stopped by SIGSTOP, or continued since: see
    sessions.keeper_command), as its stat; None when it has none (its agent ended: a zombie
    is none either)."""
    pid = kept_agent(pane_pid, proc_root)
    stat = read_stat(pid, proc_root) if pid is not None and pid != pane_pid else None
    return stat if stat is not None and stat.state not in ("Z", "X") else None


def descendants(root: int, proc_root: str = PROC) -> list[int]:
    """``root`` and every process below it (by parent pid), root first."""
    children: dict[int, list[int]] = {}
    for pid in pids(proc_root):
        stat = read_stat(pid, proc_root)
        if stat is not None:
            children.setdefault(stat.ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def open_files(pid: int, proc_root: str = PROC) -> list[str]:
    """The paths a process has open ([] when it is gone or not ours to read)."""
    folder = os.path.join(proc_root, str(pid), "fd")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    out = []
    for name in names:
        try:
            out.append(os.readlink(os.path.join(folder, name)))
        except OSError:
            continue
    return out
