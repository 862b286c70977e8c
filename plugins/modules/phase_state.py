#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: phase_state
short_description: Read or set a project's current phase
version_added: 0.1.0
description:
  - Sets the project's current phase, kept as a 0-based index in C(state/phase-idx), by index
    or by name, or moves it to the next phase. The file is written atomically under the
    project's lock.
  - Without O(phase) and O(next), only reports the current phase.
  - An index out of range or an unknown name fails the task and writes nothing.
  - Loop agents pick the new phase up at their next iteration.
author:
  - agentloops maintainers (@agentloops)
extends_documentation_fragment:
  - agentloops.orchestrator.attributes
  - agentloops.orchestrator.project
  - agentloops.orchestrator.attributes.actiongroup_project
attributes:
  check_mode:
    support: full
    details: Resolves the phase and reports the change; writes nothing.
  diff_mode:
    support: full
    details: Shows the phase header before and after.
options:
  phase:
    description:
      - The phase to make current, a 0-based index (V(18) of 19 phases is the last) or a phase name.
      - Mutually exclusive with O(next).
    type: str
  next:
    description: Move to the phase after the current one; fails at the last phase.
    type: bool
    default: false
seealso:
  - module: agentloops.orchestrator.agent_session_info
'''

EXAMPLES = r'''
- name: Move cc-ci to its poe2e phase
  agentloops.orchestrator.phase_state:
    project_dir: /home/loops/poe2e/cc-ci
    phase: poe2e

- name: Set the phase by index
  agentloops.orchestrator.phase_state:
    project_dir: /home/loops/poe2e/cc-ci
    phase: "18"

- name: Advance one phase
  agentloops.orchestrator.phase_state:
    project_dir: /home/loops/poe2e/cc-ci
    next: true
'''

RETURN = r'''
header:
  description: The status header of the current phase (after the task).
  returned: always
  type: str
  sample: "phase: poe2e [19/19] plan=plan-phase-poe2e-end-to-end.md (in progress)"
phase:
  description: The current phase after the task (predicted in check mode).
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
previous:
  description:
    - The phase before the task, in the same form as RV(phase).
    - When the phase index file was corrupt (the task overwrites it), name, index and plan are null
      and C(error) says why.
  returned: always
  type: dict
  sample: {name: porepo, index: 17, count: 19, plan: plan-phase-porepo.md}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.agentloops.orchestrator.plugins.module_utils import ansible_glue, engine, status


def converge(module):
    params = module.params
    project, _server = engine.open_project(ansible_glue.config_path(params), params["tmux_socket"])
    change = engine.set_phase(project, engine.NEXT if params["next"] else params["phase"],
                              check_mode=module.check_mode)
    old, new = change.old, change.new
    result = dict(changed=change.changed, header=status.phase_header(project, new),
                  phase=status.phase_info(project, new),
                  previous=status.phase_info(project, old, change.error))
    if module._diff:
        result["diff"] = dict(before="%s\n" % status.phase_header(project, old, change.error),
                              after="%s\n" % status.phase_header(project, new),
                              before_header=change.path, after_header=change.path)
    return result


def main():
    argument_spec = dict(ansible_glue.PROJECT_ARGS)
    argument_spec.update(phase=dict(type="str"), next=dict(type="bool", default=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=ansible_glue.PROJECT_REQUIRED_ONE_OF,
                           mutually_exclusive=[("phase", "next")])
    ansible_glue.run(module, lambda: converge(module))


if __name__ == "__main__":
    main()
