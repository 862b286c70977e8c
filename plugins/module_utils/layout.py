# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a project keeps its files: the one place that names every file of ``state_dir``
and ``log_dir``. Nothing here writes, and only ``engine_script_for``
reads (whether a file is there); the modules that own each file read and write it.

``state_dir``:

- ``phase-idx``: the current 0-based phase index (phase.py);
- ``project-id``: the project's identity, made at its first start and tagged on its sessions
  (``@agentloops_project``); ``server``: the tmux server its agents last started on (sessions.py);
- ``.engine.lock``: the project's lock, held by ``up``, ``down``, phase changes, config edits
  and every heal; ``watchdog.lock``: held for life by the one watchdog (fsutil.locked);
  ``watchdog-guard.lock``: held for life by the watchdog's guard (the process that brings a
  killed watchdog back); ``watchdog.error``: the last write that failed the watchdog (its
  event log full or read-only), shown by status, gone once writes work again;
- per agent: ``NAME.run.json`` (the runner's last run), ``NAME.watch.json`` (the watchdog's
  bookkeeping), ``NAME.resume-id`` (the backend's conversation id), ``NAME.stopped`` (stopped
  by an operator), ``NAME.paused`` (a paused loop), ``NAME.kickoff.md`` (the prompt last
  rendered), ``NAME.env`` (the environment a session sources); for a session with a keeper
  (sessions.keeper_command), ``NAME.command`` (the command it runs, read at each run) and
  ``NAME.keeper`` (the FIFO the watchdog tells it through), ``NAME.jobs`` (what its
  keeper's shell says of an agent stopped by SIGSTOP), ``agentloops-keeper`` (a
  symlink to dash: the name its keeper runs under) and ``agentloops-keeper.sh`` (the
  keeper's script);
- ``.<config name>.parsed`` (in the default ``state`` folder only): status's parsed-config
  cache, named and owned by early.py (it is read before this module is imported).

``engine/agents.py`` beside agents.toml is the project's pinned engine (``engine_script_for``).

``log_dir``: ``events.jsonl`` (the watchdog's events), ``NAME.log`` (the runner's lines) and
``NAME.screen`` (the agent's pane, with scrollback, when its program last ended); these
(``log_names``) and their rotations are all that cleanlogs prunes.

Beside any of them, ``.NAME.XXXXXXXX.tmp`` is an atomic write under way (fsutil.atomic_write),
or one killed midway: removed at the next write of NAME once older than a minute. No file
here is ever a symlink the engine follows (fsutil refuses them); ``agentloops-keeper`` is the one
symlink here, made by the engine for exec to follow.
"""

from __future__ import annotations

import os

from .plain import Plain
from .tmuxproc import KEEPER

TYPE_CHECKING = False  # not typing's (nor collections.abc): the status path does not import them

if TYPE_CHECKING:  # layout stays importable from config.py itself
    from collections.abc import Iterable

    from .config import Agent, Project

PHASE_FILE = "phase-idx"
ENGINE_LOCK = ".engine.lock"
WATCHDOG_LOCK = "watchdog.lock"
GUARD_LOCK = "watchdog-guard.lock"
WRITE_ERROR = "watchdog.error"
EVENTS = "events.jsonl"
RESUME_SUFFIX = ".resume-id"
# The names of an agent's records are NAME + suffix (status tests them against one listing of state/).
RUN_SUFFIX = ".run.json"
WATCH_SUFFIX = ".watch.json"
STOPPED_SUFFIX = ".stopped"
PAUSED_SUFFIX = ".paused"
PROJECT_ID = "project-id"
SERVER_FILE = "server"


class StateLayout(Plain):
    """The paths of one project's state and log files."""

    __slots__ = ("state_dir", "log_dir")

    def __init__(self, state_dir: str, log_dir: str) -> None:
        self.state_dir = state_dir
        self.log_dir = log_dir

    @classmethod
    def of(cls, project: Project) -> StateLayout:
        return cls(project.state_dir, project.log_dir)

    def _state(self, name: str) -> str:
        return os.path.join(self.state_dir, name)

    def _agent(self, agent: Agent | str, suffix: str) -> str:
        return self._state((agent if isinstance(agent, str) else agent.name) + suffix)

    @property
    def phase_index(self) -> str:
        return self._state(PHASE_FILE)

    @property
    def project_id(self) -> str:
        return self._state(PROJECT_ID)

    @property
    def server(self) -> str:
        return self._state(SERVER_FILE)

    @property
    def engine_lock(self) -> str:
        return self._state(ENGINE_LOCK)

    @property
    def watchdog_lock(self) -> str:
        return self._state(WATCHDOG_LOCK)

    @property
    def guard_lock(self) -> str:
        return self._state(GUARD_LOCK)

    @property
    def write_error(self) -> str:
        return self._state(WRITE_ERROR)

    @property
    def events(self) -> str:
        return os.path.join(self.log_dir, EVENTS)

    def run(self, agent: Agent | str) -> str:
        return self._agent(agent, RUN_SUFFIX)

    def watch(self, agent: Agent | str) -> str:
        return self._agent(agent, WATCH_SUFFIX)

    def resume(self, agent: Agent | str) -> str:
        return self._agent(agent, RESUME_SUFFIX)

    def stopped(self, agent: Agent | str) -> str:
        return self._agent(agent, STOPPED_SUFFIX)

    def paused(self, agent: Agent | str) -> str:
        return self._agent(agent, PAUSED_SUFFIX)

    def kickoff(self, agent: Agent | str) -> str:
        return self._agent(agent, ".kickoff.md")

    def env(self, agent: Agent | str) -> str:
        return self._agent(agent, ".env")

    def command(self, agent: Agent | str) -> str:
        return self._agent(agent, ".command")

    def keeper(self, agent: Agent | str) -> str:
        return self._agent(agent, ".keeper")

    def jobs(self, agent: Agent | str) -> str:
        return self._agent(agent, ".jobs")

    @property
    def keeper_shell(self) -> str:
        return self._state(KEEPER)

    @property
    def keeper_script(self) -> str:
        return self._state(KEEPER + ".sh")

    def log(self, agent: Agent | str) -> str:
        return os.path.join(self.log_dir, "%s.log" % (agent if isinstance(agent, str) else agent.name))

    def screen(self, agent: Agent | str) -> str:
        return os.path.join(self.log_dir, "%s.screen" % (agent if isinstance(agent, str) else agent.name))

    def log_names(self, agents: Iterable[Agent | str]) -> frozenset[str]:
        """The names of the files the engine writes in ``log_dir`` for these agents: all that
        cleanlogs may prune (with the suffixes of their rotation), never anything else."""
        paths = [self.events] + [path for agent in agents for path in (self.log(agent), self.screen(agent))]
        return frozenset(os.path.basename(path) for path in paths)


# A project's pinned engine: ``engine/agents.py`` beside its agents.toml; this engine's own
# shipped agent profiles (profiles.py reads them, or the pinned engine's ``engine/profiles``).

ENGINE_PROFILE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                  "profiles")

NO_ENGINE = "no engine checkout: engine/agents.py is missing"  # status's short form of ``no_engine_reason``


def engine_script_for(root: str, engine_script: str = "") -> str:
    """The agents.py that runs the agents of the project in folder ``root``: its pinned engine
    first, else ``engine_script`` (the engine CLI passes its own agents.py, so sessions it
    starts can run the runner even in a project without an engine/ checkout; a module has no
    such file); "" when neither is there (the only reads of this module: two ``isfile``)."""
    pinned = os.path.join(root, "engine", "agents.py")
    if os.path.isfile(pinned):
        return pinned
    return engine_script if engine_script and os.path.isfile(engine_script) else ""


def no_engine_reason(root: str, agent: Agent, needed: bool, engine_script: str = "") -> str:
    """Why ``agent`` cannot start ("" when it can): it ``needed`` the engine (a builtin, or the
    runner: ``sessions.needs_engine``) and there is no agents.py to run it."""
    if not needed or engine_script_for(root, engine_script):
        return ""
    what = "the builtin %s needs the engine" % agent.builtin if agent.builtin else \
        "%s agents need the engine's runner" % agent.kind
    return "%s: no engine checkout at %s" % (what, os.path.join(root, "engine", "agents.py"))
