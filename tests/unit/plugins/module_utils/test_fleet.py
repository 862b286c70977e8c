# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import fleet
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError

SEED = """\
# the operator's own comment
schema = 1

[projects.scratch]
dir = "/tmp/poe2e-scratch"
engine = "agent-orchestrator@v0.1.0"

[projects.cc-ci]   # staged; enabled at cutover
dir = "/home/loops/poe2e/cc-ci"
engine = "agent-orchestrator@v0.1.0"
enabled = false
"""


def write(tmp_path, text):
    path = tmp_path / "fleet.toml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def issues(tmp_path, text):
    with pytest.raises(ConfigError) as info:
        fleet.load(write(tmp_path, text))
    return info.value.issues


def test_seed_fleet_validates_and_reports_like_the_seed(tmp_path):
    registry = fleet.load(write(tmp_path, SEED))
    assert registry.summary() == "fleet: OK — 2 project(s), schema v1"
    assert registry.get("cc-ci").status_line() == "cc-ci [disabled] agent-orchestrator@v0.1.0 /home/loops/poe2e/cc-ci"
    assert registry.totals_line() == "total=2 enabled=1 disabled=1"
    assert [p.name for p in registry.enabled] == ["scratch"]


@pytest.mark.parametrize("text, line, key, words", [
    ('schema = 2\n', 1, "schema", "unknown schema 2 (this version reads schema 1)"),
    ('[projects.a]\ndir = "/a"\nengine = "e@1"\n', 1, "", "missing required key 'schema'"),
    ('schema = 1\n[projects.a]\ndir = "rel/dir"\nengine = "e@1"\n', 3, "projects.a.dir", "must be an absolute path"),
    ('schema = 1\n[projects.a]\ndir = "/a"\nengine = "e"\n', 4, "projects.a.engine", "must be NAME@REF"),
    ('schema = 1\n[projects.a]\ndir = "/a"\nengine = "e@1"\nenabled = "no"\n', 5, "projects.a.enabled",
     "must be a boolean"),
    ('schema = 1\n[projects.a]\ndir = "/a"\n', 2, "projects.a", "missing required key 'engine'"),
    ('schema = 1\n[projects.a]\ndir = "/a"\nengine = "e@1"\nowner = "x"\n', 5, "projects.a.owner", "unknown key"),
    ('schema = 1\n[projects.a]\ndir = "/a"\nengine = "e@1"\n[projects.b]\ndir = "/a/"\nengine = "e@1"\n', 6,
     "projects.b.dir", "already registered as project 'a'"),
    ('schema = 1\n[projects."a b"]\ndir = "/a"\nengine = "e@1"\n', 2, 'projects."a b"', "project names may hold"),
    ('schema = 1\n[projects.a]\ndir = "/a"\nengine = "e@1"\n[projects.a]\n', 5, "", "invalid TOML"),
    ('schema = "1"\n', 1, "schema", "must be an integer"),
])
def test_bad_fleet_files(tmp_path, text, line, key, words):
    found = issues(tmp_path, text)
    assert any(i.line == line and i.key == key and words in i.message for i in found), [str(i) for i in found]


def test_every_error_is_reported(tmp_path):
    found = issues(tmp_path, 'schema = 3\n[projects.a]\ndir = "x"\nengine = "y"\n')
    assert [i.line for i in found] == [1, 3, 4]


def test_edits_keep_comments_and_layout(tmp_path):
    path = write(tmp_path, SEED)
    change = fleet.apply_entry(path, "cc-ci", enabled=True)
    assert change.changed
    assert change.before["enabled"] is False and change.after["enabled"] is True
    text = open(path).read()
    assert text == SEED.replace("enabled = false", "enabled = true")
    again = fleet.apply_entry(path, "cc-ci", enabled=True)
    assert not again.changed


def test_add_and_remove(tmp_path):
    path = str(tmp_path / "new" / "fleet.toml")
    os.makedirs(os.path.dirname(path))
    add = fleet.apply_entry(path, "p1", dir="/srv/p1", engine="agent-orchestrator@v0.1.0")
    assert add.changed and add.before is None and add.after["enabled"] is True
    assert fleet.load(path).summary() == "fleet: OK — 1 project(s), schema v1"
    gone = fleet.apply_entry(path, "p1", "absent")
    assert gone.changed and gone.after is None
    assert not fleet.apply_entry(path, "p1", "absent").changed
    assert fleet.load(path).projects == []


