# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.agentloops.orchestrator.plugins.filter import fleet_view


class _Vars(dict):
    """What hostvars[host] is to a filter: a mapping that answers ``in`` and ``[]``."""


def test_registered_reads_each_host_and_tolerates_a_host_without_the_var():
    hostvars = {"a": _Vars(status_result={"agents": []}), "b": _Vars()}
    assert fleet_view.registered(hostvars, ["a", "b", "c"], "status_result") == {
        "a": {"agents": []}, "b": None, "c": None}


def test_filters_are_registered_and_compute_the_views():
    filters = fleet_view.FilterModule().filters()
    assert set(filters) == {"fleet_view", "change_view", "fleet_lines", "change_lines"}
    hostvars = {"a": _Vars(r={"project": {"name": "p", "root": "/p"}, "agents": [{"state": "RUNNING [x]"}]}), "b": _Vars()}
    view = filters["fleet_view"](hostvars, ["a", "b"], "r")
    assert [(row["host"], row["error"] is None) for row in view["rows"]] == [("a", True), ("b", False)]
    assert filters["fleet_lines"](view)[1].split() == ["a", "p", "1", "0", "0", "0", "0", "0"]
    change = filters["change_view"]({"a": _Vars(r={"item": {"dir": "/p"}, "agents": [{"agent": "w", "action": "stop"}]})},
                                    ("a",), "r")
    assert filters["change_lines"](change, "stopped")[0] == "a  p  stopped: w"
