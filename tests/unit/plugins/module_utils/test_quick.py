# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""quick.py: the stamp of what validation reads, the view of a validated project, and when
the quick status path answers (no tmux here: the read is a stand-in with tmux's output)."""

from __future__ import annotations

import io
import os

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config, early, quick, status, tmuxproc

TEXT = '''[project]
name = "p"
session_prefix = "p-"
tmux_socket = "run/t.sock"

[[phases]]
name = "one"
plan = "one.md"

[agents.a]
kind = "persistent"
backend = "demo"
watch = "heal"
kickoff = "kickoffs/a.md"

[agents.l]
kind = "loop"
backend = "demo"

[agents.s]
kind = "service"
command = "sleep 1"
enabled = false
'''


pytestmark = pytest.mark.usefixtures("early_state_cleared")


@pytest.fixture
def project_dir(tmp_path, monkeypatch):
    (tmp_path / "state").mkdir()
    (tmp_path / "kickoffs").mkdir()
    (tmp_path / "kickoffs" / "a.md").write_text("go\n")
    (tmp_path / "agents.toml").write_text(TEXT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _stamp(folder):
    path = str(folder / "agents.toml")
    return quick.stamp(path, config.parse_toml(TEXT, path))


def test_the_stamp_is_the_same_when_nothing_validation_reads_changed(project_dir):
    before = _stamp(project_dir)
    (project_dir / "state" / "a.watch.json").write_text("{}")  # status's inputs, not validation's
    (project_dir / "notes.txt").write_text("x")
    assert _stamp(project_dir) == before


def test_another_home_is_another_stamp_and_the_rest_of_the_environment_is_not(project_dir, monkeypatch):
    before = _stamp(project_dir)
    monkeypatch.setenv("AGENTLOOPS_TEST_OTHER", "1")  # another shell's variables: validation reads none
    monkeypatch.chdir(project_dir / "kickoffs")  # nor the current folder (the config's path is the cache's key)
    assert _stamp(project_dir) == before
    monkeypatch.setenv("HOME", "/elsewhere")  # ~ in a path resolves elsewhere
    assert _stamp(project_dir) != before
    monkeypatch.delenv("HOME")  # ~ from the password database
    assert _stamp(project_dir) != before


def test_validation_reads_no_other_variable_than_the_stamp_records():
    """A new read of the environment in validation must go into quick.ENV_READ (and this list)."""
    import re

    folder = os.path.dirname(quick.__file__)
    for name in ("config.py", "tomlcheck.py", "profiles.py"):
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            source = handle.read()
        assert not re.findall(r"environ\b|getenv|expandvars|expanduser|getpwnam|getpwuid", source), name
    assert quick.ENV_READ == ("HOME",)


def test_a_folder_that_cannot_be_told_gives_no_stamp_and_no_view(project_dir, monkeypatch):
    path = str(project_dir / "agents.toml")
    (project_dir / "engine").mkdir()
    (project_dir / "engine" / "profiles").mkdir()
    real_listdir = os.listdir

    def listdir(folder):
        if str(folder).endswith(os.path.join("engine", "profiles")):
            raise PermissionError(13, "Permission denied", folder)
        return real_listdir(folder)

    monkeypatch.setattr(os, "listdir", listdir)  # unreadable (root reads any folder: a stand-in)
    assert _stamp(project_dir) is None
    config.load(path, cached=True)
    assert early.read_cache(path, TEXT)[2] is None, "no view kept"


def test_a_dangling_link_among_the_files_does_not_hide_an_edit(project_dir):
    pinned = project_dir / "engine" / "profiles"
    pinned.mkdir(parents=True)
    (pinned / "claude.toml").write_text("a = 1\n")
    (pinned / ".#claude.toml").symlink_to("nobody@host.1234")  # an editor's lock file
    before = _stamp(project_dir)
    assert before is not None
    (pinned / "claude.toml").write_text("a = 2\n")
    assert _stamp(project_dir) != before


def test_an_edit_that_keeps_size_and_mtime_is_another_stamp(project_dir, tmp_path_factory, monkeypatch):
    code = tmp_path_factory.mktemp("code")
    module = code / "config.py"
    module.write_text("x = 1\n")
    monkeypatch.setattr(quick, "_CODE_DIR", str(code))
    before = _stamp(project_dir)
    info = module.stat()
    with open(module, "r+", encoding="utf-8") as handle:  # in place: the same inode
        handle.write("x = 2\n")
    os.utime(module, ns=(info.st_atime_ns, info.st_mtime_ns))  # as cp -p or touch -r would leave it
    assert _stamp(project_dir) != before, "the ctime moved"


def test_an_input_that_changes_during_validation_keeps_no_view(project_dir, monkeypatch):
    path = str(project_dir / "agents.toml")
    real_parse = config.parse

    def parse_while_home_moves(*args):
        project = real_parse(*args)
        monkeypatch.setenv("HOME", "/moved-meanwhile")
        return project

    monkeypatch.setattr(config, "parse", parse_while_home_moves)
    config.load(path, cached=True)
    assert early.read_cache(path, TEXT)[2] is None


def test_a_deleted_current_folder_does_not_fail_status(project_dir, tmp_path_factory, monkeypatch):
    gone = tmp_path_factory.mktemp("gone")
    monkeypatch.chdir(gone)
    gone.rmdir()
    config.load(str(project_dir / "agents.toml"), cached=True)
    assert early.read_cache(str(project_dir / "agents.toml"), TEXT)[2] is not None


def test_a_kickoff_that_resolves_elsewhere_is_another_stamp(project_dir, tmp_path_factory):
    before = _stamp(project_dir)
    outside = tmp_path_factory.mktemp("outside") / "secret.md"
    outside.write_text("x")
    (project_dir / "kickoffs" / "a.md").unlink()
    (project_dir / "kickoffs" / "a.md").symlink_to(outside)  # validation would refuse it now
    assert _stamp(project_dir) != before


def test_profile_files_and_the_engine_code_are_in_the_stamp(project_dir, tmp_path_factory, monkeypatch):
    before = _stamp(project_dir)
    pinned = project_dir / "engine" / "profiles"
    pinned.mkdir(parents=True)  # a pinned engine's profiles replace this engine's
    assert _stamp(project_dir) != before
    with_pinned = _stamp(project_dir)
    (pinned / "claude.toml").write_text("name = \"claude\"\n")
    assert _stamp(project_dir) != with_pinned
    code = tmp_path_factory.mktemp("code")
    (code / "config.py").write_text("x = 1\n")
    monkeypatch.setattr(quick, "_CODE_DIR", str(code))
    first = _stamp(project_dir)
    (code / "__pycache__").mkdir()  # compiled files are not the code
    assert _stamp(project_dir) == first
    (code / "config.py").write_text("x = 22\n")  # another engine validates differently
    assert _stamp(project_dir) != first


def test_the_plan_reads_as_the_project_does_for_status(project_dir):
    project = config.load(str(project_dir / "agents.toml"))
    view = quick.PlanProject(quick.plan(project))
    for name in ("config_path", "root", "state_dir", "log_dir", "session_prefix"):
        assert getattr(view, name) == getattr(project, name)
    assert [(p.name, p.plan) for p in view.phases] == [(p.name, p.plan) for p in project.phases]
    for mine, theirs in zip(view.agents, project.agents, strict=True):
        for name in ("name", "kind", "backend", "model", "watch", "enabled", "is_service", "builtin"):
            assert getattr(mine, name) == getattr(theirs, name)
        assert view.session_name(mine) == project.session_name(theirs)
        # no engine checkout and no agents.py of the caller: the same reason, or none, both ways
        assert view.unsupported_reason(mine, "") == project.unsupported_reason(theirs, "")
        assert view.unsupported_reason(mine, os.path.abspath(__file__)) == ""
    assert view.unsupported_reason(view.agents[1], "") == project.unsupported_reason(project.agents[1], "") != ""


def test_status_keeps_the_view_and_writes_it_again_only_for_another_stamp(project_dir, monkeypatch):
    path = str(project_dir / "agents.toml")
    cache = project_dir / "state" / ".agents.toml.parsed"
    config.load(path, cached=True)
    written = cache.stat().st_mtime_ns, cache.stat().st_ino
    config.load(path, cached=True)
    assert (cache.stat().st_mtime_ns, cache.stat().st_ino) == written, "the same stamp: nothing written"
    monkeypatch.setenv("HOME", "/another/home")
    config.load(path, cached=True)
    view = early.read_cache(path, TEXT)[2]
    assert view is not None and view[0] == _stamp(project_dir), "written again with today's stamp"


class _Read:
    """The early read's stand-in: tmux's answer, as ``Spawned.wait`` gives it."""

    def __init__(self, code, out, err=""):
        self.answer = (code, out, err)

    def wait(self):
        return self.answer


def _panes(*names):
    fields = {"session_created": "1700000000", "pane_pid": "4242", "pane_current_command": "sleep",
              "pane_dead": "0", "window_index": "0", "pane_index": "0", "pane_id": "%1", "session_id": "$1"}
    lines = []
    for name in names:
        values = dict(fields, session_name=name)
        lines.append("\t".join(values.get(f, "") for f in tmuxproc.FIELDS))
    return "\n".join(lines) + "\n"


def _ready(project_dir, read):
    path = str(project_dir / "agents.toml")
    config.load(path, cached=True)
    early._parsed[:] = [(path, TEXT, early.read_cache(path, TEXT))]
    early._early[:] = [(["tmux"], read)]


def test_run_answers_from_the_view_as_the_engine_would(project_dir, monkeypatch):
    _ready(project_dir, _Read(0, _panes("p-a")))
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    assert quick.run(str(project_dir)) == 0
    project = config.load(str(project_dir / "agents.toml"))
    engine = status.report(project, tmuxproc.parse_panes(_panes("p-a")), count_watchdogs=False,
                           engine_script=os.path.join(str(project_dir), "agents.py"))
    assert out.getvalue() == "\n".join(engine.lines) + "\n" and err.getvalue() == ""
    assert "a      persistent  demo     -      heal   RUNNING [sleep]\n" in out.getvalue()
    assert early.take(["tmux"]) is not None, "the read stays for the engine's path"


def test_run_leaves_to_the_engine_what_it_cannot_show_as_the_engine_would(project_dir, monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert quick.run(str(project_dir)) is None, "no cache read: nothing to show"
    _ready(project_dir, _Read(1, "", "no server running on /x\n"))
    assert quick.run(str(project_dir)) is None, "tmux did not answer plainly"
    _ready(project_dir, _Read(0, _panes("p-a")))
    home = os.environ.get("HOME")
    monkeypatch.setenv("HOME", "/another/home")
    assert quick.run(str(project_dir)) is None, "validation's inputs changed since the view was made"
    if home is None:
        monkeypatch.delenv("HOME")
    else:
        monkeypatch.setenv("HOME", home)
    _ready(project_dir, _Read(0, _panes("p-a")))

    def broken(*_args, **_kwargs):
        raise OSError("unexpected")

    monkeypatch.setattr(status, "report", broken)
    assert quick.run(str(project_dir)) is None, "anything raised: the engine's path says what it is"
    assert out.getvalue() == "", "nothing printed by a run that left it to the engine"


def test_the_cache_keeps_no_other_value_of_the_environment(project_dir, monkeypatch):
    monkeypatch.setenv("AGENTLOOPS_TEST_SECRET", "sk-test-0123456789abcdef")
    config.load(str(project_dir / "agents.toml"), cached=True)
    raw = (project_dir / "state" / ".agents.toml.parsed").read_bytes()
    assert b"sk-test-0123456789abcdef" not in raw and b"AGENTLOOPS_TEST_SECRET" not in raw
    assert early.read_cache(str(project_dir / "agents.toml"), TEXT)[2] is not None
