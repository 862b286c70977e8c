# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The builtin ``cleanlogs`` service: prunes a project's ``log_dir`` by age, then by total
size (oldest first). It deletes only files the engine wrote there: those ``StateLayout``
names for the project's agents (``events.jsonl``, ``<agent>.log``, ``<agent>.screen``) and
their rotations (``.1``, ``.2.gz``, ``-20260101``), directly in ``log_dir`` (the engine writes
no subfolder), so a ``log_dir`` shared with other programs (``/var/log``: dpkg.log, apt/) keeps
their files. It never deletes outside ``log_dir``: symlinks are not followed, every path is
checked to resolve inside it, and a ``log_dir`` that is ``/``, the home folder, an ancestor
of either, or the project's own folder is refused.
"""

from __future__ import annotations

import os
import re
import stat
import time

from .config import Agent, CleanlogsSettings, Project
from .errors import OrchestratorError
from .fsutil import holds_home_or_root, inside
from .layout import StateLayout


# What log rotation adds to a name (logrotate: .1, .2.gz, dateext -20260101).
_ROTATED = re.compile(r"(\.\d+|-\d{8})?(\.gz)?\Z")


def check_log_dir(project: Project) -> str:
    """The real log folder, or a refusal when cleaning it could hit what is not a log."""
    real = os.path.realpath(project.log_dir)
    root = os.path.realpath(project.root)
    state = os.path.realpath(project.state_dir)
    if os.path.islink(project.log_dir.rstrip("/")) or holds_home_or_root(real) or \
            inside(root, real) or inside(state, real) or inside(real, state) or \
            inside(real, os.path.join(root, "engine")) or inside(real, os.path.join(root, ".git")):
        raise OrchestratorError("refusing to clean %s: log_dir must be a real folder of its own, not /, a home "
                                "folder, the project's folder, its state, engine or .git, or a parent of them"
                                % project.log_dir)
    return real


def plan(project: Project, max_age_days: float, max_total_mb: float, now: float | None = None) -> list:
    """Files to delete, as ``(path, size, reason)``; reads only."""
    base = check_log_dir(project)
    if not os.path.isdir(base):
        return []
    now = time.time() if now is None else now
    ours = StateLayout.of(project).log_names(project.agents)
    try:
        names = os.listdir(base)
    except OSError as exc:
        raise OrchestratorError("cannot read %s: %s" % (base, exc.strerror or exc)) from None
    files = []
    for name in names:
        rotated = _ROTATED.search(name)  # always found (it may be empty)
        if (name[:rotated.start()] if rotated else name) not in ours:
            continue
        path = os.path.join(base, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or not os.path.realpath(path).startswith(base + "/"):
            continue
        files.append((st.st_mtime, path, st.st_size))
    files.sort()
    doomed = []
    keep = []
    for mtime, path, size in files:
        if now - mtime > max_age_days * 86400:
            doomed.append((path, size, "older than %g days" % max_age_days))
        else:
            keep.append((mtime, path, size))
    total = sum(size for _m, _p, size in keep)
    limit = max_total_mb * 1024 * 1024
    for _mtime, path, size in keep:
        if total <= limit:
            break
        doomed.append((path, size, "over %g MB in total" % max_total_mb))
        total -= size
    return doomed


def clean(project: Project, agent: Agent | None = None, dry_run: bool = False, now: float | None = None) -> list:
    settings = (agent.cleanlogs if agent else None) or CleanlogsSettings()
    doomed = plan(project, settings.max_age_days, settings.max_total_mb, now)
    if not dry_run:
        for path, _size, _reason in doomed:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise OrchestratorError("cannot delete %s: %s" % (path, exc.strerror or exc)) from None
    return doomed


def main(project: Project, agent: Agent, dry_run: bool = False, once: bool = False, out=None) -> int:
    while True:
        for path, size, reason in clean(project, agent, dry_run):
            if out is not None:
                out.write("%s %s (%d bytes, %s)\n" % ("would delete" if dry_run else "deleted", path, size, reason))
        if once or dry_run:
            return 0
        time.sleep((agent.cleanlogs or CleanlogsSettings()).interval)
