#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: state_transfer
short_description: Carry a project's phase index and resume ids over from another config of the same agents
version_added: 0.1.0
description:
  - Copies the phase index (C(state/phase-idx)) and the resume id of every agent that both
    configs have (C(state/<agent>.resume-id)) from the state folder of O(from_config) into
    the project's state folder. This is the C(reuse) step of a cutover, and the way back of a
    rollback.
  - Files are written atomically under the project's lock; files already equal are left alone.
  - A phase index whose phase has another name in the project's config is refused and nothing
    is written, since the index would silently mean a different phase.
  - Nothing else of the source is read, and the source is never written.
author:
  - agentloops maintainers (@agentloops)
extends_documentation_fragment:
  - agentloops.orchestrator.attributes
attributes:
  check_mode:
    support: full
    details: Reports the files that would be written; writes nothing.
  diff_mode:
    support: full
    details: Shows each state file before and after.
requirements:
  - Python 3.11 or later on the target host
options:
  project_dir:
    description:
      - The folder of the project that receives the state (holds its C(agents.toml)).
      - Required unless O(config) is given.
    type: path
  config:
    description: The C(agents.toml) of the project that receives the state; defaults to C(agents.toml) in O(project_dir).
    type: path
  from_config:
    description: The C(agents.toml) whose state is carried over (for example the live system's).
    type: path
    required: true
seealso:
  - module: agentloops.orchestrator.phase_state
'''

EXAMPLES = r'''
- name: Reuse the live system's phase and resume ids in the managed project
  agentloops.orchestrator.state_transfer:
    project_dir: /home/loops/cc-ci
    from_config: /srv/cc-ci/cc-ci-plan/agents.toml
  diff: true

- name: Give the state back on rollback
  agentloops.orchestrator.state_transfer:
    config: /srv/cc-ci/cc-ci-plan/agents.toml
    from_config: /home/loops/cc-ci/agents.toml
'''

RETURN = r'''
files:
  description: One entry per state file the source has for the project.
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: The file in the project's state folder.
      type: str
    before:
      description: Its text before, null when it did not exist.
      type: str
    after:
      description: Its text after (in check mode, what it would be).
      type: str
    changed:
      description: Whether the file was (or would be) written.
      type: bool
  sample:
    - {file: /home/loops/cc-ci/state/phase-idx, before: null, after: "18\n", changed: true}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.agentloops.orchestrator.plugins.module_utils import ansible_glue, carryover, config


def transfer(module):
    params = module.params
    target = config.load(ansible_glue.config_path(params))
    source = config.load(params["from_config"])
    files = carryover.carry_over(source, target, check_mode=module.check_mode)
    result = dict(changed=any(f["changed"] for f in files), files=files)
    if module._diff:
        result["diff"] = [dict(before=f["before"] or "", after=f["after"], before_header=f["file"],
                               after_header=f["file"]) for f in files if f["changed"]]
    return result


def main():
    argument_spec = dict(project_dir=dict(type="path"), config=dict(type="path"),
                         from_config=dict(type="path", required=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=ansible_glue.PROJECT_REQUIRED_ONE_OF)
    ansible_glue.run(module, lambda: transfer(module))


if __name__ == "__main__":
    main()
