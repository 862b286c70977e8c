# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""config_edit on agents.toml text and temp files: [project] edits keep comments and layout,
a no-op edit is byte-identical, bad values are refused with their positions, env is redacted."""

from __future__ import annotations

import os

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config_edit
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError, ConfigIssue

PATH = "/p/agents.toml"
TEXT = ('# operator comment\n[project]\nname = "cc-ci"  # keep me\nlog_dir = ".ao-state"\n\n'
        '[agents.w]  # the worker\nkind = "task"   # aligned\nbackend = "demo"\n')


def test_edits_keep_comments_and_layout():
    after = config_edit.set_project_keys(TEXT, {"name": "x", "tmux_socket": "/s"}, PATH)
    assert after == ('# operator comment\n[project]\nname = "x"  # keep me\nlog_dir = ".ao-state"\n'
                     'tmux_socket = "/s"\n\n[agents.w]  # the worker\nkind = "task"   # aligned\nbackend = "demo"\n')


@pytest.mark.parametrize("values", [{}, {"name": None, "log_dir": None}, {"name": "cc-ci", "log_dir": ".ao-state"}])
def test_no_change_is_a_byte_identical_round_trip(values):
    assert config_edit.set_project_keys(TEXT, values, PATH) == TEXT


def test_a_missing_project_table_is_added_at_the_end():
    text = '[agents.w]\nkind = "task"\nbackend = "demo"\n'
    assert config_edit.set_project_keys(text, {"name": "x"}, PATH) == text + '\n[project]\nname = "x"\n'


def test_unknown_keys_are_refused_for_the_file_as_a_whole():
    with pytest.raises(ConfigError) as info:
        config_edit.set_project_keys(TEXT, {"owner": "me", "name": "x", "colour": "red"}, PATH)
    assert info.value.issues == [ConfigIssue(PATH, 0, 0, "project", "cannot set colour, owner (settable: name, "
                                             "session_prefix, log_dir, state_dir, tmux_socket)")]


@pytest.mark.parametrize("values, where, key", [
    ({"session_prefix": "a.b"}, (5, 1), "project.session_prefix"),
    ({"name": 3}, (3, 1), "project.name"),
])
def test_invalid_values_are_refused_with_their_position(values, where, key):
    with pytest.raises(ConfigError) as info:
        config_edit.set_project_keys(TEXT, values, PATH)
    (issue,) = info.value.issues
    assert (issue.path, (issue.line, issue.col), issue.key) == (PATH, where, key)
    assert str(issue).startswith("%s:%d:%d: %s: " % (PATH, where[0], where[1], key))


def test_apply_writes_atomically_keeping_the_mode(tmp_path):
    path = tmp_path / "agents.toml"
    path.write_text(TEXT)
    os.chmod(path, 0o640)
    changed, before, after = config_edit.apply(str(path), {"log_dir": "/srv/logs"})
    assert (changed, before) == (True, TEXT)
    assert after == TEXT.replace('".ao-state"', '"/srv/logs"') == path.read_text()
    assert os.stat(path).st_mode & 0o7777 == 0o640
    assert config_edit.apply(str(path), {"log_dir": "/srv/logs"}) == (False, after, after)


def test_apply_in_check_mode_and_with_bad_values_writes_nothing(tmp_path):
    path = tmp_path / "agents.toml"
    path.write_text(TEXT)
    changed, _before, after = config_edit.apply(str(path), {"name": "y"}, check_mode=True)
    assert changed and 'name = "y"' in after
    with pytest.raises(ConfigError, match="project.session_prefix"):
        config_edit.apply(str(path), {"session_prefix": "a b"})
    assert path.read_text() == TEXT
    assert not (tmp_path / "state").exists(), "no lock is taken when nothing is written"


def test_apply_never_edits_a_broken_file(tmp_path):
    path = tmp_path / "agents.toml"
    broken = '[agents.x]\nkind = "sometimes"\nbackend = "demo"\n'
    path.write_text(broken)
    with pytest.raises(ConfigError, match=r"agents.toml:2:1: agents.x.kind"):
        config_edit.apply(str(path), {"name": "x"})
    assert path.read_text() == broken


def test_redact_env_hides_every_agent_env_value_only():
    text = TEXT + '[agents.w.env]\nAPI_KEY = "s3cr3t"  # from the vault\nOTHER = "x"\n'
    assert config_edit.redact_env(text) == TEXT + ('[agents.w.env]\nAPI_KEY = "<redacted>"  # from the vault\n'
                                                   'OTHER = "<redacted>"\n')
    assert config_edit.redact_env(TEXT) == TEXT
    assert config_edit.redact_env('[project]\nname = "n"\n') == '[project]\nname = "n"\n'


def test_redact_env_shows_nothing_of_text_that_is_not_toml():
    assert config_edit.redact_env('API_KEY = = "s3cr3t"') == "(agents.toml, 20 bytes: not shown)\n"
