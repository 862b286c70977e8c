# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.agentloops.orchestrator.plugins.modules import project_config

CONFIG = '# operator comment\n[project]\nname = "cc-ci"  # keep me\nlog_dir = ".ao-state"\n\n[agents.w]\nkind = "task"\nbackend = "demo"\n'


def test_sets_keys_keeping_comments_check_diff_idempotent(run_module, tmp_path):
    (tmp_path / "agents.toml").write_text(CONFIG)
    args = {"project_dir": str(tmp_path), "settings": {"log_dir": "/srv/cc-ci/.cc-ci-logs"}}
    planned = run_module(project_config, dict(args, _ansible_check_mode=True, _ansible_diff=True))
    assert planned["changed"] and 'log_dir = "/srv/cc-ci/.cc-ci-logs"' in planned["diff"]["after"]
    assert (tmp_path / "agents.toml").read_text() == CONFIG
    assert run_module(project_config, args)["changed"] is True
    assert (tmp_path / "agents.toml").read_text() == CONFIG.replace('".ao-state"', '"/srv/cc-ci/.cc-ci-logs"')
    assert run_module(project_config, args)["changed"] is False


def test_bad_settings_write_nothing(run_module, tmp_path):
    (tmp_path / "agents.toml").write_text(CONFIG)
    unknown = run_module(project_config, {"project_dir": str(tmp_path), "settings": {"owner": "me"}})
    assert unknown["failed"] and "cannot set owner" in unknown["msg"]
    bad = run_module(project_config, {"project_dir": str(tmp_path), "settings": {"session_prefix": "a.b"}})
    assert bad["failed"] and "project.session_prefix" in bad["msg"]
    assert (tmp_path / "agents.toml").read_text() == CONFIG


def test_diff_never_shows_agent_env_values(run_module, tmp_path):
    (tmp_path / "agents.toml").write_text(CONFIG + '[agents.w.env]\nAPI_KEY = "s3cr3t"\n')
    result = run_module(project_config, {"project_dir": str(tmp_path), "settings": {"log_dir": "/l"},
                                         "_ansible_diff": True, "_ansible_check_mode": True})
    assert "s3cr3t" not in result["diff"]["before"] + result["diff"]["after"]
    assert 'API_KEY = "<redacted>"' in result["diff"]["after"]
