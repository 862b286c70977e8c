#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: engine_runtime_info
short_description: Tell whether the target's Python can run the engine, and what it lacks
version_added: 0.1.0
description:
  - Reports the interpreter this module runs under, its version, whether it is recent enough
    for the engine (3.11 or later), which of the engine's Python libraries it lacks, and the
    absolute path of the venv that would hold them.
  - The C(runtime) role uses it to install the libraries into a venv owned by the agents'
    user when the target lacks them, and to run every later module from that venv.
author:
  - agentloops maintainers (@agentloops)
extends_documentation_fragment:
  - agentloops.orchestrator.attributes
  - agentloops.orchestrator.attributes.info_module
options:
  venv:
    description: Where the venv of the engine's libraries lives on the target; C(~) is the connecting user's home.
    type: str
    default: ~/.agentloops/venv
'''

EXAMPLES = r'''
- name: Look at the target's Python
  agentloops.orchestrator.engine_runtime_info:
  register: runtime

- name: Say what is missing
  ansible.builtin.debug:
    msg: "{{ runtime.python }} {{ runtime.version }} lacks {{ runtime.missing | join(', ') or 'nothing' }}"
'''

RETURN = r'''
python:
  description: The interpreter this module ran under.
  returned: always
  type: str
  sample: /usr/bin/python3
version:
  description: Its version.
  returned: always
  type: str
  sample: 3.11.2
supported:
  description: Whether it is recent enough for the engine (3.11 or later).
  returned: always
  type: bool
  sample: true
missing:
  description: The engine's requirements this interpreter cannot import, or has only in an older version than required.
  returned: always
  type: list
  elements: str
  sample: ["libtmux>=0.57", "tomlkit>=0.12"]
requirements:
  description: All of the engine's Python requirements.
  returned: always
  type: list
  elements: str
  sample: ["libtmux>=0.57", "tomlkit>=0.12"]
venv:
  description: The venv's absolute path on the target.
  returned: always
  type: str
  sample: /home/loops/.agentloops/venv
venv_python:
  description: The venv's interpreter.
  returned: always
  type: str
  sample: /home/loops/.agentloops/venv/bin/python
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.agentloops.orchestrator.plugins.module_utils import ansible_glue, runtime


def main():
    module = AnsibleModule(argument_spec=dict(venv=dict(type="str", default=runtime.DEFAULT_VENV)),
                           supports_check_mode=True)
    ansible_glue.run(module, lambda: dict(changed=False, **runtime.inspect(module.params["venv"])))


if __name__ == "__main__":
    main()
