# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parsed-config cache (used only for the exact text it was made from) and the early
tmux read of ``agents.py status`` (taken only for the very same read), without tmux."""

from __future__ import annotations

import gc
import marshal
import os
import stat
import sys

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config, early, quick, tmux, tmuxproc
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError, TmuxForeignServer

TEXT = '''[project]
name = "p"
tmux_socket = "run/t.sock"

[agents.a]
kind = "persistent"
backend = "demo"
watch = "heal"

[agents.b]
kind = "persistent"
backend = "demo"
'''


pytestmark = pytest.mark.usefixtures("early_state_cleared")


def write(folder, text=TEXT, state=True):
    path = folder / "agents.toml"
    path.write_text(text)
    if state:
        (folder / "state").mkdir(exist_ok=True)
    return str(path)


def no_parse(monkeypatch):
    """tomllib must not be asked (the cache answers)."""
    def refuse(text, path):
        raise AssertionError("parsed again")

    monkeypatch.setattr(config, "parse_toml", refuse)


def test_status_caches_what_tomllib_made_and_uses_it_for_the_same_text(tmp_path, monkeypatch):
    path = write(tmp_path)
    first = config.load(path, cached=True)
    cache = tmp_path / "state" / ".agents.toml.parsed"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    data, socket, view = early.read_cache(path, TEXT)
    assert (data, socket) == (config.parse_toml(TEXT, path), str(tmp_path / "run" / "t.sock"))
    assert view == (quick.stamp(path, data), quick.plan(first)), "with the view of the validated project (quick.py)"
    no_parse(monkeypatch)
    assert config.load(path, cached=True) == first == config.parse(TEXT, path, early.read_cache(path, TEXT)[0])


def test_without_cached_nothing_is_written_or_read(tmp_path, monkeypatch):
    path = write(tmp_path)
    config.load(path)
    assert not (tmp_path / "state" / ".agents.toml.parsed").exists()
    config.load(path, cached=True)
    no_parse(monkeypatch)
    with pytest.raises(AssertionError, match="parsed again"):
        config.load(path)


@pytest.mark.parametrize("change", [
    TEXT.replace('name = "p"', 'name = "q"'),  # same size: only the text tells
    TEXT + "\n",
    TEXT.replace("\n", "\r\n"),
])
def test_any_change_of_the_text_is_a_miss(tmp_path, change):
    path = write(tmp_path)
    config.load(path, cached=True)
    before = os.stat(path)
    write(tmp_path, change)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # even with the old mtime
    assert early.read_cache(path, change) is None
    assert config.load(path, cached=True).name == config.parse(change, path).name
    assert early.read_cache(path, change) is not None, "the new text is cached in its place"
    assert early.read_cache(path, TEXT) is None


def test_another_path_python_or_format_is_a_miss(tmp_path, monkeypatch):
    path = write(tmp_path)
    config.load(path, cached=True)
    moved = tmp_path / "other.toml"
    os.link(tmp_path / "state" / ".agents.toml.parsed", tmp_path / "state" / ".other.toml.parsed")
    moved.write_text(TEXT)
    assert early.read_cache(str(moved), TEXT) is None, "the cache names the config it was made for"
    assert early.read_cache(path, TEXT) is not None
    monkeypatch.setattr(sys, "hexversion", sys.hexversion + 1)
    assert early.read_cache(path, TEXT) is None
    monkeypatch.undo()
    monkeypatch.setattr(early, "CACHE_FORMAT", early.CACHE_FORMAT + 1)
    assert early.read_cache(path, TEXT) is None


@pytest.mark.parametrize("content", [b"", b"\x00garbage", marshal.dumps(("not", "an", "entry")),
                                     marshal.dumps((early.CACHE_FORMAT, sys.hexversion, "x", TEXT, [], ""))])
def test_an_unreadable_cache_is_a_miss_and_is_replaced(tmp_path, content):
    path = write(tmp_path)
    (tmp_path / "state" / ".agents.toml.parsed").write_bytes(content)
    assert early.read_cache(path, TEXT) is None
    config.load(path, cached=True)
    assert early.read_cache(path, TEXT) is not None


def test_a_symlinked_cache_is_never_read(tmp_path):
    path = write(tmp_path)
    config.load(path, cached=True)
    cache = tmp_path / "state" / ".agents.toml.parsed"
    cache.rename(tmp_path / "elsewhere")
    cache.symlink_to(tmp_path / "elsewhere")
    assert early.read_cache(path, TEXT) is None


def test_no_cache_without_the_default_state_folder_or_for_another_one(tmp_path):
    path = write(tmp_path, state=False)
    config.load(path, cached=True)
    assert not (tmp_path / "state").exists(), "status creates no state folder"
    path = write(tmp_path, TEXT.replace('name = "p"', 'name = "p"\nstate_dir = "elsewhere"'))
    (tmp_path / "elsewhere").mkdir()
    assert config.load(path, cached=True).state_dir == str(tmp_path / "elsewhere")
    assert os.listdir(tmp_path / "state") == [] and os.listdir(tmp_path / "elsewhere") == []


def test_an_invalid_config_or_one_with_dates_is_not_cached(tmp_path):
    path = write(tmp_path, TEXT.replace('backend = "demo"\nwatch', 'backend = "nope"\nwatch'))
    with pytest.raises(ConfigError):
        config.load(path, cached=True)
    assert os.listdir(tmp_path / "state") == []
    assert not early.write_cache(path, TEXT, {"project": {"when": config.parse_toml("d = 1979-05-27", path)["d"]}}, "")
    assert early.write_cache(path, TEXT, config.parse_toml(TEXT, path), "")


class FakeSpawned:
    started: list = []

    def __init__(self, argv):
        self.argv = argv
        FakeSpawned.started.append(argv)

    def wait(self):
        return 0, "a\t$1\t1\t0\t0\t%1\t10\tsleep\t0\t\t1\t\t\t\t\t\n", ""


@pytest.fixture
def spawned(monkeypatch):
    FakeSpawned.started = []
    monkeypatch.setattr(tmuxproc, "Spawned", FakeSpawned)
    return FakeSpawned.started


def test_status_starts_the_read_of_the_cached_server_and_sessions_takes_it(tmp_path, monkeypatch, spawned):
    path = write(tmp_path)
    monkeypatch.chdir(tmp_path)
    early.start(["status"], str(tmp_path / "engine"))
    assert spawned == [], "no cache yet: nothing is started"
    project = config.load(path, cached=True)
    for argv in (["up"], ["status", "a"], ["--config", path, "status"], ["status", "--tmux-socket", "x"]):
        early.start(argv, str(tmp_path / "engine"))
    assert spawned == [], "only a plain status starts early"
    gc.enable()
    early.start(["status"], str(tmp_path / "engine"))
    assert not gc.isenabled(), "a status process runs without the cyclic collector"
    argv = tmuxproc.list_panes_argv(project.tmux_socket)
    assert spawned == [argv] == [["tmux", "-S", str(tmp_path / "run" / "t.sock"), "list-panes", "-a", "-F", tmux._FORMAT]]

    def no_capture(argv):
        raise AssertionError("a second read")

    monkeypatch.setattr(tmux, "capture", no_capture)
    assert early.take(tmuxproc.list_panes_argv("other")) is None, "another server's read is not this one"
    assert list(tmux.TmuxServer(project.tmux_socket).sessions()) == ["a"]
    assert early.take(argv) is None, "taken once"


def test_a_server_the_check_refuses_is_never_read_early(tmp_path, monkeypatch, spawned):
    path = write(tmp_path)
    config.load(path, cached=True)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "t.sock").write_text("not a socket")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TmuxForeignServer):
        tmuxproc.check_socket(str(tmp_path / "run" / "t.sock"))
    early.start(["status"], str(tmp_path / "engine"))
    assert spawned == [] and early._early == []


def test_the_early_parse_is_reused_only_for_the_same_text(tmp_path, monkeypatch, spawned):
    path = write(tmp_path)
    config.load(path, cached=True)
    monkeypatch.chdir(tmp_path)
    early.start(["status"], str(tmp_path / "engine"))
    os.unlink(tmp_path / "state" / ".agents.toml.parsed")
    assert early.read_cache(path, TEXT) is not None, "what start read is kept for the load that follows"
    assert early.read_cache(path, TEXT + "\n") is None


def test_no_cache_is_written_into_a_state_folder_of_another_user(tmp_path, monkeypatch):
    path = write(tmp_path, TEXT)
    owner = os.stat(tmp_path / "state").st_uid
    monkeypatch.setattr(early.os, "geteuid", lambda: owner + 1)  # the caller is not the folder's owner (root reading)
    assert not early.write_cache(path, TEXT, config.parse_toml(TEXT, path), "")
    assert os.listdir(tmp_path / "state") == []
