#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: live_snapshot
short_description: Capture read-only evidence of a live agent system, and compare it with an earlier capture
version_added: 0.1.0
description:
  - Captures, without changing anything, the sha256, size and mode of the given files and of
    every file under the given folders (a symlink is followed and recorded with its link text
    and resolved target); every tmux session of the given servers (name, id, creation time)
    with its panes (id, pid, current command); the number of C(<prefix>watchdog) sessions per
    prefix; and the state files (C(phase-idx), C(*.resume-id)) under the given state folders.
  - Of each project in O(configs), the whole of it that a check could touch is covered too,
    the agents.toml, every file of its C(state_dir), the engine's files in its C(log_dir)
    (C(events.jsonl), C(NAME.log), C(NAME.screen)), its kickoff templates, the C(agents.py)
    beside it or in C(engine/), and its watchdog processes (pids and start times from /proc,
    so a foreground watchdog counts).
  - With O(compare_to), each difference is either one the live system made by itself during
    the check, reported in RV(changed_during) with the events that match it (a heal of its
    watchdog, an iteration of its runner, an operator's C(phase set)), or one that no event
    explains, reported in RV(touched).
  - The snapshot is returned as data, so a play can keep it on the controller and, later in the
    same run, pass it back as O(compare_to) to prove that nothing was touched.
  - Sessions are compared by id, creation time and their panes' ids and pids; a pane's current
    command is recorded but not compared (a live agent changes it by itself).
author:
  - agentloops maintainers (@agentloops)
extends_documentation_fragment:
  - agentloops.orchestrator.attributes
  - agentloops.orchestrator.attributes.info_module
attributes:
  diff_mode:
    details: Changes nothing; differences from O(compare_to) are returned as RV(differences).
options:
  files:
    description: Files to checksum.
    type: list
    elements: path
    default: []
  folders:
    description: Folders whose every file is checksummed, recursively.
    type: list
    elements: path
    default: []
  tmux_servers:
    description:
      - tmux servers whose sessions and panes are recorded. An empty string is the user's
        default server, a bare name is C(tmux -L NAME), a path is C(tmux -S PATH).
    type: list
    elements: str
    default: []
  prefixes:
    description: Session prefixes whose C(<prefix>watchdog) sessions are counted on each server.
    type: list
    elements: str
    default: []
  state_dirs:
    description: Project state folders whose C(phase-idx) and C(*.resume-id) files are recorded.
    type: list
    elements: path
    default: []
  configs:
    description: The agents.toml of projects covered whole (see the description), and whose events explain what their live system changed by itself.
    type: list
    elements: path
    default: []
  compare_to:
    description: An earlier RV(snapshot) to compare this one with.
    type: dict
seealso:
  - module: agentloops.orchestrator.agent_session_info
'''

EXAMPLES = r'''
- name: Evidence of the live system before anything else runs
  agentloops.orchestrator.live_snapshot:
    files: [/srv/cc-ci/cc-ci-plan/launch.sh]
    configs: [/srv/cc-ci/cc-ci-plan/agents.toml]
    state_dirs: [/srv/cc-ci/cc-ci-plan/state]
    tmux_servers: [""]
    prefixes: [cc-ci-]
  register: before

- name: The same evidence after the last step, compared
  agentloops.orchestrator.live_snapshot:
    files: [/srv/cc-ci/cc-ci-plan/launch.sh]
    configs: [/srv/cc-ci/cc-ci-plan/agents.toml]
    state_dirs: [/srv/cc-ci/cc-ci-plan/state]
    tmux_servers: [""]
    prefixes: [cc-ci-]
    compare_to: "{{ before.snapshot }}"
  register: after

- name: Prove no-touch (what the live system did by itself is in after.changed_during)
  ansible.builtin.assert:
    that: after.touched == []
    fail_msg: "{{ after.touched }}"
'''

RETURN = r'''
snapshot:
  description: The evidence, as data.
  returned: always
  type: dict
  sample:
    taken: "2026-06-13T19:25:00+0000"
    files: {/srv/cc-ci/cc-ci-plan/agents.toml: {sha256: 0d78ba55329705055bbb39722292b6d131cdd30f37eb814e50316f7c0e222b88, size: 2811, mode: "644"}}
    tmux: {"": {cc-ci-watchdog: {id: "$7", created: 1781384400, panes: [{id: "%7", pid: 4242, command: python3}]}}}
    watchdog_sessions: {"cc-ci-@the default tmux server": 1}
    watchdogs: {/srv/cc-ci/cc-ci-plan/agents.toml: 1}
    state: {/srv/cc-ci/cc-ci-plan/state/phase-idx: "18\n"}
summary:
  description: What the snapshot holds, in one line.
  returned: always
  type: str
  sample: 3 files, 8 sessions, 1 watchdog
unchanged:
  description: Whether the snapshot equals O(compare_to); null without O(compare_to).
  returned: always
  type: bool
  sample: true
differences:
  description: Readable differences from O(compare_to); empty when unchanged.
  returned: always
  type: list
  elements: str
  sample: ["session cc-ci-watchdog on the default tmux server: new"]
touched:
  description: The differences from O(compare_to) that no event of the live system explains (something touched it); empty when untouched.
  returned: always
  type: list
  elements: str
  sample: ["file /srv/cc-ci/cc-ci-plan/state/builder.stopped: new"]
changed_during:
  description: The differences from O(compare_to) that the live system made by itself, each with the events that match it.
  returned: always
  type: list
  elements: str
  sample:
    - "session cc-ci-builder on the default tmux server: changed (...); changed during the check:
      2026-06-13T19:25:03+0000 builder heal: process gone (restarted)"
untouched:
  description: Whether RV(touched) is empty; null without O(compare_to).
  returned: always
  type: bool
  sample: true
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.agentloops.orchestrator.plugins.module_utils import ansible_glue, snapshot


def capture(module):
    params = module.params
    before = params["compare_to"]
    snap = snapshot.take(params["files"], params["folders"], params["tmux_servers"], params["prefixes"],
                         params["state_dirs"], params["configs"], since=before)
    differences = snapshot.compare(before, snap) if before is not None else []
    verdict = snapshot.judge(before, snap) if before is not None else {"touched": [], "live": []}
    return dict(changed=False, snapshot=snap, summary=snapshot.summary(snap), differences=differences,
                touched=verdict["touched"], changed_during=verdict["live"],
                unchanged=(not differences) if before is not None else None,
                untouched=(not verdict["touched"]) if before is not None else None)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="path", default=[]),
            folders=dict(type="list", elements="path", default=[]),
            tmux_servers=dict(type="list", elements="str", default=[]),
            prefixes=dict(type="list", elements="str", default=[]),
            state_dirs=dict(type="list", elements="path", default=[]),
            configs=dict(type="list", elements="path", default=[]),
            compare_to=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    ansible_glue.run(module, lambda: capture(module))


if __name__ == "__main__":
    main()
