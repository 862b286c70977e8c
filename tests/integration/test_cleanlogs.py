# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The builtin cleanlogs service: by age, by total size, dry run, never outside log_dir."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import cleanlogs, config
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError, OrchestratorError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make(tmp_path, log_dir="logs", extra=""):
    (tmp_path / "agents.toml").write_text('[project]\nlog_dir = "%s"\n[agents.cleanlogs]\nkind = "service"\n'
                                          'builtin = "cleanlogs"\nmax_age_days = 1\nmax_total_mb = 0.001\n%s'
                                          % (log_dir, extra))
    return config.load(str(tmp_path / "agents.toml"))


def write(path, size, age_days):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    stamp = time.time() - age_days * 86400
    os.utime(path, (stamp, stamp))


def test_prunes_by_age_then_size_oldest_first(tmp_path):
    project = make(tmp_path)
    logs = tmp_path / "logs"
    write(logs / "old.log", 10, 3)
    write(logs / "sub" / "mid.log", 600, 0.5)
    write(logs / "new.log", 600, 0.1)
    write(logs / "notes.md", 10, 30)  # not named like a log: never deleted
    outside = tmp_path / "precious.txt"
    write(outside, 10, 30)
    os.symlink(outside, logs / "link-to-precious")
    agent = project.agent("cleanlogs")
    planned = cleanlogs.clean(project, agent, dry_run=True)
    assert [(os.path.basename(p), r) for p, _s, r in planned] == [
        ("old.log", "older than 1 days"), ("mid.log", "over 0.001 MB in total")]
    assert (logs / "old.log").exists() and (logs / "sub" / "mid.log").exists()
    cleanlogs.clean(project, agent)
    assert sorted(os.listdir(logs)) == ["link-to-precious", "new.log", "notes.md", "sub"]
    assert outside.exists()


@pytest.mark.parametrize("log_dir", ["/", "~", ".", "..", "state", "state/logs", "engine", ".git/x"])
def test_refuses_dangerous_log_dirs(tmp_path, log_dir):
    project = make(tmp_path, log_dir=log_dir)
    with pytest.raises(OrchestratorError, match="refusing to clean"):
        cleanlogs.clean(project, project.agent("cleanlogs"), dry_run=True)


def test_settings_belong_to_cleanlogs_only(tmp_path):
    (tmp_path / "agents.toml").write_text('[agents.w]\nkind = "persistent"\nbackend = "demo"\nmax_age_days = 3\n')
    with pytest.raises(ConfigError, match="only services take 'max_age_days'"):
        config.load(str(tmp_path / "agents.toml"))


def test_cli_dry_run(tmp_path):
    make(tmp_path)
    write(tmp_path / "logs" / "old.log", 10, 3)
    proc = subprocess.run([sys.executable, os.path.join(REPO, "agents.py"), "cleanlogs", "--dry-run"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "would delete %s (10 bytes, older than 1 days)\n" % (tmp_path / "logs" / "old.log")
    assert (tmp_path / "logs" / "old.log").exists()
