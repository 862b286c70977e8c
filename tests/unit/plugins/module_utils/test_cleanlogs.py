# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The builtin cleanlogs service on temp folders: by age, then by total size, oldest first;
dry run; an injected ``now``; only the files the engine writes, never outside log_dir, and
dangerous log_dirs refused."""

from __future__ import annotations

import io
import os
import time

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import cleanlogs, config
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError, OrchestratorError

NOW = 1_800_000_000.0
DAY = 86400
AGENTS = '[agents.a]\nkind = "persistent"\nbackend = "demo"\n[agents.b]\nkind = "task"\nbackend = "demo"\n'


def make(tmp_path, log_dir="logs", extra=""):
    (tmp_path / "agents.toml").write_text('[project]\nlog_dir = "%s"\n[agents.cleanlogs]\nkind = "service"\n'
                                          'builtin = "cleanlogs"\nmax_age_days = 1\nmax_total_mb = 0.001\n%s%s'
                                          % (log_dir, AGENTS, extra))
    return config.load(str(tmp_path / "agents.toml"))


def write(path, size, age_days, now=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    stamp = (time.time() if now is None else now) - age_days * DAY
    os.utime(path, (stamp, stamp))


def names(doomed):
    return [(os.path.basename(p), size, reason) for p, size, reason in doomed]


def test_prunes_by_age_then_size_oldest_first(tmp_path):
    project = make(tmp_path)
    logs = tmp_path / "logs"
    write(logs / "a.log.1", 10, 3)
    write(logs / "b.log", 600, 0.5)
    write(logs / "a.log", 600, 0.1)
    write(logs / "notes.md", 10, 30)  # not a file the engine writes: never deleted
    write(logs / "sub" / "a.log", 10, 30)  # nor is anything in a subfolder
    outside = tmp_path / "precious.txt"
    write(outside, 10, 30)
    os.symlink(outside, logs / "link-to-precious")
    agent = project.agent("cleanlogs")
    planned = cleanlogs.clean(project, agent, dry_run=True)
    assert [(os.path.basename(p), r) for p, _s, r in planned] == [
        ("a.log.1", "older than 1 days"), ("b.log", "over 0.001 MB in total")]
    assert (logs / "a.log.1").exists() and (logs / "b.log").exists()
    cleanlogs.clean(project, agent)
    assert sorted(os.listdir(logs)) == ["a.log", "link-to-precious", "notes.md", "sub"]
    assert outside.exists() and (logs / "sub" / "a.log").exists()


def test_plan_measures_age_from_the_given_now(tmp_path):
    project = make(tmp_path)
    write(tmp_path / "logs" / "a.log", 1, 2, now=NOW)
    write(tmp_path / "logs" / "b.log", 1, 0.5, now=NOW)
    assert names(cleanlogs.plan(project, 1, 100, now=NOW)) == [("a.log", 1, "older than 1 days")]
    assert names(cleanlogs.plan(project, 1, 100, now=NOW - DAY)) == []
    assert names(cleanlogs.plan(project, 1, 100, now=NOW + DAY)) == [("a.log", 1, "older than 1 days"),
                                                                     ("b.log", 1, "older than 1 days")]


def test_plan_trims_the_oldest_until_the_rest_fits(tmp_path):
    project = make(tmp_path)
    for age, name in ((0.4, "a.screen"), (0.3, "b.log.1"), (0.2, "events.jsonl"), (0.1, "a.log.2.gz")):
        write(tmp_path / "logs" / name, 400 * 1024, age, now=NOW)
    doomed = cleanlogs.plan(project, 7, 1, now=NOW)  # 1.6 MB kept, at most 1 MB
    assert names(doomed) == [("a.screen", 409600, "over 1 MB in total"), ("b.log.1", 409600, "over 1 MB in total")]
    assert cleanlogs.plan(project, 7, 1.6, now=NOW) == []


def test_only_the_files_the_engine_writes_are_candidates(tmp_path):
    ours = ["a.log", "a.log.1", "a.log.2.gz", "a.log.gz", "a.log-20260101", "a.screen", "b.log.10",
            "cleanlogs.log", "events.jsonl", "events.jsonl.1.gz"]
    theirs = ["x.log", "x.log.1", "x.jsonl.gz", "y.out", "a.err", "a.logs", "log", "a.log.bak", "a.log.1.2", "a.txt",
              "a.env", "a.run.json", "events.jsonl.old", ".a.log.tmp", "a.LOG", "ghost.log"]
    project = make(tmp_path)
    for name in ours + theirs:
        write(tmp_path / "logs" / name, 1, 30, now=NOW)
    os.mkfifo(tmp_path / "logs" / "b.log")  # not a regular file: never opened nor deleted
    assert sorted(n for n, _s, _r in names(cleanlogs.plan(project, 1, 100, now=NOW))) == sorted(ours)


def test_a_log_dir_shared_with_the_system_loses_only_the_engines_files(tmp_path):
    """``log_dir = "/var/log"`` pruned dpkg's and apt's logs: they were named like logs."""
    project = make(tmp_path, log_dir="var/log")
    logs = tmp_path / "var" / "log"
    system = ["dpkg.log", "dpkg.log.1", "alternatives.log.2.gz", "syslog", "auth.log", "apt/history.log",
              "apt/term.log.1.gz", "journal/x/system.journal", "a/a.log"]
    for name in system + ["a.log", "a.log.1", "events.jsonl", "b.screen"]:
        write(logs / name, 10, 400, now=NOW)
    doomed = cleanlogs.clean(project, project.agent("cleanlogs"), now=NOW)
    assert sorted(n for n, _s, _r in names(doomed)) == ["a.log", "a.log.1", "b.screen", "events.jsonl"]
    assert all((logs / name).exists() for name in system)
    assert sorted(os.listdir(logs)) == ["a", "alternatives.log.2.gz", "apt", "auth.log", "dpkg.log", "dpkg.log.1",
                                        "journal", "syslog"]


def test_symlinked_folders_are_not_followed(tmp_path):
    project = make(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere / "a.log", 1, 30, now=NOW)
    (tmp_path / "logs").mkdir()
    os.symlink(elsewhere, tmp_path / "logs" / "linked")
    assert cleanlogs.plan(project, 1, 0, now=NOW) == []
    cleanlogs.clean(project, project.agent("cleanlogs"))
    assert (elsewhere / "a.log").exists()


def test_a_missing_log_dir_plans_nothing(tmp_path):
    project = make(tmp_path)
    assert cleanlogs.plan(project, 0, 0, now=NOW) == []
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize("log_dir", ["/", "~", ".", "..", "state", "state/logs", "engine", ".git/x"])
def test_refuses_dangerous_log_dirs(tmp_path, log_dir):
    project = make(tmp_path, log_dir=log_dir)
    with pytest.raises(OrchestratorError, match="refusing to clean"):
        cleanlogs.clean(project, project.agent("cleanlogs"), dry_run=True)


def test_refuses_a_log_dir_that_holds_the_state(tmp_path):
    make(tmp_path, log_dir="var")
    text = (tmp_path / "agents.toml").read_text().replace('[project]\n', '[project]\nstate_dir = "var/state"\n')
    (tmp_path / "agents.toml").write_text(text)
    project = config.load(str(tmp_path / "agents.toml"))
    with pytest.raises(OrchestratorError, match="refusing to clean %s" % project.log_dir):
        cleanlogs.check_log_dir(project)


def test_refuses_a_symlinked_log_dir(tmp_path):
    real = tmp_path / "real-logs"
    real.mkdir()
    os.symlink(real, tmp_path / "logs")
    project = make(tmp_path)
    with pytest.raises(OrchestratorError, match="must be a real folder of its own"):
        cleanlogs.check_log_dir(project)


def test_check_log_dir_returns_the_real_folder(tmp_path):
    project = make(tmp_path, log_dir="a/../logs")
    assert cleanlogs.check_log_dir(project) == os.path.realpath(tmp_path / "logs")


def test_settings_belong_to_cleanlogs_only(tmp_path):
    (tmp_path / "agents.toml").write_text('[agents.w]\nkind = "persistent"\nbackend = "demo"\nmax_age_days = 3\n')
    with pytest.raises(ConfigError, match="only services take 'max_age_days'"):
        config.load(str(tmp_path / "agents.toml"))


def test_clean_without_settings_uses_the_defaults(tmp_path):
    project = make(tmp_path)
    write(tmp_path / "logs" / "a.log", 10, 13)
    write(tmp_path / "logs" / "a.log.1", 10, 15)
    assert names(cleanlogs.clean(project, None)) == [("a.log.1", 10, "older than 14 days")]
    assert os.listdir(tmp_path / "logs") == ["a.log"]


def test_main_once_reports_each_file(tmp_path):
    project = make(tmp_path)
    write(tmp_path / "logs" / "a.log", 10, 3)
    out = io.StringIO()
    assert cleanlogs.main(project, project.agent("cleanlogs"), dry_run=True, out=out) == 0
    assert out.getvalue() == "would delete %s (10 bytes, older than 1 days)\n" % (tmp_path / "logs" / "a.log")
    out = io.StringIO()
    assert cleanlogs.main(project, project.agent("cleanlogs"), once=True, out=out) == 0
    assert out.getvalue() == "deleted %s (10 bytes, older than 1 days)\n" % (tmp_path / "logs" / "a.log")
    assert os.listdir(tmp_path / "logs") == []
