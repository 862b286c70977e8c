# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files the engine owns: written atomically (temp file + rename) under a kernel lock.

A symlink in the state and log folders is never followed: locks, appends and reads open
with ``O_NOFOLLOW`` and ``atomic_write`` refuses a symlinked destination (unless the file is
an operator's, such as agents.toml, which may be a symlink), each with an error naming the
path. New files honour the umask; secrets pass 0600.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat

from .errors import OrchestratorError, StateError

TYPE_CHECKING = False  # not typing's (nor collections.abc, nor contextlib): status imports this module
if TYPE_CHECKING:
    from collections.abc import Iterator

_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC
STALE_TMP_SECONDS = 60.0  # a temp file of a killed write older than this is removed at the next write
_ANY_TMP = r"\..+\.[a-z0-9_]{8}\.tmp"  # any atomic_write temp file name (compiled when used: status imports no re)
_temp_names: dict[str, tuple[float, list[str]]] = {}  # folder -> (when listed, the temp names in it)


def resolve_path(root: str, value: str) -> str:
    """A path from a config value: ``~`` expanded, relative to the config's folder ``root``."""
    value = os.path.expanduser(value)
    return os.path.normpath(value if os.path.isabs(value) else os.path.join(root, value))


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
    if exc.errno == errno.ELOOP and os.path.islink(path):
        return _symlink_refused(what, path)
    return OrchestratorError("cannot %s %s: %s" % (what, path, exc.strerror or exc))


def _symlink_refused(what: str, path: str) -> StateError:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return StateError("refusing to %s %s: it is a symlink (to %s) and the engine never follows a symlink "
                      "among its state and log files; remove it" % (what, path, target))


def umask() -> int:
    """The process's umask, read without changing it (from /proc; else set and restored)."""
    try:
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


class _Locked:
    """``locked``'s context manager (a class: contextlib costs the status path an import)."""

    __slots__ = ("lock_path", "wait", "fd")

    def __init__(self, lock_path: str, wait: bool) -> None:
        self.lock_path = lock_path
        self.wait = wait
        self.fd = -1

    def __enter__(self) -> None:
        try:
            os.makedirs(os.path.dirname(self.lock_path), exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o666)
        except OSError as exc:
            raise _failed("open lock", self.lock_path, exc) from None
        try:
            _take(fd, self.lock_path, self.wait)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def __exit__(self, *_exc: object) -> None:
        fd, self.fd = self.fd, -1
        os.close(fd)


def locked(lock_path: str, wait: bool = True) -> _Locked:
    """Hold an exclusive flock on ``lock_path`` (created if needed) for the block.

    ``wait=False`` is for a lock held for a process's life (the watchdog's): when another
    process holds it, LockBusy names the pid that process wrote in the file; once taken,
    the file holds this process's pid. The kernel drops the lock when the holder dies. A
    symlinked lock file is refused (never truncated through).
    """
    return _Locked(lock_path, wait)


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


def atomic_write(path: str, data: str | bytes, mode: int | None = None, follow_symlinks: bool = False,
                 durable: bool = True) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half.

    ``mode`` None is an ordinary file's (0666 less the umask); pass 0600 for secrets. A
    symlinked ``path`` is refused (the engine's own files) unless ``follow_symlinks``
    (an operator's file: its target is replaced and the symlink stays). Temp files of
    earlier writes of the same file killed midway, older than a minute, are removed.
    ``durable`` False skips the fsync: for bookkeeping that may be lost with a power cut
    but never seen half (the watchdog's watch files, rewritten at every heal).
    """
    import tempfile  # deferred: only writers need it

    if follow_symlinks:
        path = os.path.realpath(path)
    elif os.path.islink(path):
        raise _symlink_refused("write", path)
    directory = os.path.dirname(path) or "."
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(path), suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(raw)
                handle.flush()
                if durable:
                    os.fsync(handle.fileno())
            os.chmod(tmp, 0o666 & ~umask() if mode is None else mode)
            os.replace(tmp, path)  # a symlink put there meanwhile is replaced, never followed
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError as exc:
        raise _failed("write", path, exc) from None
    remove_stale_temps(path)


def _tmp_prefix(path: str) -> str:
    return "." + os.path.basename(path) + "."


def remove_stale_temps(path: str, older_than: float = STALE_TMP_SECONDS) -> list[str]:
    """Delete what writes of ``path`` killed midway left: regular files named as
    ``atomic_write`` names its temp files (``.NAME.XXXXXXXX.tmp``) beside it, older than
    ``older_than`` seconds (a running write's temp file is younger). Returns their paths.

    A folder is listed at most once every ``older_than`` seconds per process (``up`` of a
    thousand agents writes a thousand files into ``state/``): a temp file left after that
    listing is younger than ``older_than`` then, and the next listing finds it."""
    import re
    import time

    directory = os.path.dirname(path) or "."
    pattern = re.compile(re.escape(_tmp_prefix(path)) + r"[a-z0-9_]{8}\.tmp")
    removed: list[str] = []
    now = time.time()
    listed = _temp_names.get(directory)
    if listed is None or now - listed[0] >= older_than:
        try:
            listed = _temp_names[directory] = (now, [n for n in os.listdir(directory) if re.fullmatch(_ANY_TMP, n)])
        except OSError:
            return removed
    names = [n for n in listed[1] if pattern.fullmatch(n)]
    limit = now - older_than
    for name in names:
        stale = os.path.join(directory, name)
        try:
            st = os.lstat(stale)
            if stat.S_ISREG(st.st_mode) and st.st_mtime < limit:
                os.unlink(stale)
                removed.append(stale)
        except OSError:
            pass
    return removed


def lock_free(path: str) -> bool:
    """Whether no process holds the flock on ``path``, probed read-only (nothing written;
    a missing file is free)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | _NOFOLLOW)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def lock_holder(path: str) -> int | None:
    """The pid the holder of the lock ``path`` wrote in it (``locked(wait=False)``), while
    a process holds it; None when it is free, unreadable or names no pid yet."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | _NOFOLLOW)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            return int(text) if text.isdigit() and int(text) > 0 else None
        return None  # free: nobody holds it
    except OSError:
        return None
    finally:
        os.close(fd)


def read_state_text(path: str) -> str | None:
    """The text of one of the engine's own files (None when there is none); what
    ``read_state_bytes`` refuses, or a file that is not UTF-8, raises ``StateError``."""
    raw = read_state_bytes(path)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateError("%s: not valid UTF-8 (byte %d): a corrupt file" % (path, exc.start)) from None


def read_state_bytes(path: str) -> bytes | None:
    """The bytes of one of the engine's own files (None when there is none); a symlink, a
    FIFO or device (never waited on) or an unreadable file raises ``StateError`` naming the path."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(str(_failed("read", path, exc))) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StateError("cannot read %s: not a regular file" % path)
    try:
        with os.fdopen(fd, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise StateError("cannot read %s: %s" % (path, exc.strerror or exc)) from None


def lines_from_end(path: str, block: int = 1 << 16, longest: int = 1 << 20) -> Iterator[bytes]:
    """The lines of a file, last first, as bytes without their newline, read backwards in
    ``block``-byte steps: a caller that wants the last few lines reads only the end of the
    file. A line longer than ``longest`` bytes is skipped (memory stays bounded). A missing
    file has no lines; a symlink or an unreadable file raises the engine's error."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _failed("read", path, exc) from None
    try:
        pos = os.fstat(fd).st_size
        pending, skipping, first = b"", False, True
        while pos > 0:
            size = min(block, pos)
            pos -= size
            buffer = os.pread(fd, size, pos) + pending
            if first and buffer.endswith(b"\n"):
                buffer = buffer[:-1]
            first = False
            parts = buffer.split(b"\n")
            if len(parts) > 1:
                complete = parts[1:]
                if skipping:  # the end of an overlong line, whose rest was dropped
                    complete.pop()
                    skipping = False
                yield from reversed(complete)
            pending = parts[0]
            if len(pending) > longest:
                pending, skipping = b"", True
        if not skipping and not first:
            yield pending
    except OSError as exc:
        raise _failed("read", path, exc) from None
    finally:
        os.close(fd)


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
    """Append one line to a log file (and its folder, if needed), in one write; a symlinked
    log file is refused."""
    data = (line + "\n").encode("utf-8")
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    except OSError as exc:
        raise _failed("write", path, exc) from None
