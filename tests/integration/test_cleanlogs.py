# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The builtin cleanlogs service through the engine CLI (the pure rules are unit tests:
tests/unit/plugins/module_utils/test_cleanlogs.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config

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


def test_cli_dry_run(tmp_path):
    make(tmp_path)
    write(tmp_path / "logs" / "events.jsonl", 10, 3)
    proc = subprocess.run([sys.executable, os.path.join(REPO, "agents.py"), "cleanlogs", "--dry-run"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "would delete %s (10 bytes, older than 1 days)\n" % (tmp_path / "logs" / "events.jsonl")
    assert (tmp_path / "logs" / "events.jsonl").exists()
