# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine facade: what the CLI (``agents.py``) and the modules both do, in one place
each, so both front ends behave the same: open a project, read its status, bring its
sessions to a state, change its phase, pause/resume/reset an agent, show what an agent
left (its last screen and log), scaffold a project.

Results are typed (``ConvergeResult``, ``StatusReport``, ``PhaseChange``); the front ends
only format them. Heavy parts (sessions, libtmux, git) are imported when used, so the read
path (``status``) stays light.
"""

from __future__ import annotations

import enum
import os
import time
from dataclasses import dataclass

from . import config as config_mod
from . import phase, status
from .config import Project
from .errors import CannotStart, OrchestratorError, StartFailed, StateError
from .layout import StateLayout
from .tmux import TmuxServer, choose_socket

TYPE_CHECKING = False  # not typing's: the status path does not import typing
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from .sessions import Action


@dataclass(slots=True)
class ConvergeResult:
    """What ``converge`` did (or would do): one action per agent, and the sorted names of
    the project's sessions before and after (predicted in check mode)."""

    actions: list[Action]
    before: list[str]
    after: list[str]

    @property
    def changed(self) -> bool:
        return any(a.changes for a in self.actions)


StatusReport = status.StatusReport


@dataclass(slots=True, frozen=True)
class PhaseChange:
    """A phase change (or a look at the phase): indexes before and after (``old`` is None
    when the file was corrupt, ``error`` says why: a change overwrites it), whether the
    phase index file changed (or would, in check mode), and that file's path."""

    changed: bool
    old: int | None
    new: int
    path: str
    error: str | None = None


class PhaseStep(enum.Enum):
    """A phase target that is not a phase: the one after the current phase."""

    NEXT = "next"


NEXT = PhaseStep.NEXT


def open_project(config_path: str, tmux_socket: str | None = None, cached: bool = False) -> tuple[Project, TmuxServer]:
    """Load and validate a config; return ``(project, server)``.

    ``tmux_socket`` overrides the config's ``tmux_socket`` when given (a name or a path; a
    relative path is taken from the current directory; ``default`` is the default server);
    None or "" is not given (``tmux.choose_socket``). ``cached``: through the parsed-config
    cache (``config.load``; ``agents.py status``).
    """
    project = config_mod.load(config_path, cached)
    return project, TmuxServer(choose_socket(project.tmux_socket, tmux_socket))


def read_status(project: Project, server: TmuxServer, live: dict | None = None,
                count_watchdogs: bool = True, engine_script: str = "") -> StatusReport:
    """The project's status: one tmux call (none when ``live`` sessions are given), one
    read of /proc for its watchdogs (skipped when not counted and not shown), nothing
    written. ``engine_script``: the caller's agents.py (the CLI's), which can start what the
    project's missing engine checkout cannot (a stopped agent's reason, ``status.rows``)."""
    return status.report(project, server.sessions() if live is None else live, count_watchdogs, engine_script)


