#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: agent_session
short_description: Start, stop or restart a project's agents in tmux
version_added: 0.1.0
description:
  - Brings one, several or all agents of a project (its C(agents.toml)) to a state, in one
    module call, each agent in its own tmux session named C(<session_prefix><agent>).
  - Reads every session of the tmux server in one call, plans, then acts only on the
    project's own session names (exact matches); other sessions on the same server are
    never touched.
  - Starting an agent that runs already, or stopping one that is stopped, changes nothing.
  - Disabled agents are not started; they are reported with RV(agents[].action=skip).
  - Loop and task agents, agents with a kickoff or a backend that resumes or takes its
    prompt on stdin or as keys run under the engine's runner (C(agents.py run-agent NAME));
    builtin services (the watchdog) run as C(agents.py <builtin>). Both use the project's
    pinned engine (C(engine/agents.py)). Without that checkout such an agent cannot start; then
    the task fails before starting anything, naming each such agent and why (in C(msg) and
    RV(agents[].reason), with RV(agents[].cannot_start=true)), unless O(allow_partial=true).
    The watchdog starts last, after the agents it watches.
  - Every kickoff prompt is rendered before anything starts; one that cannot be rendered
    fails the task and no agent starts.
  - A session of the same name that another project's engine started is never stopped,
    restarted or counted as running; it is skipped with the owning config as the reason,
    and with O(state=started) or O(state=restarted) the task fails after starting the others
    (RV(agents[].conflict) names the owner).
  - A session no engine started (same name, no owner tag, such as a hand-run system's)
    counts as running, and is stopped or restarted only with O(adopt_untagged=true).
  - Stopping all agents also stops the sessions of this project whose agent is no longer in
    its config (RV(agents[].orphan)).
  - Nothing starts when the project's agents already run on another tmux server (the one
    they were started on, recorded in the state folder, for instance before a O(tmux_socket)
    override); the task fails naming that server.
  - Stopping records that the agents were stopped on purpose, so the project's watchdog
    does not start them again; starting or restarting clears that record.
author:
  - agentloops maintainers (@agentloops)
extends_documentation_fragment:
  - agentloops.orchestrator.attributes
  - agentloops.orchestrator.project
  - agentloops.orchestrator.attributes.actiongroup_project
attributes:
  check_mode:
    support: full
    details: Reads the tmux server and reports the sessions that would start or stop.
  diff_mode:
    support: full
    details: Shows the project's session names before and after.
options:
  agents:
    description:
      - Names of the agents to act on. All agents of the config when empty.
      - An unknown name fails the task before anything changes.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(started) starts enabled agents that are not running. The task fails (after starting
        the others) when an agent's session of the same name is another project's, or when an agent
        it started no longer runs C([project] confirm_seconds) later (named, with its last screen);
        it fails before starting any when an agent cannot start here (see O(allow_partial)).
      - V(stopped) kills the agents' sessions.
      - V(restarted) kills (when running) and starts each enabled agent; always changes.
    type: str
    choices: [started, stopped, restarted]
    default: started
  allow_partial:
    description:
      - With O(state=started) or O(state=restarted), start the agents that can start when some cannot
        (no engine checkout for a loop, task or kickoff agent or the builtin watchdog); each one left
        stopped is a warning naming it and why, and RV(agents[].cannot_start) is true for it.
      - Without it (the default) such an agent fails the task before anything starts, in check mode
        too (a check run tells that the real run would fail).
      - Agents not started on purpose (disabled in the config, not named in O(agents)) are never a failure.
    type: bool
    default: false
  adopt_untagged:
    description:
      - Also stop or restart same-named sessions that carry no owner tag (started by hand,
        not by an engine), for instance a hand-run live system being cut over.
      - Without it such sessions are left alone (RV(agents[].action=skip)).
    type: bool
    default: false
seealso:
  - module: agentloops.orchestrator.agent_session_info
'''

EXAMPLES = r'''
- name: Start every enabled agent of a project
  agentloops.orchestrator.agent_session:
    project_dir: /home/loops/cc-ci
    state: started

- name: Restart two agents on a private tmux server
  agentloops.orchestrator.agent_session:
    project_dir: /home/loops/cc-ci
    agents: [builder, adversary]
    state: restarted
    tmux_socket: loops