@pytest.mark.parametrize("where", ["folder", "missing folder"])
def test_dropping_an_entry_of_a_missing_fleet_file_creates_nothing(tmp_path, where):
    path = str(tmp_path / "fleet.toml") if where == "folder" else str(tmp_path / "gone" / "fleet.toml")
    change = fleet.apply_entry(path, "p1", "absent")
    assert (change.changed, change.before, change.after) == (False, None, None)
    assert os.listdir(tmp_path) == []  # no fleet file, no lock file, no folder


def test_check_mode_writes_nothing(tmp_path):
    path = str(tmp_path / "fleet.toml")
    change = fleet.apply_entry(path, "p1", check_mode=True, dir="/srv/p1", engine="e@1")
    assert change.changed and "[projects.p1]" in change.after_text
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("values, words", [
    ({"dir": "relative/dir", "engine": "e@1"}, "must be an absolute path"),
    ({"dir": "/srv/x", "engine": "no-ref"}, "must be NAME@REF"),
    ({"engine": "e@1"}, "a new entry needs dir"),
    ({"dir": "/home/loops/poe2e/cc-ci", "engine": "e@1"}, "already registered as project 'cc-ci'"),
])
def test_bad_edits_write_nothing(tmp_path, values, words):
    path = write(tmp_path, SEED)
    with pytest.raises(ConfigError, match=words):
        fleet.apply_entry(path, "newcomer", **values)
    assert open(path).read() == SEED
    assert sorted(os.listdir(tmp_path)) == [".fleet.toml.lock", "fleet.toml"]


def test_a_broken_file_is_never_edited(tmp_path):
    path = write(tmp_path, "schema = 1\n[projects.a]\ndir = 'x'\nengine = 'e@1'\n")
    with pytest.raises(ConfigError, match=":3:1: projects.a.dir"):
        fleet.apply_entry(path, "b", dir="/b", engine="e@1")


def test_an_entry_may_name_its_tmux_server(tmp_path):
    text = SEED + '\n[projects.named]\ndir = "/srv/named"\nengine = "e@1"\ntmux_socket = "ao-named"\n' \
        '\n[projects.pathed]\ndir = "/srv/pathed"\nengine = "e@1"\ntmux_socket = "/run/ao/tmux.sock"\n' \
        '\n[projects.dflt]\ndir = "/srv/dflt"\nengine = "e@1"\ntmux_socket = "default"\n'
    registry = fleet.load(write(tmp_path, text))
    assert [p.tmux_socket for p in registry.projects] == [None, None, "ao-named", "/run/ao/tmux.sock", "default"]
    assert registry.get("scratch").as_dict()["tmux_socket"] is None
    assert registry.get("named").status_line() == "named [enabled] e@1 /srv/named tmux_socket=ao-named"
    assert registry.get("cc-ci").status_line() == "cc-ci [disabled] agent-orchestrator@v0.1.0 /home/loops/poe2e/cc-ci"
    assert [s.as_dict()["tmux_socket"] for s in fleet.fleet_status(registry, live=False)][2:] == \
        ["ao-named", "/run/ao/tmux.sock", "default"]


@pytest.mark.parametrize("value, words", [
    ('""', "must not be empty: leave the key out"),
    ('"  "', "must not be empty"),
    ('"rel/tmux.sock"', "a socket path must be absolute, got 'rel/tmux.sock'"),
    ('"a.b"', "a socket name may hold only letters, digits, '-' and '_'"),
    ('5', "must be a string"),
])
def test_bad_entry_sockets(tmp_path, value, words):
    found = issues(tmp_path, 'schema = 1\n[projects.a]\ndir = "/a"\nengine = "e@1"\ntmux_socket = %s\n' % value)
    assert [(i.line, i.key) for i in found] == [(5, "projects.a.tmux_socket")], [str(i) for i in found]
    assert words in found[0].message


def test_files_without_a_socket_write_as_before(tmp_path):
    path = write(tmp_path, SEED)
    for values in ({}, {"tmux_socket": None}, {"tmux_socket": ""}, {"tmux_socket": "  "}, {"unset": ("tmux_socket",)}):
        change = fleet.apply_entry(path, "cc-ci", **values)
        assert not change.changed, values
        assert open(path).read() == SEED
    fleet.apply_entry(path, "cc-ci", enabled=True)
    assert open(path).read() == SEED.replace("enabled = false", "enabled = true")
    fleet.apply_entry(path, "newcomer", dir="/srv/new", engine="e@1")
    assert open(path).read().endswith('\n[projects.newcomer]\ndir = "/srv/new"\nengine = "e@1"\nenabled = true\n')


