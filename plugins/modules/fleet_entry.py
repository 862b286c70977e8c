#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: fleet_entry
short_description: Add, change or remove a project in a fleet registry (fleet.toml)
version_added: 0.1.0
description:
  - Keeps one project's entry in C(fleet.toml) (schema v1) - its folder, its engine as
    C(NAME@REF), and whether fleet-wide operations may start it.
  - Edits keep the file's comments and layout. The result is validated before it is
    written, atomically (temp file and rename) under a lock next to the file, so concurrent
    edits from separate processes all land.
  - A missing fleet file is created with C(schema = 1).
  - An invalid fleet file is never edited; the task fails with every error and its line.
author:
  - agentloops maintainers (@agentloops)
extends_documentation_fragment:
  - agentloops.orchestrator.attributes
  - agentloops.orchestrator.attributes.actiongroup_fleet
attributes:
  check_mode:
    support: full
    details: Computes the new file and reports it; writes nothing.
  diff_mode:
    support: full
    details: Shows the fleet file before and after.
requirements:
  - the Python library C(tomlkit) on the target host
options:
  fleet_file:
    description: The fleet registry.
    type: path
    required: true
  name:
    description: The project's name (letters, digits, C(-) and C(_)).
    type: str
    required: true
  dir:
    description:
      - The project's folder; an absolute path. Required to add an entry.
      - Two entries may not share a folder.
    type: path
  engine:
    description: The project's engine and its pinned ref, as C(NAME@REF). Required to add an entry.
    type: str
  enabled:
    description:
      - Whether fleet-wide operations (C(run.yml) and C(teardown.yml) with C(fleet_file))
        act on the project. A new entry is enabled unless this says otherwise; when
        omitted, an existing entry keeps its value.
    type: bool
  description:
    description: A free-form note kept with the entry.
    type: str
  tmux_socket:
    description:
      - The tmux server the project's agents run on, for what reads the fleet
        (M(agentloops.orchestrator.fleet_info)'s live counts, C(fleet.yml)). A name is C(tmux -L NAME),
        an absolute path (with C(/)) C(tmux -S PATH), V(default) the default server - the meaning of
        agents.toml's C([project] tmux_socket) and of the modules' O(agentloops.orchestrator.agent_session#module:tmux_socket).
      - An entry without one uses the project's own agents.toml socket.
      - Blank (V('') or null) is not given - an existing entry keeps its value. To drop the key, use O(unset).
    type: str
  unset:
    description:
      - Optional keys to drop from an existing entry (V(tmux_socket) then falls back to the project's
        agents.toml socket). A key may not be both set and unset.
    type: list
    elements: str
    choices: [description, tmux_socket]
    default: []
  state:
    description: Whether the entry should exist.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: agentloops.orchestrator.fleet_info
'''

EXAMPLES = r'''
- name: Register a staged project, disabled until cutover
  agentloops.orchestrator.fleet_entry:
    fleet_file: /home/loops/fleet.toml
    name: cc-ci
    dir: /home/loops/poe2e/cc-ci
    engine: agent-orchestrator@v0.1.0
    enabled: false

- name: Enable it
  agentloops.orchestrator.fleet_entry:
    fleet_file: /home/loops/fleet.toml
    name: cc-ci
    enabled: true

- name: Its agents run on a private tmux server (tmux -L ao-cc-ci)
  agentloops.orchestrator.fleet_entry:
    fleet_file: /home/loops/fleet.toml
    name: cc-ci
    tmux_socket: ao-cc-ci

- name: Back to the socket of the project's agents.toml
  agentloops.orchestrator.fleet_entry:
    fleet_file: /home/loops/fleet.toml
    name: cc-ci
    unset: [tmux_socket]

- name: Drop it
  agentloops.orchestrator.fleet_entry:
    fleet_file: /home/loops/fleet.toml
    name: cc-ci
    state: absent
'''

RETURN = r'''
entry:
  description: The entry after the task (predicted in check mode); null when absent.
  returned: always
  type: dict
  sample: {name: cc-ci, dir: /home/loops/poe2e/cc-ci, engine: agent-orchestrator@v0.1.0, enabled: false, description: "",
           tmux_socket: null}
previous:
  description: The entry before the task; null when there was none.
  returned: always
  type: dict
  sample: null
fleet_file:
  description: The fleet file's absolute path.
  returned: always
  type: str
  sample: /home/loops/fleet.toml
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.agentloops.orchestrator.plugins.module_utils import ansible_glue, fleet


def converge(module):
    params = module.params
    path = os.path.abspath(params["fleet_file"])
    change = fleet.apply_entry(path, params["name"], params["state"], check_mode=module.check_mode,
                               unset=tuple(params["unset"] or ()),
                               **{k: params[k] for k in ("dir", "engine", "enabled", "description", "tmux_socket")})
    result = dict(changed=change.changed, entry=change.after, previous=change.before, fleet_file=path)
    if module._diff:
        result["diff"] = dict(before=change.before_text, after=change.after_text,
                              before_header=path, after_header=path)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            fleet_file=dict(type="path", required=True),
            name=dict(type="str", required=True),
            dir=dict(type="path"),
            engine=dict(type="str"),
            enabled=dict(type="bool"),
            description=dict(type="str"),
            tmux_socket=dict(type="str"),
            unset=dict(type="list", elements="str", choices=["description", "tmux_socket"], default=[]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    ansible_glue.require(module, "tomlkit")
    ansible_glue.run(module, lambda: converge(module))


if __name__ == "__main__":
    main()
