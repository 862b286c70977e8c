#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: fleet_info
short_description: Validate a fleet registry and report its projects
version_added: 0.1.0
description:
  - >-
    Validates C(fleet.toml) (schema v1). A valid file gives V(fleet: OK — N project(s\), schema v1);
    an invalid one fails the task with every error, each with its line and column.
  - Reports one status line per project, C(NAME [enabled|disabled] ENGINE@REF DIR), then
    C(total=N enabled=N disabled=N).
  - For each enabled project it also reads the project's C(agents.toml) and its tmux server
    and adds the live counts C(running=N stopped=N). The server is the entry's C(tmux_socket)
    when it has one (a name for C(tmux -L), an absolute path for C(tmux -S), V(default) for the
    default server), else the one of the project's C(agents.toml). Disabled projects are not looked at.
  - An entry's line ends with C(tmux_socket=SOCKET) when the entry names a server.
author:
  - agentloops maintainers (@agentloops)
extends_documentation_fragment:
  - agentloops.orchestrator.attributes
  - agentloops.orchestrator.attributes.info_module
  - agentloops.orchestrator.attributes.actiongroup_fleet
options:
  fleet_file:
    description: The fleet registry.
    type: path
    required: true
  live:
    description: Read each enabled project's agents and tmux server for running/stopped counts.
    type: bool
    default: true
seealso:
  - module: agentloops.orchestrator.fleet_entry
'''

EXAMPLES = r'''
- name: Validate and show the fleet
  agentloops.orchestrator.fleet_info:
    fleet_file: /home/loops/fleet.toml
  register: fleet

- name: Print it
  ansible.builtin.debug:
    msg: "{{ [fleet.summary] + fleet.lines }}"

- name: The folders of the enabled projects
  ansible.builtin.debug:
    msg: "{{ fleet.projects | selectattr('enabled') | map(attribute='dir') | list }}"
'''

RETURN = r'''
summary:
  description: The validation line.
  returned: success
  type: str
  sample: "fleet: OK — 2 project(s), schema v1"
lines:
  description: One status line per project, then the totals line.
  returned: success
  type: list
  elements: str
  sample:
    - "scratch [enabled] agent-orchestrator@v0.1.0 /tmp/poe2e-scratch running=2 stopped=0"
    - "cc-ci [disabled] agent-orchestrator@v0.1.0 /home/loops/poe2e/cc-ci"
    - "total=2 enabled=1 disabled=1"
projects:
  description: The projects in file order.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The project's name.
      type: str
    dir:
      description: The project's folder.
      type: str
    engine:
      description: Engine and pinned ref as NAME@REF.
      type: str
    enabled:
      description: Whether fleet-wide operations act on it.
      type: bool
    description:
      description: The entry's note.
      type: str
    tmux_socket:
      description: The entry's tmux server (a name or an absolute path); null when the entry has none (the project's agents.toml applies).
      type: str
    running:
      description: Agents with a session (enabled projects with O(live)); null otherwise.
      type: int
    stopped:
      description: Agents without a session (enabled projects with O(live)); null otherwise.
      type: int
    error:
      description: Why the live counts could not be read; null otherwise.
      type: str
total:
  description: Number of projects.
  returned: success
  type: int
  sample: 2
enabled:
  description: Number of enabled projects.
  returned: success
  type: int
  sample: 1
disabled:
  description: Number of disabled projects.
  returned: success
  type: int
  sample: 1
issues:
  description: Every problem of an invalid fleet file, with line and column.
  returned: failure
  type: list
  elements: dict
  sample: [{path: /home/loops/fleet.toml, line: 7, col: 1, key: projects.x.dir, message: must be an absolute path}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.agentloops.orchestrator.plugins.module_utils import ansible_glue, fleet


def read(module):
    registry = fleet.load(module.params["fleet_file"])
    statuses = fleet.fleet_status(registry, live=module.params["live"])
    enabled = len(registry.enabled)
    return dict(changed=False, summary=registry.summary(), lines=fleet.fleet_lines(registry, statuses),
                projects=[s.as_dict() for s in statuses], total=len(statuses), enabled=enabled,
                disabled=len(statuses) - enabled)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            fleet_file=dict(type="path", required=True),
            live=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    ansible_glue.run(module, lambda: read(module))


if __name__ == "__main__":
    main()
