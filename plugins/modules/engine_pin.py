#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: engine_pin
short_description: Move a project's engine pin to another ref
version_added: 0.1.0
description:
  - Upgrades (or downgrades) the engine of a project made by M(agentloops.orchestrator.project_scaffold)
    by moving its C(engine) submodule to O(engine_ref) of the engine's repository and committing
    the move in the project, with a message that names the old and the new commit.
  - Reports the old and the new commit; a project already at that commit is left as it is.
  - Running agents keep the engine they started with until they are restarted.
author:
  - agentloops maintainers (@agentloops)
extends_documentation_fragment:
  - agentloops.orchestrator.attributes
attributes:
  check_mode:
    support: full
    details: Resolves the ref and reports the move; changes nothing.
  diff_mode:
    support: full
    details: Shows the pinned commit before and after.
requirements:
  - git >= 2.30 on the target host
options:
  project_dir:
    description: The project's folder; an absolute path.
    type: path
    required: true
  engine_ref:
    description: The tag, branch or commit of the engine repository to pin.
    type: str
    required: true
seealso:
  - module: agentloops.orchestrator.project_scaffold
'''

EXAMPLES = r'''
- name: Move a project to engine v0.2.0
  agentloops.orchestrator.engine_pin:
    project_dir: /home/loops/poe2e/cc-ci
    engine_ref: v0.2.0
  register: pin

- name: Say what moved
  ansible.builtin.debug:
    msg: "{{ pin.old }} -> {{ pin.new }}"
'''

RETURN = r'''
old:
  description: The commit pinned before.
  returned: always
  type: str
  sample: 289ef07df40a8264f3a36b4e91b923d1424c4658
new:
  description: The commit pinned after (to be pinned, in check mode).
  returned: always
  type: str
  sample: 5c1f0e3d9b2a4f6e8d7c6b5a4f3e2d1c0b9a8f7e
old_ref:
  description: The ref recorded when the pin was last set.
  returned: always
  type: str
  sample: v0.1.0
new_ref:
  description: The ref asked for.
  returned: always
  type: str
  sample: v0.2.0
repo:
  description: The engine repository (from the project's .gitmodules).
  returned: always
  type: str
  sample: https://github.com/agentloops/orchestrator.git
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.agentloops.orchestrator.plugins.module_utils import ansible_glue, scaffold


def converge(module):
    result = scaffold.pin_engine(module.params["project_dir"], module.params["engine_ref"],
                                 check_mode=module.check_mode)
    if module._diff:
        result["diff"] = dict(before="engine %s (%s)\n" % (result["old"], result["old_ref"]),
                              after="engine %s (%s)\n" % (result["new"], result["new_ref"] if result["changed"]
                                                          else result["old_ref"]),
                              before_header="engine pin", after_header="engine pin")
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type="path", required=True),
            engine_ref=dict(type="str", required=True),
        ),
        supports_check_mode=True,
    )
    ansible_glue.run(module, lambda: converge(module))


if __name__ == "__main__":
    main()
