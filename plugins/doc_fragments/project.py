# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Options shared by every module that acts on one project.
    DOCUMENTATION = r'''
options:
  project_dir:
    description:
      - The project's folder on the target host (the folder that holds C(agents.toml)).
      - Required unless O(config) is given; an empty value is not given (an error when
        O(config) is not given either).
    type: path
  config:
    description:
      - The project's C(agents.toml). Defaults to C(agents.toml) in O(project_dir) (also when
        given empty).
      - Relative paths inside the file (C(log_dir), C(state_dir), a socket path) are taken
        from the file's folder.
    type: path
  tmux_socket:
    description:
      - The tmux server to use, overriding the config's C(tmux_socket).
      - A bare name is C(tmux -L NAME), a path (containing C(/)) is C(tmux -S PATH), and
        C(default) is the user's default server (tmux's own name for it, C(tmux -L default)).
      - When omitted, empty or null (an AWX survey field left blank), the config's C(tmux_socket)
        applies; an empty value never means the default server.
      - The engine refuses a server it does not safely own, before reading or starting anything;
        a path that exists and is not a socket, a socket owned by another user, or a socket
        whose folder is not owned by the caller or root or is writable by group or others
        without the sticky bit.
    type: str
requirements:
  - tmux >= 3.0 on the target host
  - the Python libraries C(libtmux) and C(tomlkit) on the target host
'''
