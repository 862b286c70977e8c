#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: agent_session_info
short_description: Show what runs in a project, as data and as the status table
version_added: 0.1.0
description:
  - Returns one row per agent of a project (its C(agents.toml)) with its state, tmux
    session, pane pid and current command, plus the lines of C(agents.py status) exactly
    as the engine CLI prints them.
  - Reads the tmux server with one call; changes nothing.
author:
  - agentloops maintainers (@agentloops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - agentloops.orchestrator.project
attributes:
  check_mode:
    support: full
    details: Reads only, in check mode as in a normal run.
  diff_mode:
    support: N/A
    details: Changes nothing, so there is nothing to show.
  platform:
    platforms: posix
seealso:
  - module: agentloops.orchestrator.agent_session
'''

EXAMPLES = r'''
- name: Read a project's status
  agentloops.orchestrator.agent_session_info:
    project_dir: /home/loops/cc-ci
  register: status

- name: Print the status table
  ansible.builtin.debug:
    msg: "{{ status.lines }}"

- name: Fail when an enabled agent is not running
  ansible.builtin.assert:
    that: status.agents | selectattr('enabled') | rejectattr('running') | list | length == 0
'''

RETURN = r'''
lines:
  description: The status table as C(agents.py status) prints it, one line per item.
  returned: always
  type: list
  elements: str
  sample:
    - "AGENT   KIND        BACKEND  MODEL  WATCH  STATE"
    - "worker  persistent  demo     -      none   RUNNING [sleep]"
phase:
  description: The current phase, or null when the config has no phases.
  returned: always
  type: dict
  contains:
    name:
      description: The phase's name.
      type: str
    index:
      description: 0-based index.
      type: int
    count:
      description: Number of phases.
      type: int
    plan:
      description: The phase's plan file.
      type: str
  sample: {name: poe2e, index: 18, count: 19, plan: plan-phase-poe2e-end-to-end.md}
agents:
  description: One row per agent in config order.
  returned: always
  type: list
  elements: dict
  contains:
    agent:
      description: The agent's name.
      type: str
    kind:
      description: persistent, loop, task or service.
      type: str
    backend:
      description: The backend, C(-) for services.
      type: str
    model:
      description: The model, C(-) when none.
      type: str
    watch:
      description: The watch policy, C(-) for services.
      type: str
    state:
      description: The STATE cell of the table.
      type: str
      sample: RUNNING [sleep]
    enabled:
      description: Whether the config enables the agent.
      type: bool
    session:
      description: The agent's tmux session name.
      type: str
    running:
      description: Whether the session exists.
      type: bool
    session_id:
      description: The tmux session id (C($N)) when running.
      type: str
    created:
      description: The session's creation time (epoch seconds) when running.
      type: int
    pid:
      description: The pid of the session's first pane when running.
      type: int
    command:
      description: The first pane's current command when running.
      type: str
running:
  description: How many of the project's agents have a session.
  returned: always
  type: int
  sample: 2
stopped:
  description: How many of the project's agents have no session.
  returned: always
  type: int
  sample: 6
watchdogs:
  description: How many processes run this project's builtin watchdog (exactly one is healthy).
  returned: always
  type: int
  sample: 1
tmux_server:
  description: The tmux server read.
  returned: always
  type: str
  sample: tmux server -L loops
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.agentloops.orchestrator.plugins.module_utils import ansible_glue, engine, procs, status


def read(module):
    params = module.params
    project, server = engine.open_project(ansible_glue.config_path(params), params["tmux_socket"])
    rows, lines, index = engine.read_status(project, server)
    phase = status.phase_info(project, index)
    running = sum(1 for r in rows if r.running)
    return dict(changed=False, lines=lines, phase=phase, agents=[r.as_dict() for r in rows],
                running=running, stopped=len(rows) - running, watchdogs=len(procs.watchdog_pids(project)),
                tmux_server=server.describe())


def main():
    module = AnsibleModule(argument_spec=dict(ansible_glue.PROJECT_ARGS), supports_check_mode=True,
                           required_one_of=ansible_glue.PROJECT_REQUIRED_ONE_OF)
    ansible_glue.run(module, lambda: read(module))


if __name__ == "__main__":
    main()
