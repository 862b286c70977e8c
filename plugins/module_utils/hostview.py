# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One view across hosts: what every host's status (or start, or stop) task returned, as
rows (host, project, counts) and as aligned lines, computed once on the controller.

The input is each host's registered result as the play left it: a single module result, a
looped one (``results``), a failed or unreachable one, or nothing at all (a host that failed
before the task ran). No host hides another's rows: a host without a usable result is one
row that says why.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

# The six counts, in the table's order, and the STATE words of status.rows that map to them:
# RUNNING [cmd] / RUNNING (foreground) / RUNNING (disabled) are running, BLOCKED, STALLED,
# BACKOFF and FATAL their own; stopped, stopped (disabled), DONE (exit N) and conflict
# (owned by ...) are not running: stopped.
BUCKETS = ("running", "blocked", "stalled", "backoff", "fatal", "stopped")
_WORDS = {"RUNNING": "running", "BLOCKED": "blocked", "STALLED": "stalled", "BACKOFF": "backoff", "FATAL": "fatal"}
# agent_session's actions, as what changed.
CHANGES = ("started", "restarted", "stopped", "skipped", "failed")
_ACTIONS = {"start": "started", "restart": "restarted", "stop": "stopped", "skip": "skipped"}


def bucket(state: str) -> str:
    """The count a STATE cell falls into (its first word; anything unknown is stopped)."""
    return _WORDS.get((state or "").split(" ", 1)[0], "stopped")


def _items(result: Any) -> list[Mapping]:
    """The per-project results inside one host's registered result (a loop's ``results``)."""
    if isinstance(result, Mapping) and isinstance(result.get("results"), list):
        return [r for r in result["results"] if isinstance(r, Mapping)]
    return [result] if isinstance(result, Mapping) else []


def _why(result: Any) -> str | None:
    """Why a host's result has no rows (unreachable, failed, skipped, absent); None when usable."""
    if not isinstance(result, Mapping):
        return "no result (unreachable, or failed before this task)"
    if result.get("unreachable"):
        return "unreachable: %s" % _one_line(result.get("msg"))
    if result.get("failed") and not isinstance(result.get("results"), list):
        return "failed: %s" % _one_line(result.get("msg"))
    if result.get("skipped"):
        return "skipped"
    return None


def _one_line(text: Any) -> str:
    lines = str(text or "no message").strip().splitlines()
    return lines[0] if lines else "no message"


def _mapping(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _project(item: Mapping) -> tuple[str, str]:
    """(name, folder) of the project one result is about."""
    project = _mapping(item.get("project"))
    loop = _mapping(item.get("item"))
    args = _mapping(_mapping(item.get("invocation")).get("module_args"))
    folder = str(project.get("root") or loop.get("dir") or args.get("project_dir") or "")
    name = project.get("name") or loop.get("name") or (os.path.basename(folder.rstrip("/")) if folder else "-")
    return str(name), folder


def _host_rows(host: str, result: Any, each) -> list[dict]:
    why = _why(result)
    if why is not None:
        return [{"host": host, "project": "-", "dir": "", "error": why}]
    out = []
    for item in _items(result):
        name, folder = _project(item)
        row: dict[str, Any] = {"host": host, "project": name, "dir": folder, "error": None}
        if item.get("skipped"):
            continue
        if item.get("failed"):
            row["error"] = "failed: %s" % _one_line(item.get("msg"))
        else:
            row.update(each(item))
        out.append(row)
    if not out:  # no project on this host (an empty fleet, a removal with nothing left): zeros, not an error
        empty: dict[str, Any] = {"host": host, "project": "-", "dir": "", "error": None}
        empty.update(each({}))
        out.append(empty)
    return out


def _counts(item: Mapping) -> dict:
    counts = dict.fromkeys(BUCKETS, 0)
    for agent in item.get("agents") or []:
        if isinstance(agent, Mapping):
            counts[bucket(str(agent.get("state") or ""))] += 1
    return counts


def _changes(item: Mapping) -> dict:
    changes: dict[str, list[str]] = {key: [] for key in CHANGES}
    for agent in item.get("agents") or []:
        if isinstance(agent, Mapping) and agent.get("action") in _ACTIONS:
            changes[_ACTIONS[str(agent["action"])]].append(str(agent.get("agent")))
    return changes


def fleet_view(results: Mapping[str, Any], hosts: Iterable[str]) -> dict:
    """The cross-host fleet view from each host's agent_session_info result(s).

    Returns ``{"rows": [{host, project, dir, running, blocked, stalled, backoff, fatal,
    stopped, error}], "totals": {hosts, projects, errors, running, ...}}``; a row with an
    ``error`` has no counts."""
    rows = [row for host in hosts for row in _host_rows(host, results.get(host), _counts)]
    return {"rows": rows, "totals": _totals(rows, BUCKETS, lambda row, key: row.get(key, 0))}


def change_view(results: Mapping[str, Any], hosts: Iterable[str]) -> dict:
    """What agent_session changed on every host: rows ``{host, project, dir, started,
    restarted, stopped, skipped, failed, error}`` (agent names) and the totals (counts)."""
    rows = [row for host in hosts for row in _host_rows(host, results.get(host), _changes)]
    return {"rows": rows, "totals": _totals(rows, CHANGES, lambda row, key: len(row.get(key, [])))}


def _totals(rows: list[dict], keys: tuple, value) -> dict:
    totals: dict[str, int] = {"hosts": len({r["host"] for r in rows}),
                              "projects": sum(1 for r in rows if r["project"] != "-"),
                              "errors": sum(1 for r in rows if r["error"])}
    for key in keys:
        totals[key] = sum(value(r, key) for r in rows if not r["error"])
    return totals


def _align(grid: list[list[str]]) -> list[str]:
    widths = [max(len(line[i]) for line in grid) + 2 for i in range(len(grid[0]) - 1)]
    return ["".join(cell.ljust(w) for cell, w in zip(line, widths)) + line[-1] for line in grid]


def fleet_lines(view: Mapping) -> list[str]:
    """The fleet view as aligned lines: a header, one line per row (an error as its text in
    place of the counts), then the totals."""
    grid = [["HOST", "PROJECT"] + [key.upper() for key in BUCKETS]]
    errors = []
    for row in view["rows"]:
        if row["error"]:
            errors.append("%s  %s  %s" % (row["host"], row["project"], row["error"]))
            continue
        grid.append([row["host"], row["project"]] + [str(row[key]) for key in BUCKETS])
    totals = view["totals"]
    grid.append(["total", "%d host(s), %d project(s)" % (totals["hosts"], totals["projects"])]
                + [str(totals[key]) for key in BUCKETS])
    return _align(grid) + errors


def change_lines(view: Mapping, verb: str = "changed") -> list[str]:
    """What changed as lines: one per project (``host  project  started: a, b; ...``, or
    ``nothing to do``), the failed hosts' lines, then the totals."""
    out = []
    for row in view["rows"]:
        if row["error"]:
            out.append("%s  %s  %s" % (row["host"], row["project"], row["error"]))
            continue
        done = ["%s: %s" % (key, ", ".join(row[key])) for key in CHANGES if row[key]]
        out.append("%s  %s  %s" % (row["host"], row["project"], "; ".join(done) or "nothing to do"))
    totals = view["totals"]
    out.append("%s on %d host(s), %d project(s): %s%s" % (
        verb, totals["hosts"], totals["projects"], " ".join("%s=%d" % (key, totals[key]) for key in CHANGES),
        " errors=%d" % totals["errors"] if totals["errors"] else ""))
    return out
