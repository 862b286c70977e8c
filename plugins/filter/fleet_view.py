# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for one view across hosts (the logic is module_utils/hostview.py):

  hostvars | agentloops.orchestrator.fleet_view(ansible_play_hosts_all, 'status_result')
  hostvars | agentloops.orchestrator.change_view(ansible_play_hosts_all, 'run_result')
  view | agentloops.orchestrator.fleet_lines          (aligned lines, one per row)
  view | agentloops.orchestrator.change_lines('started')
"""

from __future__ import annotations

from ansible_collections.agentloops.orchestrator.plugins.module_utils import hostview


def registered(hostvars, hosts, var):
    """``{host: the host's ``var`` or None}`` for every host (a host that never got there has none)."""
    out = {}
    for host in hosts:
        try:
            facts = hostvars[host]
            out[host] = facts[var] if var in facts else None
        except KeyError:
            out[host] = None
    return out


def fleet_view(hostvars, hosts, var):
    hosts = list(hosts)
    return hostview.fleet_view(registered(hostvars, hosts, var), hosts)


def change_view(hostvars, hosts, var):
    hosts = list(hosts)
    return hostview.change_view(registered(hostvars, hosts, var), hosts)


class FilterModule:
    """The cross-host view filters."""

    def filters(self):
        return {"fleet_view": fleet_view, "change_view": change_view,
                "fleet_lines": hostview.fleet_lines, "change_lines": hostview.change_lines}