def test_set_change_keep_and_unset_a_socket(tmp_path):
    path = write(tmp_path, SEED)
    added = fleet.apply_entry(path, "p1", dir="/srv/p1", engine="e@1", tmux_socket=" ao-p1 ")
    assert added.changed and added.after["tmux_socket"] == "ao-p1"
    assert 'tmux_socket = "ao-p1"\n' in open(path).read()
    assert not fleet.apply_entry(path, "p1", tmux_socket="ao-p1").changed
    kept = open(path).read()
    assert not fleet.apply_entry(path, "p1", tmux_socket="").changed, "blank is not given"
    assert not fleet.apply_entry(path, "p1", enabled=True).changed
    assert open(path).read() == kept
    moved = fleet.apply_entry(path, "p1", tmux_socket="/run/ao//p1.sock")
    assert (moved.before["tmux_socket"], moved.after["tmux_socket"]) == ("ao-p1", "/run/ao/p1.sock")
    dropped = fleet.apply_entry(path, "p1", unset=("tmux_socket",))
    assert dropped.changed and dropped.after["tmux_socket"] is None
    assert "tmux_socket" not in open(path).read()
    assert not fleet.apply_entry(path, "p1", unset=("tmux_socket",)).changed
    fleet.apply_entry(path, "p1", unset=("tmux_socket",), description="note")
    fleet.apply_entry(path, "p1", unset=("description",))
    assert open(path).read() == SEED + '\n[projects.p1]\ndir = "/srv/p1"\nengine = "e@1"\nenabled = true\n'


@pytest.mark.parametrize("values, words", [
    ({"tmux_socket": "rel/x"}, "tmux_socket: a socket path must be absolute"),
    ({"tmux_socket": "a:b"}, "tmux_socket: a socket name may hold only"),
    ({"tmux_socket": "ao-x", "unset": ("tmux_socket",)}, "cannot both set and unset tmux_socket"),
    ({"unset": ("dir",)}, "cannot unset 'dir'"),
])
def test_bad_socket_edits_write_nothing(tmp_path, values, words):
    path = write(tmp_path, SEED)
    with pytest.raises(ConfigError, match=words):
        fleet.apply_entry(path, "cc-ci", **values)
    assert open(path).read() == SEED


def test_twenty_concurrent_fleet_entry_modules_all_land(tmp_path):
    """20 separate processes each run the fleet_entry module at once: the lock serializes
    them, every entry lands and the file stays valid."""
    import json

    path = str(tmp_path / "fleet.toml")
    collections = next(p for p in sys.path if p.endswith(os.path.join(".build", "collections")))
    module = os.path.join(collections, "ansible_collections", "agentloops", "orchestrator", "plugins", "modules",
                          "fleet_entry.py")
    procs = []
    for i in range(20):
        args = tmp_path / ("args%02d.json" % i)
        args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
            "fleet_file": path, "name": "p%02d" % i, "dir": "/srv/p%02d" % i, "engine": "e@v1"}}))
        procs.append(subprocess.Popen([sys.executable, module, str(args)], stdout=subprocess.PIPE,
                                      env=dict(os.environ, PYTHONPATH=collections)))
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert [r.get("changed") for r in results] == [True] * 20, results
    registry = fleet.load(path)
    assert sorted(p.name for p in registry.projects) == ["p%02d" % i for i in range(20)]
    assert registry.summary() == "fleet: OK — 20 project(s), schema v1"


def _add_entries(path: str, first: int) -> None:
    for i in range(first, first + 20):
        fleet.apply_entry(path, "p%02d" % i, dir="/srv/p%02d" % i, engine="e@v1")


def test_two_writers_through_two_symlinks_take_one_lock(tmp_path):
    """Two processes add 20 entries each to one fleet file through two symlinks to it: the
    lock is beside the file they resolve to, so no entry is lost."""
    import multiprocessing

    real = tmp_path / "shared" / "fleet.toml"
    real.parent.mkdir()
    real.write_text("")
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "fleet.toml").symlink_to(real)
    assert fleet.lock_path(str(tmp_path / "a" / "fleet.toml")) == str(real.parent / ".fleet.toml.lock")
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_add_entries, args=(str(tmp_path / name / "fleet.toml"), first))
               for name, first in (("a", 0), ("b", 20))]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert [w.exitcode for w in writers] == [0, 0]
    assert (tmp_path / "a" / "fleet.toml").is_symlink() and (tmp_path / "b" / "fleet.toml").is_symlink()
    assert sorted(p.name for p in fleet.load(str(real)).projects) == ["p%02d" % i for i in range(40)]
