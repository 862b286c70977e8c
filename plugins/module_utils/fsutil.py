# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files the engine owns: written atomically (temp file + rename) under a kernel lock."""

from __future__ import annotations

import contextlib
import fcntl
import os


from .errors import OrchestratorError


def inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or below it (both normalised)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def holds_home_or_root(real: str) -> bool:
    """Whether a real path is ``/``, the user's home folder or a parent of it: never a folder
    for the engine to fill or to empty."""
    return real == "/" or inside(os.path.realpath(os.path.expanduser("~")), real)


@contextlib.contextmanager
def locked(lock_path: str):
    """Hold an exclusive flock on ``lock_path`` (created if needed) for the block."""
    try:
        os.makedirs(os.path.dirname(lock_path), exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise OrchestratorError("cannot open lock %s: %s" % (lock_path, exc.strerror or exc)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


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
        raise OrchestratorError("cannot write %s: %s" % (path, exc.strerror or exc)) from None
