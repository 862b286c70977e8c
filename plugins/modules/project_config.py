#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: project_config
short_description: Set keys of a project's agents.toml [project] table
version_added: 0.1.0
description:
  - Sets C(name), C(session_prefix), C(log_dir), C(state_dir) or C(tmux_socket) in the
    C([project]) table of a project's C(agents.toml), keeping the file's comments and layout
    (e.g. the cutover's config delta, C(log_dir) back to the production path).
  - The result is validated before it is written; the file is written atomically under the
    project's lock. A broken file is never edited.
author:
  - agentloops maintainers (@agentloops)
extends_documentation_fragment:
  - agentloops.orchestrator.attributes
  - agentloops.orchestrator.project
  - agentloops.orchestrator.attributes.actiongroup_project
attributes:
  check_mode:
    support: full
    details: Computes and validates the new file; writes nothing.
  diff_mode:
    support: full
    details: Shows agents.toml before and after.
options:
  settings:
    description:
      - The C([project]) keys to set. Keys not given are left as they are.
      - Allowed keys are C(name), C(session_prefix), C(log_dir), C(state_dir) and C(tmux_socket).
    type: dict
    required: true
seealso:
  - module: agentloops.orchestrator.project_scaffold
'''

EXAMPLES = r'''
- name: Point the logs back to the production path
  agentloops.orchestrator.project_config:
    project_dir: /home/loops/poe2e/cc-ci
    settings:
      log_dir: /srv/cc-ci/.cc-ci-logs
'''

RETURN = r'''
config:
  description: The agents.toml edited.
  returned: always
  type: str
  sample: /home/loops/poe2e/cc-ci/agents.toml
settings:
  description: The keys asked for.
  returned: always
  type: dict
  sample: {log_dir: /srv/cc-ci/.cc-ci-logs}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.agentloops.orchestrator.plugins.module_utils import ansible_glue, config_edit


def converge(module):
    path = ansible_glue.config_path(module.params)
    changed, before, after = config_edit.apply(path, module.params["settings"], check_mode=module.check_mode)
    result = dict(changed=changed, config=path, settings=module.params["settings"])
    if module._diff:
        result["diff"] = dict(before=config_edit.redact_env(before), after=config_edit.redact_env(after),
                              before_header=path, after_header=path)
    return result


def main():
    argument_spec = dict(ansible_glue.PROJECT_ARGS)
    argument_spec.update(settings=dict(type="dict", required=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=ansible_glue.PROJECT_REQUIRED_ONE_OF)
    ansible_glue.require(module, "tomlkit")
    ansible_glue.run(module, lambda: converge(module))


if __name__ == "__main__":
    main()
