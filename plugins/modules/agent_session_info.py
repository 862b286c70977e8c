#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: agent_session_info
short_description: Show what runs in a project, as data and as the status table
version_added: 0.1.0
description:
  - Returns one row per agent of a project (its C(agents.toml)) with its state, tmux
    session, pane pid and current command, plus the lines of C(agents.py status) exactly
    as the engine CLI prints them.
  - Reads the tmux server with one call; changes nothing.
  - With O(parity_with), also compares the AGENT, KIND, BACKEND, MODEL and WATCH columns with
    another config's (the parity gate of a cutover) and returns both side by side.
author:
  - agentloops maintainers (@agentloops)
extends_documentation_fragment:
  - agentloops.orchestrator.attributes
  - agentloops.orchestrator.attributes.info_module
  - agentloops.orchestrator.project
  - agentloops.orchestrator.attributes.actiongroup_project
options:
  parity_with:
    description:
      - Another C(agents.toml) (for example the live system's) whose AGENT, KIND, BACKEND,
        MODEL and WATCH columns are compared with this project's, row by row; STATE is not
        compared. The result is RV(parity).
    type: path
  wait_until:
    description:
      - Before reading, wait until every agent of O(wait_agents) is in this state, as its CLI's
        profile tells it from its screen (by the rules the watchdog uses); C(idle) at its
        prompt, C(working), C(blocked) on a dialog, or C(exited) (its session gone). C(exited)
        works for any agent; the others need a profile that classifies the agent (claude,
        codex, ...) and the project's C(engine/) checkout (where the profiles are).
      - Fails after O(wait_timeout) seconds, naming the agents that are not there yet.
      - Waiting changes nothing, so it also runs in check mode.
    type: str
    choices: [idle, working, blocked, exited]
  wait_agents:
    description: The agents to wait for; all but services when empty.
    type: list
    elements: str
    default: []
  wait_timeout:
    description: How long O(wait_until) waits, in seconds.
    type: float
    default: 300
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

- name: Parity gate of a cutover, both tables side by side
  agentloops.orchestrator.agent_session_info:
    project_dir: /home/loops/cc-ci
    parity_with: /srv/cc-ci/cc-ci-plan/agents.toml
  register: gate
  failed_when: not gate.parity.match

- name: Wait until every agent is idle at its prompt before moving to the next phase
  agentloops.orchestrator.agent_session_info:
    project_dir: /home/loops/cc-ci
    wait_until: idle
    wait_agents: [builder, adversary]
    wait_timeout: 1800

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
    error:
      description:
        - Why the phase is unknown, when the phase index file is corrupt (name, index and plan are then null).
        - Set the phase (phase_state) to write a good one.
      type: str
      returned: when the phase index file is corrupt
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
      description:
        - >-
          The STATE cell of the table. An agent that cannot start here (no engine checkout for a
          loop, task or kickoff agent, or the builtin watchdog) is
          C(stopped (no engine checkout: engine/agents.py is missing)).
      type: str
      sample: RUNNING [sleep]
    reason:
      description:
        - Why a stopped agent is stopped, when that is known; null otherwise (running, never started).
        - >-
          C(cannot start: <why>) for an agent that cannot start here, C(disabled in config), or
          C(stopped by an operator (down, state=stopped)).
      type: str
      sample: "cannot start: loop agents need the engine's runner: no engine checkout at /home/loops/scratch/engine/agents.py"
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
    builtin:
      description: For the engine's own services, which one (C(watchdog) or C(cleanlogs)); null otherwise.
      type: str
    fatal:
      description: Why a loop agent gave up (C(FATAL) after C(fatal_after) failed iterations in a row); null otherwise.
      type: str
      sample: 5 failed iterations in a row (last exit 1)
    activity:
      description:
        - What the agent is doing, as its CLI's profile tells it and the watchdog last saw it
          (C(working), C(idle), C(blocked), C(starting), C(unknown)); null for an agent without
          a profile, without a running watchdog, or not running.
      type: str
      sample: idle
    since:
      description: Since when (epoch seconds) the agent has been in RV(agents[].activity).
      type: float
    dialog:
      description: The dialog a blocked agent waits on (C(trust), C(api-key), ...); null otherwise.
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
prefix_sessions:
  description: Every session on the tmux server whose name starts with the project's prefix, configured or not.
  returned: always
  type: list
  elements: str
  sample: [cc-ci-builder, cc-ci-watchdog]
project:
  description: The project's identity and places, from its config.
  returned: always
  type: dict
  contains:
    name:
      description: The project's name.
      type: str
    config:
      description: The config's absolute path.
      type: str
    root:
      description: The config's folder; relative paths of the config are taken from it.
      type: str
    session_prefix:
      description: The prefix of the project's tmux sessions.
      type: str
    state_dir:
      description: The state folder (phase index, resume ids, locks).
      type: str
    log_dir:
      description: The log folder.
      type: str
    tmux_socket:
      description: The tmux server as configured or overridden (C("") the default server, a name such as C(default), or a path).
      type: str
    systemd_unit:
      description: The name of the project's watchdog unit, as the C(run) role writes it (C(run_systemd_unit)).
      type: str
  sample: {name: cc-ci, config: /home/loops/cc-ci/agents.toml, root: /home/loops/cc-ci, session_prefix: cc-ci-,
           state_dir: /home/loops/cc-ci/state, log_dir: /home/loops/cc-ci/.ao-state, tmux_socket: "",
           systemd_unit: agentloops-cc-ci-4be1a2c3-watchdog.service}
parity:
  description: The comparison with O(parity_with); null without it.
  returned: always
  type: dict
  contains:
    match:
      description: Whether the AGENT, KIND, BACKEND, MODEL and WATCH columns are the same, in the same order.
      type: bool
    differences:
      description: Readable differences; empty on parity.
      type: list
      elements: str
    lines:
      description: Both tables side by side, C(==) or C(!=) between each pair of rows.
      type: list
      elements: str
    other:
      description: The absolute path of O(parity_with).
      type: str
  sample:
    match: false
    differences: ["adversary: MODEL is claude-opus-4-8 in staged, claude-sonnet-4-6 in live"]
    lines: ["..."]
    other: /srv/cc-ci/cc-ci-plan/agents.toml
reached:
  description: With O(wait_until), the state each waited-for agent was in when it got there.
  returned: when O(wait_until) is set
  type: dict
  sample: {"builder": "idle", "reviewer": "blocked:trust"}
tmux_server:
  description: The tmux server read.
  returned: always
  type: str
  sample: tmux server -L loops
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.agentloops.orchestrator.plugins.module_utils import ansible_glue, engine, status


def read(module):
    params = module.params
    project, server = engine.open_project(ansible_glue.config_path(params), params["tmux_socket"])
    reached = None
    if params["wait_until"]:
        reached = engine.wait_for(project, server, params["wait_agents"] or None, params["wait_until"],
                                  params["wait_timeout"])
    report = engine.read_status(project, server)
    parity = engine.parity(project, params["parity_with"]) if params["parity_with"] else None
    return dict(changed=False, lines=report.lines,
                phase=status.phase_info(project, report.phase_index, report.phase_error),
                agents=[r.as_dict() for r in report.rows], running=report.running, stopped=report.stopped,
                watchdogs=report.watchdogs, prefix_sessions=report.prefix_sessions,
                project=engine.describe(project, server), parity=parity, tmux_server=server.describe(),
                **({"reached": reached} if reached is not None else {}))


def main():
    argument_spec = dict(ansible_glue.PROJECT_ARGS)
    argument_spec.update(parity_with=dict(type="path"),
                         wait_until=dict(type="str", choices=list(engine.WAIT_STATES)),
                         wait_agents=dict(type="list", elements="str", default=[]),
                         wait_timeout=dict(type="float", default=300.0))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=ansible_glue.PROJECT_REQUIRED_ONE_OF)
    ansible_glue.run(module, lambda: read(module))


if __name__ == "__main__":
    main()
