#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: project_scaffold
short_description: Create or remove an agent project with a pinned engine
version_added: 0.1.0
description:
  - With O(state=present), creates a git repository at O(project_dir) whose tracked files are
    exactly C(.gitignore), C(.gitmodules), C(agents.toml) and C(engine). The engine is a git
    submodule of O(engine_repo) (or of the collection's own engine, see O(engine_source)) pinned at
    O(engine_ref) (a tag, branch or commit, recorded as a commit). C(agents.toml) comes from O(agents_config), or the engine's C(agents.example.toml),
    with O(project_name), O(session_prefix) and O(tmux_socket) applied by style-preserving edits.
    C(.gitignore) keeps the state and log folders out. One initial commit is made.
  - An existing scaffolded project is left as it is (the task reports ok); its files are
    never overwritten. A folder that exists and is neither empty nor a scaffolded project is
    refused.
  - With O(state=absent), removes the folder only if it is a project scaffolded by this module
    (recognised by a key in its local git config, not by a tracked file) and none of its agents
    runs. Anything else (a folder that is not a project, C(/), the home folder) is refused.
  - With O(state=absent), work that git does not hold is never deleted silently. Unless
    O(force=true), the removal is refused, listing the files as C(git status --short) does,
    when the work tree holds untracked, staged or modified files (an edited C(agents.toml)
    too), or when the C(engine) submodule has changes of its own or is checked out at
    another commit than the pinned one. Only the work tree and the index are looked at, not
    unpushed commits or stashes. Not counted are the state and log folders of the project
    (what the engine writes) and what C(.gitignore) ignores (it is deleted with the folder).
  - With O(state=absent), a O(project_dir) that is a symbolic link is refused unless
    O(force=true) (then the real folder and the link are removed), so that a project is
    never deleted through a link by accident.
  - A project_dir that does not exist is nothing to remove (the task reports ok).
  - Every input is checked before anything is created; if creation fails half-way, what was
    made is removed.
author:
  - agentloops maintainers (@agentloops)
extends_documentation_fragment:
  - agentloops.orchestrator.attributes
attributes:
  check_mode:
    support: full
    details: Resolves the engine ref and renders agents.toml (for a local engine repository); creates or removes nothing.
  diff_mode:
    support: full
    details: Shows the agents.toml that would be written.
requirements:
  - git >= 2.30 on the target host
  - the Python library C(tomlkit) on the target host
options:
  project_dir:
    description: The project's folder; an absolute path.
    type: path
    required: true
  state:
    description: Whether the project should exist.
    type: str
    choices: [present, absent]
    default: present
  engine_repo:
    description:
      - The engine's git repository, a URL or an absolute local path (local paths are cloned
        with C(protocol.file.allow=always)). To create a project, give it or O(engine_source).
      - The engine is this collection's own source (C(agents.py), C(plugins/module_utils/),
        C(profiles/), C(kickoffs/), C(agents.example.toml)); any clone of the collection's
        repository, or a mirror of it, will do.
    type: str
  engine_source:
    description:
      - When O(engine_repo) is not given, a collection's folder on the target host (installed
        or checked out; the scaffold role passes its own collection's). Its engine files are
        committed into the git repository O(engine_store), tagged C(v<version>) of the
        collection (a fixed identity and date, so the same files make the same commit on every
        host), and the project pins that repository as it would any O(engine_repo).
      - The tag is made once; a later run with the same files changes nothing, and the same
        version with other files is refused (it would move what projects pin).
      - Ignored for a project that already exists.
    type: path
  engine_store:
    description:
      - The git repository O(engine_source) is recorded in (made when missing); the project's
        submodule URL. A cold clone of the project on this host finds its engine there.
    type: path
    default: ~/.agentloops/agent-orchestrator
  engine_ref:
    description:
      - The tag, branch or commit of O(engine_repo) to pin.
      - Default C(HEAD) of O(engine_repo); with O(engine_source), the collection's tag C(v<version>).
    type: str
  agents_config:
    description: An agents.toml to start from; default the engine's C(agents.example.toml).
    type: path
  project_name:
    description: The project's name in C(agents.toml); default the folder's name.
    type: str
  session_prefix:
    description: The tmux session prefix in C(agents.toml); default O(project_name) and C(-).
    type: str
  tmux_socket:
    description:
      - With O(state=present), the tmux server to write into C(agents.toml) (a name for C(tmux -L),
        a path for C(tmux -S), C(default) for the default server); when omitted or empty the
        source's value is kept.
      - With O(state=absent), the tmux server on which the project's agents must all be down
        (default the config's, also when empty).
    type: str
  expect_stopped:
    description:
      - With O(state=absent) in check mode, sessions that an earlier task of the same run
        would have stopped (e.g. the C(sessions_before) of M(agentloops.orchestrator.agent_session)
        with C(state=stopped)); they do not block the planned removal. Ignored in a normal run,
        where they are already gone.
    type: list
    elements: str
    default: []
  force:
    description:
      - With O(state=absent), remove the project even when its work tree holds work git does
        not hold (the files are returned in RV(discarded)) or O(project_dir) is a symbolic link.
        A folder that is not a scaffolded project, and running agents, are refused all the same.
    type: bool
    default: false
  preflight:
    description:
      - With O(state=absent), only check that the project could be removed once its agents
        are stopped (everything but the running agents is checked) and remove nothing, in any
        mode; the task then never reports changed. The teardown role runs this before it
        stops anything, so that a refused removal leaves the agents running.
    type: bool
    default: false
seealso:
  - module: agentloops.orchestrator.fleet_entry
  - module: agentloops.orchestrator.agent_session
'''

EXAMPLES = r'''
- name: Scaffold a project on the engine of this collection as installed on the controller
  agentloops.orchestrator.project_scaffold:
    project_dir: /home/loops/first
    engine_source: "{{ playbook_dir | dirname }}"

- name: Scaffold a throwaway project on the engine's v0.1.0 tag
  agentloops.orchestrator.project_scaffold:
    project_dir: /tmp/poe2e-scratch
    engine_repo: https://github.com/agentloops/orchestrator.git
    engine_ref: v0.1.0
    project_name: scratch-e2e
    session_prefix: poe2e-scratch-

- name: Remove it once its agents are down
  agentloops.orchestrator.project_scaffold:
    project_dir: /tmp/poe2e-scratch
    state: absent
'''

RETURN = r'''
project_dir:
  description: The project's folder.
  returned: always
  type: str
  sample: /tmp/poe2e-scratch
engine:
  description: The pinned engine.
  returned: when state=present
  type: dict
  contains:
    repo:
      description: The engine repository.
      type: str
    ref:
      description: The ref pinned.
      type: str
    commit:
      description: The commit pinned.
      type: str
    pin:
      description: NAME@REF, as the fleet registry records it.
      type: str
  sample: {repo: /srv/agent-orchestrator, ref: v0.1.0, commit: 289ef07df40a8264f3a36b4e91b923d1424c4658, pin: agent-orchestrator@v0.1.0}
name:
  description: The project's name.
  returned: when state=present
  type: str
  sample: scratch-e2e
session_prefix:
  description: The project's tmux session prefix.
  returned: when state=present
  type: str
  sample: poe2e-scratch-
engine_store:
  description: The engine store when O(engine_source) was used (C(changed) when its tag was made now).
  returned: when state=present and engine_source was used for a new project
  type: dict
  sample: {repo: /home/loops/.agentloops/agent-orchestrator, ref: v0.1.0, commit: 5c1f0e3d9b2a4c8e0f1a2b3c4d5e6f708192a3b4, changed: true}
tracked_files:
  description: The files git tracks in the project (would track, in check mode for a new project).
  returned: when state=present
  type: list
  elements: str
  sample: [.gitignore, .gitmodules, agents.toml, engine]
removed:
  description: Whether the folder was (or would be) removed; false with O(preflight=true).
  returned: when state=absent
  type: bool
  sample: true
discarded:
  description:
    - The work git does not hold that a forced removal deleted (would delete), one
      C(git status --short) line each; empty when the tree was clean.
  returned: when state=absent
  type: list
  elements: str
  sample: ["?? NOTES.md", " M agents.toml"]
link_target:
  description: The real folder, when O(project_dir) is a symbolic link (removed with O(force=true)).
  returned: when state=absent and project_dir is a symbolic link to a project
  type: str
  sample: /srv/projects/scratch
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.agentloops.orchestrator.plugins.module_utils import ansible_glue, config_edit, engine


def converge(module):
    params = module.params
    result = engine.scaffold_project(
        params["project_dir"], params["state"], check_mode=module.check_mode, engine_repo=params["engine_repo"],
        engine_ref=params["engine_ref"], engine_source=params["engine_source"], engine_store=params["engine_store"],
        agents_config=params["agents_config"], project_name=params["project_name"],
        session_prefix=params["session_prefix"], tmux_socket=params["tmux_socket"],
        expect_stopped=params["expect_stopped"], force=params["force"], preflight=params["preflight"])
    before, after = result.pop("before_text", None), result.pop("after_text", None)
    if module._diff and before is not None:
        result["diff"] = dict(before=config_edit.redact_env(before), after=config_edit.redact_env(after or ""),
                              before_header="agents.toml", after_header="agents.toml")
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type="path", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            engine_repo=dict(type="str"),
            engine_source=dict(type="path"),
            engine_store=dict(type="path", default="~/.agentloops/agent-orchestrator"),
            engine_ref=dict(type="str"),
            agents_config=dict(type="path"),
            project_name=dict(type="str"),
            session_prefix=dict(type="str"),
            tmux_socket=dict(type="str"),
            expect_stopped=dict(type="list", elements="str", default=[]),
            force=dict(type="bool", default=False),
            preflight=dict(type="bool", default=False),
        ),
        required_if=[("state", "present", ("engine_repo", "engine_source"), True)],
        supports_check_mode=True,
    )
    ansible_glue.require(module, "tomlkit")
    ansible_glue.run(module, lambda: converge(module))


if __name__ == "__main__":
    main()
