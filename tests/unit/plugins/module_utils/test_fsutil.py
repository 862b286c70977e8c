# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fsutil on a temp folder: the one flock helper, atomic writes, removals and log lines."""

from __future__ import annotations

import fcntl
import os

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import fsutil
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import OrchestratorError, StateError


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


def test_atomic_write_through_a_symlink_replaces_its_target_only_when_asked(tmp_path):
    (tmp_path / "real").write_text("old")
    (tmp_path / "link").symlink_to("real")
    fsutil.atomic_write(str(tmp_path / "link"), "new", follow_symlinks=True)  # an operator's agents.toml
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real").read_text() == "new"


def test_atomic_write_refuses_a_symlinked_state_file(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("precious")
    state = tmp_path / "state"
    state.mkdir()
    (state / "w.watch.json").symlink_to(outside)
    with pytest.raises(OrchestratorError, match="refusing to write %s: it is a symlink \\(to %s\\)"
                       % (state / "w.watch.json", outside)):
        fsutil.atomic_write(str(state / "w.watch.json"), "{}")
    assert outside.read_text() == "precious" and (state / "w.watch.json").is_symlink()
    assert os.listdir(state) == ["w.watch.json"], "no temp file is left behind"


def test_a_symlinked_lock_is_refused_and_its_target_untouched(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("precious\n")
    (tmp_path / "watchdog.lock").symlink_to(outside)
    for wait in (True, False):
        with pytest.raises(OrchestratorError, match="refusing to open lock %s: it is a symlink"
                           % (tmp_path / "watchdog.lock")):
            with fsutil.locked(str(tmp_path / "watchdog.lock"), wait=wait):
                pass
    assert outside.read_text() == "precious\n"


def test_append_line_refuses_a_symlinked_log(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("precious\n")
    (tmp_path / "events.jsonl").symlink_to(outside)
    with pytest.raises(OrchestratorError, match="refusing to write %s: it is a symlink" % (tmp_path / "events.jsonl")):
        fsutil.append_line(str(tmp_path / "events.jsonl"), "{}")
    assert outside.read_text() == "precious\n"


def test_new_files_honour_the_umask_and_secrets_stay_private(tmp_path):
    old = os.umask(0o077)
    try:
        assert fsutil.umask() == 0o077
        fsutil.atomic_write(str(tmp_path / "phase-idx"), "1\n")
        fsutil.atomic_write(str(tmp_path / "w.env"), "X=1\n", 0o600)
        fsutil.append_line(str(tmp_path / "events.jsonl"), "{}")
        with fsutil.locked(str(tmp_path / "watchdog.lock"), wait=False):
            pass
        os.umask(0o022)
        fsutil.atomic_write(str(tmp_path / "open"), "x")
    finally:
        os.umask(old)
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()}
    assert modes == {"phase-idx": "0o600", "w.env": "0o600", "events.jsonl": "0o600", "watchdog.lock": "0o600",
                     "open": "0o644"}


def test_stale_temp_files_of_killed_writes_go_at_the_next_write(tmp_path):
    import time

    target = tmp_path / "w.watch.json"
    old_tmp = tmp_path / ".w.watch.json.abcd_123.tmp"  # what a write killed before its rename left
    fresh_tmp = tmp_path / ".w.watch.json.zzzz_999.tmp"  # a write under way
    other = tmp_path / ".w.run.json.abcd_123.tmp"  # another file's: its own next write removes it
    foreign = tmp_path / ".w.watch.json.notes.tmp"  # not a name the engine makes
    for path in (old_tmp, fresh_tmp, other, foreign):
        path.write_text("half")
    hour_ago = time.time() - 3600
    for path in (old_tmp, other, foreign):
        os.utime(path, (hour_ago, hour_ago))
    fsutil.atomic_write(str(target), "{}\n")
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in (target, fresh_tmp, other, foreign))


def test_a_folder_is_listed_for_stale_temps_once_a_minute_and_their_files_still_go(tmp_path, monkeypatch):
    import time

    listed = []
    real = os.listdir
    monkeypatch.setattr(fsutil.os, "listdir", lambda folder: listed.append(folder) or real(folder))
    stale = tmp_path / ".b.env.abcd_123.tmp"
    stale.write_text("half")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    for name in ("a.env", "b.env", "c.env"):  # up of many agents: one listing of state/, not one per file
        fsutil.atomic_write(str(tmp_path / name), "x\n")
    assert listed.count(str(tmp_path)) == 1
    assert not stale.exists()  # b.env's write still removed its own stale temp from that listing


def test_a_write_that_need_not_survive_a_power_cut_skips_the_fsync(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(fsutil.os, "fsync", synced.append)
    fsutil.atomic_write(str(tmp_path / "w.watch.json"), "{}\n", durable=False)
    assert synced == [] and (tmp_path / "w.watch.json").read_text() == "{}\n"
    fsutil.atomic_write(str(tmp_path / "w.run.json"), "{}\n")
    assert len(synced) == 1


def _pread_counter(monkeypatch):
    read = []
    real = os.pread

    def counting(fd, size, offset):
        data = real(fd, size, offset)
        read.append(len(data))
        return data

    monkeypatch.setattr(fsutil.os, "pread", counting)
    return read


def test_lines_from_end_reads_backwards_in_blocks(tmp_path, monkeypatch):
    path = tmp_path / "log"
    lines = [("line %d " % i + "x" * (i % 7)).encode() for i in range(500)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    for block in (1, 5, 64, 1 << 16):
        assert list(fsutil.lines_from_end(str(path), block=block)) == lines[::-1]
    path.write_bytes(b"a\n\nb")  # an empty line, no final newline
    assert list(fsutil.lines_from_end(str(path), block=2)) == [b"b", b"", b"a"]
    path.write_bytes(b"")
    assert list(fsutil.lines_from_end(str(path))) == []
    assert list(fsutil.lines_from_end(str(tmp_path / "missing"))) == []
    path.write_bytes(b"first\n" + b"y" * 5000 + b"\nlast\n")  # an overlong line is skipped
    assert list(fsutil.lines_from_end(str(path), block=64, longest=1000)) == [b"last", b"first"]


def test_the_last_lines_of_a_huge_file_read_only_its_end(tmp_path, monkeypatch):
    path = tmp_path / "events.jsonl"
    with open(path, "wb") as handle:
        handle.truncate(300 << 20)  # sparse: 300 MB of NUL bytes without a newline
        handle.seek(0, os.SEEK_END)
        handle.write(b"\n1\n2\n3\n")
    read = _pread_counter(monkeypatch)
    taken = []
    for line in fsutil.lines_from_end(str(path)):
        taken.append(line)
        if len(taken) == 3:
            break
    assert taken == [b"3", b"2", b"1"] and sum(read) <= 1 << 16
    read.clear()
    everything = list(fsutil.lines_from_end(str(path), block=1 << 20, longest=1 << 20))
    assert everything == [b"3", b"2", b"1"], "the 300 MB line is skipped, not held"


def test_read_state_text_refuses_symlinks_and_bad_bytes(tmp_path):
    (tmp_path / "ok").write_text("1\n")
    (tmp_path / "bad").write_bytes(b"\xff\xfe1\n")
    (tmp_path / "link").symlink_to(tmp_path / "ok")
    assert fsutil.read_state_text(str(tmp_path / "ok")) == "1\n"
    assert fsutil.read_state_text(str(tmp_path / "missing")) is None
    with pytest.raises(StateError, match="%s: not valid UTF-8 \\(byte 0\\)" % (tmp_path / "bad")):
        fsutil.read_state_text(str(tmp_path / "bad"))
    with pytest.raises(StateError, match="refusing to read %s: it is a symlink" % (tmp_path / "link")):
        fsutil.read_state_text(str(tmp_path / "link"))


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


def test_a_fifo_among_the_state_files_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "project-id"
    os.mkfifo(fifo)
    with pytest.raises(StateError, match="not a regular file"):
        fsutil.read_state_text(str(fifo))
