# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes every module of the collection documents, in one place.

A module extends ``agentloops.orchestrator.attributes`` and then states only its own
support levels (and what they mean for it) under ``attributes``; the *_info modules extend
``agentloops.orchestrator.attributes.info_module`` as well, which states them once for a
module that only reads. Members of an action group (meta/runtime.yml) add the fragment
variant that names their group.
"""

from __future__ import annotations


class ModuleDocFragment(object):

    # What each attribute means, and the platform every module runs on.
    DOCUMENTATION = r'''
attributes:
  check_mode:
    description:
      - Whether the module runs under C(--check), reporting what it would change without changing it.
  diff_mode:
    description:
      - Whether the module shows, under C(--diff), what it changes (or would change under C(--check)).
  platform:
    description: The target systems the module runs on.
    support: N/A
    platforms: posix
'''

    # A module that only reads: the same in check mode as in a normal run, nothing to diff.
    INFO_MODULE = r'''
attributes:
  check_mode:
    support: full
    details: Reads only, in check mode as in a normal run.
  diff_mode:
    support: N/A
    details: Changes nothing, so there is nothing to show.
'''

    # The modules that act on one project (project_dir, config, tmux_socket).
    ACTIONGROUP_PROJECT = r'''
attributes:
  action_group:
    description:
      - Set the module's options for a whole play, block or role with
        C(module_defaults) and the group C(group/agentloops.orchestrator.project).
    support: full
    membership:
      - agentloops.orchestrator.project
'''

    # The modules that read or edit the fleet registry (fleet_file).
    ACTIONGROUP_FLEET = r'''
attributes:
  action_group:
    description:
      - Set the module's options for a whole play, block or role with
        C(module_defaults) and the group C(group/agentloops.orchestrator.fleet).
    support: full
    membership:
      - agentloops.orchestrator.fleet
'''