- name: Start what can start in a project without its engine checkout (the rest is a warning)
  agentloops.orchestrator.agent_session:
    project_dir: /home/loops/scratch
    allow_partial: true

- name: Stop all agents, showing the sessions that go away
  agentloops.orchestrator.agent_session:
    config: /home/loops/cc-ci/agents.toml
    state: stopped
  diff: true
'''

RETURN = r'''
agents:
  description: One entry per selected agent, in start order.
  returned: always
  type: list
  elements: dict
  contains:
    agent:
      description: The agent's name.
      type: str
      sample: builder
    session:
      description: The agent's tmux session name.
      type: str
      sample: cc-ci-builder
    action:
      description: What was done (or would be done in check mode).
      type: str
      choices: [start, stop, restart, none, skip]
      sample: start
    reason:
      description: Why nothing was done, for V(none) and V(skip).
      type: str
      sample: already running
    ended:
      description:
        - How many processes of the agent were still alive after its session was killed
          (what it spawned in another process group or session) and were ended.
      type: int
      sample: 0
    conflict:
      description: The config (or project id) owning the agent's session, when another project owns it.
      type: str
      sample: ""
    orphan:
      description: Whether the session belongs to this project but its agent is no longer in the config.
      type: bool
      sample: false
    cannot_start:
      description:
        - Whether the agent was to start but this engine cannot start it (a skip that is a problem,
          not an intent); RV(agents[].reason) says why. See O(allow_partial).
      type: bool
      sample: false
  sample:
    - {agent: worker, session: demo-worker, action: start, reason: "", ended: 0, conflict: "", orphan: false,
       cannot_start: false}
sessions_before:
  description: The project's session names before the task.
  returned: always
  type: list
  elements: str
  sample: []
sessions_after:
  description: The project's session names after the task (predicted in check mode).
  returned: always
  type: list
  elements: str
  sample: [demo-worker]
tmux_server:
  description: The tmux server acted on.
  returned: always
  type: str
  sample: tmux server -L loops
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.agentloops.orchestrator.plugins.module_utils import ansible_glue, engine
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import CannotStart


def _diff_text(project_name, sessions):
    return "".join("%s\n" % s for s in sessions) or "(no sessions of %s)\n" % project_name


def converge(module):
    params = module.params
    project, server = engine.open_project(ansible_glue.config_path(params), params["tmux_socket"])
    try:
        done = engine.converge(project, server, params["agents"], params["state"], check_mode=module.check_mode,
                               adopt=params["adopt_untagged"], allow_partial=params["allow_partial"])
    except CannotStart as exc:  # nothing was started: the plan says who could and who could not
        module.fail_json(msg=str(exc), **dict(_result(module, project, server, exc.result), changed=False))
    result = _result(module, project, server, done)
    for action in done.actions:
        if action.cannot_start:
            module.warn("%s not started: %s" % (action.agent.name, action.reason))
    conflicts = [a for a in done.actions if a.conflict]
    if conflicts and params["state"] != "stopped":
        module.fail_json(msg="; ".join("%s not started: session %s is owned by %s" % (a.agent.name, a.session, a.conflict)
                                       for a in conflicts), **result)
    return result


def _result(module, project, server, done):
    result = dict(
        changed=done.changed,
        agents=[a.as_dict() for a in done.actions],
        sessions_before=done.before,
        sessions_after=done.after,
        tmux_server=server.describe(),
    )
    if module._diff:
        result["diff"] = dict(before=_diff_text(project.name, done.before), after=_diff_text(project.name, done.after),
                              before_header="%s sessions" % project.name,
                              after_header="%s sessions" % project.name)
    return result


def main():
    argument_spec = dict(ansible_glue.PROJECT_ARGS)
    argument_spec.update(
        agents=dict(type="list", elements="str", default=[]),
        state=dict(type="str", choices=["started", "stopped", "restarted"], default="started"),
        adopt_untagged=dict(type="bool", default=False),
        allow_partial=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=ansible_glue.PROJECT_REQUIRED_ONE_OF)
    ansible_glue.require(module, "libtmux")
    ansible_glue.run(module, lambda: converge(module))


if __name__ == "__main__":
    main()