def converge(project: Project, server: TmuxServer, names: list[str] | None, desired: str, *,
             check_mode: bool = False, report: Callable[[Action], None] | None = None,
             engine_script: str = "", adopt: bool = False, allow_partial: bool = False) -> ConvergeResult:
    """Bring the named agents (all when empty) to ``desired``.

    ``report(action)`` is called before each change; ``engine_script`` is the agents.py
    that runs agents needing the runner when the project has no engine checkout. In check
    mode ``after`` is predicted and nothing is touched. Stopping all agents stops the
    project's orphans too (sessions it tagged whose agent left agents.toml); untagged
    sessions are stopped or restarted only with ``adopt``. Nothing starts when the
    project's agents run on another tmux server (``state/server``): a ``StateError`` names it
    (not in check mode, which plans on any server: the cutover plans on one that cannot exist).
    What was started is confirmed ``confirm_seconds`` later (``sessions.confirm``): when any of it no longer runs,
    ``StartFailed`` names each, with its exit and last screen (the rest stays started).
    An agent to start that this engine cannot start (``Action.cannot_start``: no engine
    checkout for a loop or the watchdog) fails the whole run before anything is touched, in
    check mode too (``CannotStart`` names each and why); with ``allow_partial`` the others
    start and those stay skips, for the caller to warn of.
    """
    from . import sessions  # deferred: the read path (status) does not need it

    agents = project.select(names)
    live = server.sessions()
    own = {project.session_name(a) for a in project.agents}
    before = sorted(n for n in live if n in own)
    actions = sessions.plan(project, live, agents, desired, engine_script, adopt=adopt, stop_orphans=not names)
    unable = sessions.cannot_start_lines(actions)
    if unable and not allow_partial:
        unstartable = CannotStart("%d agent(s) of %s cannot start, so nothing was started (a partial start starts "
                                  "the others: allow_partial, up --allow-partial):\n  %s"
                                  % (len(unable), project.name, "\n  ".join(unable)))
        unstartable.result = ConvergeResult(actions, before, before)
        raise unstartable
    if not check_mode and any(a.verb in (sessions.START, sessions.RESTART) for a in actions):
        where, running = sessions.running_elsewhere(project, server)
        if running:
            raise StateError("%s already runs on tmux server %s (%s): refusing to start a second copy on %s; "
                             "stop it there first (down with that tmux_socket)"
                             % (project.name, where, ", ".join(running), server.socket or "the default server"))
    if check_mode:
        return ConvergeResult(actions, before, _predict(before, actions))
    confirm = project.confirm_seconds if desired != "stopped" else 0.0
    done = {a.session for a in sessions.execute(project, server, actions, report=report, desired=desired,
                                                engine_script=engine_script, confirm_seconds=confirm)}
    for action in actions:
        if action.changes and action.session not in done:
            action.verb, action.reason = sessions.NONE, "already in the desired state"
    result = ConvergeResult(actions, before, sorted(n for n in server.sessions() if n in own))
    failed = [a.failure for a in actions if a.failure]
    if failed:
        error = StartFailed("%d of the agents started did not stay up (confirm_seconds = %g):\n%s"
                            % (len(failed), project.confirm_seconds, "\n".join(failed)))
        error.result = result
        raise error
    return result


def _predict(before: list[str], actions: list[Action]) -> list[str]:
    """The sessions after ``actions`` (check mode)."""
    from . import sessions

    after = set(before)
    for action in actions:
        if action.verb == sessions.STOP:
            after.discard(action.session)
        elif action.verb in (sessions.START, sessions.RESTART):
            after.add(action.session)
    return sorted(after)


def set_phase(project: Project, target: str | int | PhaseStep | None, check_mode: bool = False) -> PhaseChange:
    """Make ``target`` the current phase: an index, a phase name, ``NEXT`` (the one after
    the current phase) or None (only look). The phase index file is written (atomically,
    under the project's lock) when the phase changes or was never written; nothing is
    written in check mode. A project without ``[[phases]]`` is an error. A corrupt phase
    index file is an error to look at or to step from (``NEXT``), and is overwritten by a
    named or numbered target."""
    if not project.phases:
        raise StateError("%s has no [[phases]]" % project.config_path)
    old, why = phase.read_phase_or_error(project)
    path = StateLayout.of(project).phase_index
    if target is None or (old is None and target is NEXT):
        if old is None:
            raise StateError(why or path)
        return PhaseChange(False, old, old, path)
    new = phase.next_phase(project) if target is NEXT else phase.resolve_phase(project, target)
    changed = new != old or not phase.phase_exists(project)
    if changed and not check_mode:
        phase.write_phase_index(project, new)
        _phase_event(project, old, new)
    return PhaseChange(changed, old, new, path, why)


def _phase_event(project: Project, old: int | None, new: int) -> None:
    """The phase change as an event (a cutover's evidence tells it from a touch by it); the
    phase is set even when the event log cannot be written. ``old`` None: it was corrupt."""
    from .watchdog import event

    names = [p.name for p in project.phases]
    before = "?" if old is None else names[old] if 0 <= old < len(names) else str(old)
    try:
        event(project, "operator", "phase", "phase set", "%s -> %s" % (before, names[new]), index=new)
    except OrchestratorError:
        pass


