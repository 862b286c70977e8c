# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files the engine owns: written atomically (temp file + rename) under a kernel lock."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator

from .errors import OrchestratorError


def inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or below it (both normalised)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def holds_home_or_root(real: str) -> bool:
    """Whether a real path is ``/``, the user's home folder or a parent of it: never a folder
    for the engine to fill or to empty."""
    return real == "/" or inside(os.path.realpath(os.path.expanduser("~")), real)


class LockBusy(OrchestratorError):
    """A lock taken without waiting is held by another process; ``holder`` is the pid it
    wrote in the lock file ("?" when it wrote none)."""

    def __init__(self, path: str, holder: str) -> None:
        super().__init__("%s is held by pid %s" % (path, holder))
        self.path = path
        self.holder = holder


def _failed(what: str, path: str, exc: OSError) -> OrchestratorError:
    return OrchestratorError("cannot %s %s: %s" % (what, path, exc.strerror or exc))


@contextlib.contextmanager
def locked(lock_path: str, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive flock on ``lock_path`` (created if needed) for the block.

    ``wait=False`` is for a lock held for a process's life (the watchdog's): when another
    process holds it, LockBusy names the pid that process wrote in the file; once taken,
    the file holds this process's pid. The kernel drops the lock when the holder dies.
    """
    try:
        os.makedirs(os.path.dirname(lock_path), exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise _failed("open lock", lock_path, exc) from None
    try:
        _take(fd, lock_path, wait)
        yield
    finally:
        os.close(fd)


def _take(fd: int, lock_path: str, wait: bool) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES) or wait:
            raise _failed("lock", lock_path, exc) from None
        try:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
        except OSError:
            holder = "?"
        raise LockBusy(lock_path, holder) from None
    if not wait:
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, ("%d\n" % os.getpid()).encode(), 0)
        except OSError as exc:
            raise _failed("write", lock_path, exc) from None


def atomic_write(path: str, data: str | bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half."""
    import tempfile  # deferred: only writers need it

    path = os.path.realpath(path)  # a symlinked file stays a symlink: its target is replaced
    directory = os.path.dirname(path) or "."
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(raw)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise _failed("write", path, exc) from None


def remove(path: str) -> bool:
    """Delete a file; False when it was not there."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise _failed("delete", path, exc) from None
    return True


def append_line(path: str, line: str) -> None:
    """Append one line to a log file (and its folder, if needed)."""
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError as exc:
        raise _failed("write", path, exc) from None
