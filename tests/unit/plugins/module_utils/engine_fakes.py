# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fakes of a tmux server and its sessions, and a small project, for the pure unit tests of
the CLI, the engine facade and session planning (no tmux, no git, no subprocess)."""

from __future__ import annotations

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import TmuxError
from ansible_collections.agentloops.orchestrator.plugins.module_utils.tmux import Owner, Session

CONFIG = """
[project]
name = "unit"
session_prefix = "u-"

[agents.worker]
kind = "persistent"
backend = "demo"
model = "demo-1"
watch = "heal"

[agents.helper]
kind = "service"
command = "exec sleep 100000"

[agents.spare]
kind = "persistent"
backend = "demo"
enabled = false

[agents.looper]
kind = "loop"
backend = "demo"

[agents.watchdog]
kind = "service"
builtin = "watchdog"
"""
PHASES = "".join('[[phases]]\nname = "p%d"\nplan = "plan-%d.md"\n' % (i, i) for i in range(3))


def make_project(tmp_path, text=CONFIG, name="agents.toml"):
    path = tmp_path / name
    path.write_text(text)
    return config.load(str(path))


class FakePane:
    def __init__(self, pid: int = 4242, current_command: str = "sleep") -> None:
        self.id = "%1"
        self.pid = pid
        self.current_command = current_command
        self.dead = False
        self.waiting = False
        self.activity = 0


class FakeSession:
    """A session snapshot; ``owner`` is its config tag, or an ``Owner`` (its config and
    project id, as the engine tags a session it starts). Ownership is tmux.Session's own."""

    def __init__(self, name: str, id: str = "$1", owner: str | Owner = "", created: int = 1700000000,
                 program: str = "", state: str = "", project_id: str = "") -> None:
        self.name = name
        self.id = id
        self.owner = owner.config if isinstance(owner, Owner) else owner
        self.project_id = owner.project_id if isinstance(owner, Owner) else project_id
        self.created = created
        self.program = program
        self.state = state
        self.panes = [FakePane()]

    @property
    def first_pane(self):
        return self.panes[0] if self.panes else None

    tagged = Session.tagged
    owned_by = Session.owned_by
    foreign_to = Session.foreign_to
    described_owner = Session.described_owner


class FakeServer:
    """Records what the engine asks of tmux; ``sessions()`` counts its reads."""

    socket = "fake"
    socket_args = ["-L", "fake"]
    tmux_bin = "tmux"

    def __init__(self, *sessions: FakeSession) -> None:
        self.live = {s.name: s for s in sessions}
        self.started: list = []
        self.sizes: list = []
        self.killed: list = []
        self.reads = 0
        self.window_options: dict = {}  # session id -> the window options it was started with
        self.commands: list = []  # what run_commands was asked

    def run_commands(self, what: str, commands: list) -> list:
        self.commands.extend(commands)
        return [""] * len(commands)

    def capture_history(self, pane_id: str, lines: int) -> str:
        return self.screens.get(pane_id, "") if hasattr(self, "screens") else ""

    def sessions(self) -> dict:
        self.reads += 1
        return dict(self.live)

    def start_many(self, specs: list) -> list:
        return start_each(self, specs)

    def start(self, name, command, cwd, env, owner="", width=200, height=50, options=None,
              window_options=None) -> str:
        sid = "$%d" % (100 + len(self.started))
        self.window_options[sid] = dict(window_options or {})
        self.live[name] = FakeSession(name, sid, owner, program=(options or {}).get("@agentloops_program", ""),
                                      project_id=(options or {}).get("@agentloops_project", ""))
        self.started.append((name, command, cwd, env, owner))
        self.sizes.append((width, height))
        return sid

    def kill(self, sid: str) -> None:
        self.killed.append(sid)
        self.live = {n: s for n, s in self.live.items() if s.id != sid}

    def describe(self) -> str:
        return "tmux server -L fake"


def start_each(server, specs: list) -> list:
    """A fake's ``start_many``: its ``start`` for each spec, a refusal as that one's result."""
    out = []
    for spec in specs:
        try:
            out.append(server.start(spec.name, spec.command, spec.cwd, dict(spec.environment), owner=spec.owner,
                                    width=spec.width, height=spec.height, options=spec.options,
                                    window_options=spec.window_options))
        except TmuxError as exc:
            out.append(exc)
    return out