def _loop_agent(project: Project, name: str) -> config_mod.Agent:
    agent = project.select([name])[0]
    if agent.kind != "loop":
        raise OrchestratorError("only loop agents pause; %s is a %s agent" % (agent.name, agent.kind))
    return agent


def pause(project: Project, name: str) -> None:
    """Hold a loop agent before its next iteration (it finishes the current one)."""
    from .bookkeeping import set_paused

    set_paused(project, _loop_agent(project, name), True)


def resume(project: Project, name: str) -> None:
    """Let a paused loop agent go on (nothing to do when it is not paused)."""
    from .bookkeeping import set_paused

    set_paused(project, _loop_agent(project, name), False)


def reset(project: Project, name: str) -> bool:
    """Clear an agent's BACKOFF/FATAL bookkeeping so the watchdog heals it again; whether
    there was anything to clear (the reset is an event either way)."""
    from . import watchdog

    return watchdog.reset(project, project.select([name])[0])


_EVENT_KEYS = ("ts", "time", "agent", "event", "reason", "outcome")


WAIT_STATES = ("idle", "working", "blocked", "exited")


def wait_for(project: Project, server: TmuxServer, names: list[str] | None, until: str, timeout: float = 0.0,
             poll: float = 0.5, clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> dict[str, str]:
    """Wait until every named agent (all but services when none is named) is ``until``:
    idle, working, blocked (on any dialog) or exited (its session gone, or its pane dead).
    Returns each agent's state when it got there (``blocked:trust``); raises ``WaitTimeout``
    naming those that did not within ``timeout`` seconds (0: no limit). States are read as
    the watchdog reads them (observe.observe_once); an agent whose profile cannot tell idle
    from working can only be waited for until it exited."""
    from .errors import ConfigError, ConfigIssue, WaitTimeout
    from .observe import observe_once, runs_batch

    if until not in WAIT_STATES:
        raise ValueError("until must be one of %s" % ", ".join(WAIT_STATES))
    agents = [a for a in project.select(names) if names or not a.is_service]
    if until in ("idle", "blocked"):
        batch = [a.name for a in agents if runs_batch(project, a)]
        if batch:
            raise ConfigError([ConfigIssue(project.config_path, 0, 0, "", "cannot wait for %s: %s run%s in batch "
                                           "mode (working while it runs, then gone): wait --until exited"
                                           % (until, ", ".join(batch), "s" if len(batch) == 1 else ""))])
    if until != "exited":
        blind = [a.name for a in agents if a.is_service or not project.profile_of(a).knows_states]
        if blind:
            raise ConfigError([ConfigIssue(project.config_path, 0, 0, "", "cannot wait for %s: no profile tells "
                                           "what %s is doing (wait --until exited works for any agent)"
                                           % (until, ", ".join(blind)))])
    reached: dict[str, str] = {}
    last: dict[str, str] = {}
    deadline = clock() + timeout if timeout else None
    while True:
        live = server.sessions()
        for agent in agents:
            if agent.name in reached:
                continue
            observation = observe_once(project, server, agent, live)
            label = "exited" if observation is None else observation.label
            last[agent.name] = label
            if label.partition(":")[0] == until:
                reached[agent.name] = label
        if len(reached) == len(agents):
            return reached
        if deadline is not None and clock() >= deadline:
            raise WaitTimeout("timed out after %gs waiting for %s: %s" % (timeout, until, ", ".join(
                "%s is %s" % (name, last[name]) for name in sorted(last) if name not in reached)))
        sleep(poll)


def event_lines(project: Project, limit: int = 20) -> list[str]:
    """The last ``limit`` watchdog events (all when 0), one line each: time, agent, event,
    reason -> outcome, then any other fields as JSON."""
    import json

    from . import watchdog

    lines = []
    for record in watchdog.read_events(project, limit):
        extra = {k: v for k, v in record.items() if k not in _EVENT_KEYS}
        tail = (" " + json.dumps(extra, sort_keys=True)) if extra else ""
        fields = (record.get("ts"), record.get("agent"), record.get("event"), record.get("reason"),
                  record.get("outcome"), tail)
        lines.append("%s %-12s %-8s %s -> %s%s" % fields)
    return lines


def agent_logs(project: Project, name: str, lines: int = 20) -> list[str]:
    """What an agent left: its last kept screen (``<log_dir>/<agent>.screen``: a header with
    the time, iteration, exit code and program, then the pane with scrollback) and the last
    ``lines`` lines of its log (all when 0). An unknown agent is an operation error."""
    import collections

    if name not in {a.name for a in project.agents}:
        raise OrchestratorError("unknown agent %r; this config has: %s"
                                % (name, ", ".join(a.name for a in project.agents)))
    layout = StateLayout.of(project)
    out = []
    try:
        with open(layout.screen(name), encoding="utf-8", errors="replace") as handle:
            out += ["== last screen (%s) ==" % layout.screen(name)] + handle.read().splitlines()
    except FileNotFoundError:
        out.append("no screen kept yet (%s)" % layout.screen(name))
    except OSError as exc:
        raise StateError("cannot read %s: %s" % (layout.screen(name), exc.strerror or exc)) from None
    try:
        with open(layout.log(name), encoding="utf-8", errors="replace") as handle:
            tail = list(collections.deque(handle, maxlen=lines or None))
    except FileNotFoundError:
        return out + ["no log yet (%s)" % layout.log(name)]
    except OSError as exc:
        raise StateError("cannot read %s: %s" % (layout.log(name), exc.strerror or exc)) from None
    return out + ["== last %d lines of %s ==" % (len(tail), layout.log(name))] + [t.rstrip("\n") for t in tail]


def kickoff_text(project: Project, name: str) -> str:
    """The agent's kickoff prompt rendered for the current phase."""
    from . import kickoff

    return kickoff.render_for(project, project.select([name])[0])


def parity(project: Project, other_config: str, label: str = "staged", other_label: str = "live") -> dict:
    """The parity gate of a cutover: ``project``'s AGENT/KIND/BACKEND/MODEL/WATCH columns
    against another config's (read without tmux: STATE is not compared)."""
    other = config_mod.load(other_config)
    differences, lines = status.parity(status.rows(project, {}), status.rows(other, {}), label, other_label)
    return {"match": not differences, "differences": differences, "lines": lines, "other": other.config_path}


def systemd_unit_name(project: Project) -> str:
    """The name of the project's watchdog unit: its folder's name for people, a hash of its
    path so two projects never share a unit."""
    import hashlib
    import re

    readable = re.sub(r"[^A-Za-z0-9_-]", "-", os.path.basename(project.root))
    return "agentloops-%s-%s-watchdog.service" % (readable, hashlib.sha1(project.root.encode()).hexdigest()[:8])


def describe(project: Project, server: TmuxServer) -> dict:
    """A project's identity and places, as data (for plays that act on two configs)."""
    return {"name": project.name, "config": project.config_path, "root": project.root,
            "session_prefix": project.session_prefix, "state_dir": project.state_dir,
            "log_dir": project.log_dir, "tmux_socket": server.socket, "systemd_unit": systemd_unit_name(project)}


def running_sessions(project: Project, tmux_socket: str | None = None, untagged_only: bool = False) -> list[str]:
    """What of the project still runs: its agent sessions on its tmux server (or the one
    given; not another project's session of the same name), and any watchdog process of its
    config (e.g. under systemd). ``untagged_only``: only the sessions no engine started (a
    hand-run agent's, which stopping the project leaves running unless adopted), named so:
    a removal's preflight refuses them before anything stops."""
    from .procs import watchdog_pids
    from .sessions import owner_of

    live = TmuxServer(choose_socket(project.tmux_socket, tmux_socket)).sessions()
    owner = owner_of(project)
    names = []
    for agent in project.agents:
        sess = live.get(project.session_name(agent))
        if sess is None or sess.foreign_to(owner) or (untagged_only and sess.tagged):
            continue
        names.append(sess.name if not untagged_only else
                     "%s (not started by an engine: stop it yourself, or down --adopt)" % sess.name)
    if untagged_only:
        return names
    return names + ["watchdog pid %d" % pid for pid in watchdog_pids(project)]


def scaffold_project(project_dir: str, state: str = "present", *, check_mode: bool = False,
                     engine_repo: str | None = None, engine_ref: str | None = None,
                     agents_config: str | None = None, project_name: str | None = None,
                     session_prefix: str | None = None, tmux_socket: str | None = None,
                     expect_stopped: list[str] | tuple[str, ...] = (), force: bool = False,
                     preflight: bool = False, engine_source: str | None = None,
                     engine_store: str | None = None) -> dict:
    """Create (``present``) or remove (``absent``) a scaffolded project.

    Without ``engine_repo``, ``engine_source`` (a collection's folder) is recorded in the git
    repository ``engine_store`` first (``scaffold.store_engine``), which the project then
    pins at the collection's version tag unless ``engine_ref`` names another ref of it.

    Returns ``changed``, the project's description and the agents.toml text before/after
    for diffs. Nothing is created or removed in check mode; there, ``expect_stopped`` names
    sessions an earlier step of the play would stop (they do not block a removal). A removal
    is refused for a symlinked project_dir or a work tree with work git does not hold,
    unless ``force``; ``preflight`` checks all but the running agents and removes nothing
    (the check made before they are stopped).
    """
    if state == "absent":
        return _unscaffold(project_dir, check_mode or preflight, tmux_socket,
                           tuple(expect_stopped or ()) if check_mode else (), force, preflight)
    from . import scaffold

    stored: dict | None = None
    if not engine_repo and engine_source and not (os.path.isdir(project_dir) and scaffold.is_project(project_dir)):
        stored = scaffold.store_engine(engine_source, engine_store or "", check_mode=check_mode)
        engine_repo, engine_ref = stored["repo"], engine_ref or stored["ref"]
        if check_mode and stored["changed"]:  # nothing to resolve the ref in yet
            return {"changed": True, "before_text": "", "after_text": "", "project_dir": os.path.normpath(project_dir),
                    "engine": {"repo": engine_repo, "ref": engine_ref, "commit": "",
                               "pin": "%s@%s" % (scaffold.engine_name(engine_repo), engine_ref)},
                    "engine_store": stored, "tracked_files": list(scaffold.TRACKED)}
    plan = scaffold.plan_create(project_dir, engine_repo or "", engine_ref or "HEAD", agents_config=agents_config,
                                project_name=project_name, session_prefix=session_prefix, tmux_socket=tmux_socket)
    result: dict = {"changed": not plan.exists, "before_text": plan.agents_text if plan.exists else "",
                    "after_text": plan.agents_text or ""}
    if not plan.exists and not check_mode:
        scaffold.create(plan, tmux_socket=tmux_socket)
        result["after_text"] = plan.agents_text
    result.update(plan.as_dict())
    if not check_mode or plan.exists:
        result["tracked_files"] = scaffold.tracked_files(plan.project_dir)
    if stored is not None:
        result["engine_store"] = stored
    return result


def _unscaffold(project_dir: str, check_mode: bool, tmux_socket: str | None, stopping: tuple[str, ...],
                force: bool, preflight: bool) -> dict:
    from . import scaffold

    live = (lambda p: running_sessions(p, tmux_socket, untagged_only=True)) if preflight else \
        (lambda p: running_sessions(p, tmux_socket))
    removal = scaffold.check_removable(project_dir, live, stopping, force=force)
    if removal and not check_mode:
        scaffold.remove(removal.path)
    result = {"changed": removal is not None and not preflight, "project_dir": os.path.normpath(project_dir),
              "removed": removal is not None and not preflight, "before": "present" if removal else "absent",
              "after": "present" if removal and preflight else "absent",
              "discarded": list(removal.lost) if removal else []}
    if removal and removal.target:
        result["link_target"] = removal.target
    return result
