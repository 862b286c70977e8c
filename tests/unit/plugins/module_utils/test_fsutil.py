# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fsutil on a temp folder: the one flock helper, atomic writes, removals and log lines."""

from __future__ import annotations

import fcntl
import os

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import fsutil
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import OrchestratorError


def _busy(path) -> bool:
    """Whether another open file description of ``path`` cannot take the lock now."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def test_locked_holds_for_the_block_and_creates_its_folder(tmp_path):
    path = str(tmp_path / "deep" / "state" / ".engine.lock")
    with fsutil.locked(path):
        assert _busy(path)
    assert not _busy(path)
    assert open(path).read() == "", "a waiting lock writes nothing"


def test_non_blocking_lock_names_its_holder(tmp_path):
    path = str(tmp_path / "watchdog.lock")
    with fsutil.locked(path, wait=False):
        assert open(path).read() == "%d\n" % os.getpid()
        with pytest.raises(fsutil.LockBusy) as info:
            with fsutil.locked(path, wait=False):
                pass
        assert info.value.holder == str(os.getpid()) and info.value.path == path
    with fsutil.locked(path, wait=False):  # free again once released
        pass


def test_a_busy_lock_without_a_pid_names_no_one(tmp_path):
    path = tmp_path / "watchdog.lock"
    path.write_text("")
    fd = os.open(str(path), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(fsutil.LockBusy, match="held by pid \\?"):
            with fsutil.locked(str(path), wait=False):
                pass
    finally:
        os.close(fd)


def test_a_lock_that_cannot_be_opened_names_its_path(tmp_path):
    (tmp_path / "file").write_text("")
    path = str(tmp_path / "file" / "x.lock")
    with pytest.raises(OrchestratorError, match="cannot open lock %s: " % path):
        with fsutil.locked(path):
            pass


def test_atomic_write_replaces_whole_files_with_their_mode(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    fsutil.atomic_write(str(path), "one\n", 0o600)
    assert path.read_text() == "one\n" and oct(path.stat().st_mode & 0o777) == "0o600"
    fsutil.atomic_write(str(path), b"two\n")
    assert path.read_bytes() == b"two\n" and oct(path.stat().st_mode & 0o777) == "0o644"
    assert sorted(os.listdir(tmp_path / "sub")) == ["f.txt"], "no temp file is left behind"


def test_atomic_write_through_a_symlink_replaces_its_target(tmp_path):
    (tmp_path / "real").write_text("old")
    (tmp_path / "link").symlink_to("real")
    fsutil.atomic_write(str(tmp_path / "link"), "new")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real").read_text() == "new"


def test_atomic_write_failure_names_the_path(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(OrchestratorError, match="cannot write %s/file/x: " % tmp_path):
        fsutil.atomic_write(str(tmp_path / "file" / "x"), "data")


def test_remove_and_append_line(tmp_path):
    log = tmp_path / "logs" / "a.log"
    fsutil.append_line(str(log), "one")
    fsutil.append_line(str(log), "two")
    assert log.read_text() == "one\ntwo\n"
    assert fsutil.remove(str(log)) is True and fsutil.remove(str(log)) is False
    with pytest.raises(OrchestratorError, match="cannot delete %s: " % (tmp_path / "logs")):
        fsutil.remove(str(tmp_path / "logs"))  # a folder is not a file
    (tmp_path / "file").write_text("")
    with pytest.raises(OrchestratorError, match="cannot write %s: " % (tmp_path / "file" / "b.log")):
        fsutil.append_line(str(tmp_path / "file" / "b.log"), "x")


def test_inside_and_home_or_root():
    assert fsutil.inside("/a/b", "/a") and fsutil.inside("/a", "/a") and not fsutil.inside("/ab", "/a")
    assert fsutil.holds_home_or_root("/") and fsutil.holds_home_or_root(os.path.realpath(os.path.expanduser("~")))
