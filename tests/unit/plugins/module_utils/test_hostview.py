# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import hostview


@pytest.mark.parametrize("state, expected", [
    ("RUNNING [sleep]", "running"), ("RUNNING (foreground)", "running"), ("RUNNING (disabled) [sleep]", "running"),
    ("BLOCKED [claude] trust", "blocked"), ("STALLED restarts=2", "stalled"), ("BACKOFF [claude] #3 poe2e 8s", "backoff"),
    ("FATAL restarts=1", "fatal"), ("stopped", "stopped"), ("stopped (disabled)", "stopped"),
    ("DONE (exit 0)", "stopped"), ("conflict (owned by /x/agents.toml)", "stopped"), ("", "stopped"),
])
def test_bucket_maps_every_state_word_status_uses(state, expected):
    assert hostview.bucket(state) == expected


def _info(name, root, *states):
    return {"changed": False, "project": {"name": name, "root": root},
            "agents": [{"agent": "a%d" % i, "state": s} for i, s in enumerate(states)]}


def test_fleet_view_counts_per_host_and_project_and_keeps_failed_hosts():
    results = {
        "h1": _info("p1", "/srv/p1", "RUNNING [sleep]", "RUNNING (foreground)", "stopped (disabled)"),
        "h2": {"changed": False, "results": [  # a looped status: one result per project
            dict(_info("p2", "/srv/p2", "BLOCKED [claude] trust", "STALLED"), item={"dir": "/srv/p2"}),
            {"failed": True, "msg": "no agents.toml\nmore", "item": {"dir": "/srv/p3"}},
            {"skipped": True, "item": {"dir": "/srv/p4"}},
        ]},
        "h3": {"unreachable": True, "msg": "ssh: connect refused"},
        "h4": {"failed": True, "msg": "boom"},
    }
    view = hostview.fleet_view(results, ["h1", "h2", "h3", "h4", "h5"])
    rows = {(r["host"], r["project"]): r for r in view["rows"]}
    assert rows[("h1", "p1")]["running"] == 2 and rows[("h1", "p1")]["stopped"] == 1
    assert rows[("h2", "p2")]["blocked"] == 1 and rows[("h2", "p2")]["stalled"] == 1
    assert rows[("h2", "p3")]["error"] == "failed: no agents.toml" and "running" not in rows[("h2", "p3")]
    assert rows[("h3", "-")]["error"] == "unreachable: ssh: connect refused"
    assert rows[("h4", "-")]["error"] == "failed: boom"
    assert rows[("h5", "-")]["error"].startswith("no result")
    assert [r["host"] for r in view["rows"]] == ["h1", "h2", "h2", "h3", "h4", "h5"]
    assert view["totals"] == {"hosts": 5, "projects": 3, "errors": 4, "running": 2, "blocked": 1, "stalled": 1,
                              "backoff": 0, "fatal": 0, "stopped": 1}


def test_fleet_lines_are_one_row_per_line_errors_after_the_table():
    view = hostview.fleet_view({"h1": _info("p1", "/srv/p1", "RUNNING [sleep]"), "h2": None}, ["h1", "h2"])
    lines = hostview.fleet_lines(view)
    assert lines[0].split() == ["HOST", "PROJECT", "RUNNING", "BLOCKED", "STALLED", "BACKOFF", "FATAL", "STOPPED"]
    assert lines[1].split() == ["h1", "p1", "1", "0", "0", "0", "0", "0"]
    assert lines[2].split()[:3] == ["total", "2", "host(s),"] and lines[2].split()[-6:] == ["1", "0", "0", "0", "0", "0"]
    assert lines[3].startswith("h2  -  no result")
    assert all("\n" not in line and line == line.rstrip() for line in lines)
    assert lines[0].index("RUNNING") == lines[1].index(" 1 ") + 1  # aligned columns


def test_change_view_names_the_agents_each_action_touched():
    results = {"h1": {"changed": True, "results": [
        {"changed": True, "item": {"dir": "/srv/p1", "name": "p1"}, "agents": [
            {"agent": "w", "action": "start"}, {"agent": "h", "action": "none"}, {"agent": "r", "action": "restart"},
            {"agent": "x", "action": "skip", "reason": "disabled"}]},
        {"failed": True, "msg": "cannot start", "item": {"dir": "/srv/p2"}}]},
        "h2": {"changed": True, "invocation": {"module_args": {"project_dir": "/srv/q/"}},
               "agents": [{"agent": "w", "action": "stop"}]}}
    view = hostview.change_view(results, ["h1", "h2"])
    assert view["rows"][0] == {"host": "h1", "project": "p1", "dir": "/srv/p1", "error": None, "started": ["w"],
                               "restarted": ["r"], "stopped": [], "skipped": ["x"], "failed": []}
    assert view["rows"][1]["project"] == "p2" and view["rows"][1]["error"] == "failed: cannot start"
    assert view["rows"][2]["project"] == "q" and view["rows"][2]["stopped"] == ["w"]
    assert view["totals"] == {"hosts": 2, "projects": 3, "errors": 1, "started": 1, "restarted": 1, "stopped": 1,
                              "skipped": 1, "failed": 0}
    lines = hostview.change_lines(view, "started")
    assert lines[0] == "h1  p1  started: w; restarted: r; skipped: x"
    assert lines[1] == "h1  p2  failed: cannot start"
    assert lines[-1] == "started on 2 host(s), 3 project(s): started=1 restarted=1 stopped=1 skipped=1 failed=0 errors=1"


def test_change_lines_say_nothing_to_do():
    view = hostview.change_view({"h": {"changed": False, "item": {"dir": "/p"}, "agents": [{"agent": "w", "action": "none"}]}},
                                ["h"])
    assert hostview.change_lines(view)[0] == "h  p  nothing to do"


def test_a_host_with_no_project_is_zeros_not_an_error():
    view = hostview.change_view({"h1": {"results": []}}, ["h1"])
    assert view["rows"] == [{"host": "h1", "project": "-", "dir": "", "error": None, "started": [], "restarted": [],
                             "stopped": [], "skipped": [], "failed": []}]
    assert view["totals"]["errors"] == 0 and view["totals"]["projects"] == 0
    assert hostview.change_lines(view, "stopped")[0] == "h1  -  nothing to do"
    fleet = hostview.fleet_view({"h1": {"results": []}}, ["h1"])
    assert fleet["totals"]["errors"] == 0 and fleet["rows"][0]["running"] == 0
