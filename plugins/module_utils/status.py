# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What runs: one row per agent, and the status table of ``agents.py status``.

The table is the seed's format, byte for byte: a phase header when the config has phases,
then aligned columns AGENT KIND BACKEND MODEL WATCH STATE.
"""

from __future__ import annotations

import math
import os
import time

from . import phase
from .plain import Plain

TYPE_CHECKING = False  # not typing's: the status path imports neither typing nor config.py (quick.py)
if TYPE_CHECKING:
    from typing import TextIO

    from .config import Agent, Project
    from .tmuxproc import Owner

COLUMNS = ("AGENT", "KIND", "BACKEND", "MODEL", "WATCH", "STATE")
# A classification the watchdog has not confirmed for this long is not shown (its watchdog
# is gone, or no longer sees the agent): the watchdog re-publishes every agent's state
# at least every PUBLISH_EVERY seconds.
PUBLISH_EVERY = 30.0
STALE_AFTER = 3 * PUBLISH_EVERY


class Row(Plain):
    """One agent as status sees it."""

    __slots__ = ("agent", "kind", "backend", "model", "watch", "state", "enabled", "session", "running",
                 "session_id", "created", "pid", "command", "builtin", "activity", "since", "dialog", "fatal",
                 "reason")

    def __init__(self, agent: str, kind: str, backend: str, model: str, watch: str, state: str, enabled: bool,
                 session: str, running: bool, session_id: str | None = None, created: int | None = None,
                 pid: int | None = None, command: str | None = None, builtin: str | None = None,
                 activity: str | None = None, since: float | None = None, dialog: str | None = None,
                 fatal: str | None = None, reason: str | None = None) -> None:
        self.agent = agent
        self.kind = kind
        self.backend = backend
        self.model = model
        self.watch = watch
        self.state = state
        self.enabled = enabled
        self.session = session
        self.running = running
        self.session_id = session_id
        self.created = created
        self.pid = pid
        self.command = command
        self.builtin = builtin
        self.activity = activity  # what the agent does, by its profile: working, idle, blocked, starting
        self.since = since  # since when (epoch seconds)
        self.dialog = dialog  # the dialog a blocked agent waits on
        self.fatal = fatal  # why a loop gave up (its runner's record), when it did
        self.reason = reason  # why a stopped agent is stopped, when the engine knows (see ``stopped_reason``)

    def cells(self) -> tuple[str, ...]:
        return (self.agent, self.kind, self.backend, self.model, self.watch, self.state)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


class StatusReport(Plain):
    """A project's status from one read of its tmux server: the rows, the table's lines,
    the phase index, counts, the project's watchdog processes (None when not counted),
    every session that carries the project's prefix, and the orphans: sessions tagged by
    this project whose agent is no longer in its agents.toml. A corrupt phase index file leaves
    ``phase_index`` None and says why in ``phase_error`` (and in the table's header)."""

    __slots__ = ("rows", "lines", "phase_index", "running", "stopped", "watchdogs", "prefix_sessions",
                 "phase_error", "orphans")

    def __init__(self, rows: list[Row], lines: list[str], phase_index: int | None, running: int, stopped: int,
                 watchdogs: int | None, prefix_sessions: list[str], phase_error: str | None = None,
                 orphans: tuple[str, ...] = ()) -> None:
        self.rows = rows
        self.lines = lines
        self.phase_index = phase_index
        self.running = running
        self.stopped = stopped
        self.watchdogs = watchdogs
        self.prefix_sessions = prefix_sessions
        self.phase_error = phase_error
        self.orphans = orphans


def report(project: Project, live: dict, count_watchdogs: bool = True, engine_script: str = "") -> StatusReport:
    """The project's status from ``live``, one read of its server's sessions (``engine.read_status``
    makes it; quick.py too, from a validated config it cached): the rows, the table, the
    phase. /proc is read once for its watchdogs, when counted or shown; nothing is written."""
    needed = count_watchdogs or any(a.builtin == "watchdog" for a in project.agents)
    if needed:
        from .procs import watchdog_pids  # only then: procs is not on the path of a status without a watchdog

    pids = watchdog_pids(project) if needed else None
    rows_ = rows(project, live, pids, engine_script)
    index, why = phase.read_phase_or_error(project) if project.phases else (0, None)
    running = sum(1 for r in rows_ if r.running)
    own = {project.session_name(a) for a in project.agents}
    orphan_names: tuple[str, ...] = ()
    if any(s.tagged for n, s in live.items() if n not in own):
        orphan_names = tuple(s.name for s in orphans(project, live))
    return StatusReport(rows=rows_, lines=render(project, rows_, index, why, list(orphan_names)), phase_index=index,
                        running=running, stopped=len(rows_) - running,
                        watchdogs=len(pids) if count_watchdogs and pids is not None else None,
                        prefix_sessions=sorted(n for n in live if n.startswith(project.session_prefix)),
                        phase_error=why, orphans=orphan_names)


def write_report(shown: StatusReport, out: TextIO, err: TextIO) -> int:
    """What ``agents.py status`` prints of a report: the lines; a corrupt phase index file's
    error on ``err`` too, and exit status 1 (the table is printed all the same)."""
    out.write("\n".join(shown.lines) + "\n")
    if shown.phase_error:
        err.write("agents.py: error: %s\n" % shown.phase_error)
        return 1
    return 0


def rows(project: Project, live: dict, watchdog_pids: list[int] | None = None, engine_script: str = "") -> list[Row]:
    """Rows for every agent in config order, from one snapshot of the server's sessions.

    Loop agents add their iteration and phase after the command (``RUNNING [claude] #3
    poe2e``); a failing loop waiting out its backoff shows ``BACKOFF [claude] #3 poe2e 8s``,
    one that gave up ``FATAL`` (the reason in ``Row.fatal``); a task that ran to its end
    shows ``DONE (exit N)``. All come from the runner's record in ``state/``; STATE stays
    the last column, so the table keeps its shape.
    ``watchdog_pids`` are the project's watchdog processes when the caller has them (else
    /proc is read once, and only for a builtin watchdog). A session of the same name that
    another project started is not this agent's: ``conflict (owned by <its config>)``, not
    running. A stopped agent says why when the engine knows (``Row.reason``, see
    ``stopped_reason``); one that this engine cannot start (``engine_script``: the caller's
    agents.py, as for ``sessions.plan``) shows ``stopped (no engine checkout: ...)``.
    """
    from .bookkeeping import owner_of, read_run, read_watch  # once, not per agent (json only when a record is read)
    from .layout import PAUSED_SUFFIX, RUN_SUFFIX, STOPPED_SUFFIX, WATCH_SUFFIX

    try:  # one listing of state/: only the records that exist are opened (and no json import when none does)
        present = set(os.listdir(project.state_dir))
    except OSError:
        present = set()
    pids = _Pids(project, watchdog_pids)
    out = []
    now = time.time()
    owner = None
    for agent in project.agents:
        name = project.session_name(agent)
        sess = live.get(name)
        service = agent.is_service
        if sess is not None and sess.tagged:
            if owner is None:
                owner = owner_of(project)
            if sess.foreign_to(owner):
                out.append(Row(agent=agent.name, kind=agent.kind, backend="-" if service else agent.backend,
                               model="-" if service else (agent.model or "-"), watch="-" if service else agent.watch,
                               state="conflict (owned by %s)" % sess.described_owner, enabled=agent.enabled,
                               session=name, running=False, builtin=agent.builtin or None))
                continue
        pane = sess.first_pane if sess else None
        run = read_run(project, agent) if agent.kind in _RUN_KINDS and agent.name + RUN_SUFFIX in present else None
        watch = read_watch(project, agent) if agent.watch in _HEALED and agent.name + WATCH_SUFFIX in present else {}
        held = agent.name + STOPPED_SUFFIX in present or (agent.kind == "loop" and agent.name + PAUSED_SUFFIX in present)
        seen = observed(sess, now) if sess is not None and sess.state else None
        stopped = pane is not None and pane.waiting and _stopped(pane)
        state = "STOPPED (SIGSTOP)" if stopped else _state(agent, sess, pane, pids, run, watch, seen, now, held)
        why = stopped_reason(project, agent, present, engine_script) if state == "stopped" or \
            state == "stopped (disabled)" else None
        if why and why[0]:
            state = "stopped (%s)" % why[0]
        out.append(Row(
            agent=agent.name, kind=agent.kind,
            backend="-" if service else agent.backend, model="-" if service else (agent.model or "-"),
            watch="-" if service else agent.watch, state=state, reason=why[1] if why else None,
            enabled=agent.enabled, session=name,
            running=sess is not None and (stopped or not (pane is not None and pane.waiting)),
            session_id=sess.id if sess else None,
            created=sess.created if sess else None, pid=pane.pid if pane else None,
            command=pane.current_command if pane else None, builtin=agent.builtin or None,
            fatal=str(run["fatal"]) if run and run.get("fatal") else None,
            activity=seen[0] if seen else None, since=seen[1] if seen else None,
            dialog=(seen[2] or None) if seen else None))
    return out


_RUN_KINDS = ("loop", "task")  # the kinds the runner keeps a record of (``NAME.run.json``)
_HEALED = ("heal", "heal+stall")  # the watch policies the watchdog keeps a record of (``NAME.watch.json``)


def orphans(project: Project, live: dict, owner: Owner | None = None) -> list:
    """The sessions tagged by this project whose agent is no longer in its agents.toml
    (an agent removed, or the prefix changed), sorted by name."""
    if owner is None:
        from .bookkeeping import owner_of

        owner = owner_of(project)
    own = {project.session_name(a) for a in project.agents}
    return sorted((s for n, s in live.items() if n not in own and s.tagged and s.owned_by(owner)),
                  key=lambda s: s.name)


def stopped_reason(project: Project, agent: Agent, present: set, engine_script: str = "") -> tuple[str, str] | None:
    """Why a stopped agent is stopped, as ``(short, reason)``: ``short`` goes into its STATE
    (only for a problem: "" for an intent, whose STATE stays the seed's), ``reason`` into
    ``Row.reason``. None when nothing says why (never started, or it ended by itself)."""
    from .layout import STOPPED_SUFFIX

    if not agent.enabled:
        return "", "disabled in config"
    why = project.unsupported_reason(agent, engine_script)
    if why:
        from .layout import NO_ENGINE

        return NO_ENGINE, "cannot start: " + why
    if agent.name + STOPPED_SUFFIX in present:
        return "", "stopped by an operator (down, state=stopped)"
    return None


def parse_state(value: str) -> tuple[str, float, float] | None:
    """The watchdog's ``@agentloops_state`` (``<state[:dialog]> <since> <seen>``) as
    ``(label, since, seen)``; None when it is not that (empty, or numbers not finite)."""
    parts = value.split(" ")
    if len(parts) != 3 or not parts[0]:
        return None
    try:
        since, seen = float(parts[1]), float(parts[2])
    except ValueError:
        return None
    if not (math.isfinite(since) and math.isfinite(seen)):
        return None
    return parts[0], since, seen


def observed(sess, now: float) -> tuple[str, float, str] | None:
    """``(state, since, dialog)`` the watchdog published for a session; None when there is
    none or it is stale."""
    published = parse_state(sess.state)
    if published is None or now - published[2] > STALE_AFTER:
        return None
    state, _sep, dialog = published[0].partition(":")
    return state, published[1], dialog


def ago(seconds: float) -> str:
    """A short duration: ``45s``, ``12m``, ``3h``, ``2d``."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return "%d%s" % (seconds // size, unit)
    return "%ds" % seconds


def _stopped(pane) -> bool:
    """Whether a waiting keeper still has its agent: stopped by SIGSTOP (sessions.keeper_command)."""
    from .procs import waiting_agent

    return waiting_agent(pane.pid) is not None


def shown_command(sess, pane) -> str:
    """The pane's command as status shows it: the profile's program name for the commands
    that are it (``codex`` for codex's node wrapper), else tmux's own."""
    if sess.program:
        words = sess.program.split(" ")
        if pane.current_command in words[1:]:
            return words[0]
    return pane.current_command


class _Pids:
    """The project's watchdog pids, read from /proc at most once (and only when asked)."""

    __slots__ = ("project", "pids")

    def __init__(self, project: Project, pids: list[int] | None) -> None:
        self.project = project
        self.pids = pids

    def get(self) -> list[int]:
        if self.pids is None:
            from .procs import watchdog_pids

            self.pids = watchdog_pids(self.project)
        return self.pids


def _backoff_left(run: dict | None) -> float:
    """The seconds a failing loop still waits before its next iteration (0 when it does not)."""
    backoff = run.get("backoff") if run else None
    until = backoff.get("until") if isinstance(backoff, dict) else None
    if not isinstance(until, (int, float)) or isinstance(until, bool):
        return 0.0
    return max(0.0, until - time.time())


def _state(agent: Agent, sess, pane, pids: _Pids, run: dict | None, watch: dict,
           seen: tuple[str, float, str] | None = None, now: float = 0.0, held: bool = False) -> str:
    """The STATE cell of one agent: its session and first pane (None when not running), its
    runner's record (``run``, loops and tasks) and the watchdog's (``watch``, {} when none).
    ``held``: stopped (or a loop paused) on purpose, so a BACKOFF on record has no restart to come."""
    restarts = " restarts=%d" % watch["restarts"] if watch.get("restarts") else ""
    ended = pane is not None and pane.waiting  # its keeper waits: the agent ended, its session lives on
    if sess and not ended:
        backoff = _backoff_left(run) if agent.kind == "loop" else 0.0
        state = "BACKOFF" if backoff else "RUNNING"
        if not agent.enabled:
            state += " (disabled)"
        if watch.get("state") == "STALLED":
            state = "STALLED"
        if seen is not None and seen[0] == "blocked" and state == "RUNNING":
            state = "BLOCKED"
        if not agent.is_service and pane is not None:
            state += " [%s]" % shown_command(sess, pane)
        if agent.kind == "loop" and run:
            state += " #%s %s" % (run.get("iteration"), run.get("phase") or "-")
            state += " %ds" % math.ceil(backoff) if backoff else ""
        if seen is not None and not backoff:
            state += _activity(seen, now)
        if agent.builtin == "watchdog":
            count = len(pids.get())
            state += " (%d watchdogs)" % count if count > 1 else ""
        return state + restarts
    if agent.kind == "loop" and run and run.get("fatal") and agent.enabled:
        return "FATAL" + restarts
    if (watch.get("state") == "FATAL" or watch.get("state") == "BACKOFF" and not held) and agent.enabled:
        return watch["state"] + restarts
    if ended:  # for the watchdog to run again (or ``up``)
        return "EXITED" + restarts
    if agent.kind == "task" and run and run.get("exit") is not None:
        return "DONE (exit %s)" % run["exit"]
    if agent.builtin == "watchdog" and pids.get():
        return "RUNNING (foreground)"
    return "stopped" if agent.enabled else "stopped (disabled)"


def _activity(seen: tuple[str, float, str], now: float) -> str:
    """What follows the command in STATE for a classified agent."""
    state, since, dialog = seen
    if state == "blocked":
        return " " + (dialog or "dialog")
    if state == "idle":
        return " idle " + ago(now - since)
    if state in ("working", "starting"):
        return " " + state
    return ""


def phase_info(project: Project, index: int | None, error: str | None = None) -> dict | None:
    """The phase at ``index`` as data (None when the config has no phases); an unreadable
    phase (``index`` None) has None for its name, index and plan, and says why in ``error``."""
    if not project.phases:
        return None
    if index is None:
        return {"name": None, "index": None, "count": len(project.phases), "plan": None,
                "error": error or "unreadable phase index"}
    phase = project.phases[index]
    return {"name": phase.name, "index": index, "count": len(project.phases), "plan": phase.plan}


def phase_header(project: Project, index: int | None, error: str | None = None) -> str | None:
    """The table's first line; an unreadable phase (``index`` None) shows ``?`` and why."""
    if not project.phases:
        return None
    if index is None:
        return "phase: ? [?/%d] error: %s" % (len(project.phases), error or "unreadable phase index")
    phase = project.phases[index]
    return "phase: %s [%d/%d] plan=%s (in progress)" % (phase.name, index + 1, len(project.phases), phase.plan)


def table(rows_: list) -> list:
    """Aligned lines: each column as wide as its widest cell plus two spaces; the last
    column is not padded (no trailing blanks)."""
    grid = [COLUMNS] + [r.cells() for r in rows_]
    widths = [max(len(line[i]) for line in grid) + 2 for i in range(len(COLUMNS) - 1)]
    line_format = "".join("%%-%ds" % w for w in widths) + "%s"  # "%-Ns" pads as ljust(N) does, never cuts
    return [line_format % line for line in grid]


def write_failure(project: Project) -> str | None:
    """The write that last failed the watchdog (``state/watchdog.error``: its event log full
    or read-only), as status's first line: ``watchdog: cannot write PATH: ERROR``; None
    when its writes work."""
    from .layout import StateLayout

    from .errors import OrchestratorError
    from .fsutil import read_state_text

    try:
        text = (read_state_text(StateLayout.of(project).write_error) or "")[:1000].strip()
    except OrchestratorError:  # a symlink, not UTF-8: not the engine's record
        return None
    return "watchdog: %s" % text.splitlines()[0] if text else None


def render(project: Project, rows_: list, phase_index: int | None, phase_error: str | None = None,
           orphans: list | None = None) -> list:
    """The status lines: a failed watchdog write (``write_failure``), the phase header, the
    table, then one line per orphan session (a session of this project whose agent is no
    longer in its agents.toml)."""
    header = phase_header(project, phase_index, phase_error)
    failure = write_failure(project)
    tail = ["orphan  %s  (no longer in agents.toml)" % name for name in orphans or ()]
    return ([failure] if failure else []) + ([header] if header else []) + table(rows_) + tail


PARITY_COLUMNS = COLUMNS[:-1]


def parity(rows_a: list, rows_b: list, label_a: str = "staged", label_b: str = "live") -> tuple:
    """Compare two projects' tables on AGENT KIND BACKEND MODEL WATCH (STATE is ignored:
    a staged project never runs). Returns ``(differences, lines)``: readable differences
    (empty on parity) and both tables side by side, ``==`` or ``!=`` between each pair."""
    cells_a = [r.cells()[:-1] for r in rows_a]
    cells_b = [r.cells()[:-1] for r in rows_b]
    differences = []
    by_name_a = {c[0]: c for c in cells_a}
    by_name_b = {c[0]: c for c in cells_b}
    for name in [c[0] for c in cells_a] + [c[0] for c in cells_b if c[0] not in by_name_a]:
        a, b = by_name_a.get(name), by_name_b.get(name)
        if a is None or b is None:
            differences.append("%s: only in %s" % (name, label_a if b is None else label_b))
            continue
        for column, x, y in zip(PARITY_COLUMNS[1:], a[1:], b[1:]):
            if x != y:
                differences.append("%s: %s is %s in %s, %s in %s" % (name, column, x, label_a, y, label_b))
    if not differences and [c[0] for c in cells_a] != [c[0] for c in cells_b]:
        differences.append("agent order differs: %s in %s, %s in %s" % (
            " ".join(c[0] for c in cells_a), label_a, " ".join(c[0] for c in cells_b), label_b))
    grid_a = [PARITY_COLUMNS] + cells_a
    grid_b = [PARITY_COLUMNS] + cells_b
    every = grid_a + grid_b
    widths = [max(len(line[i]) for line in every) + 2 for i in range(len(PARITY_COLUMNS))]
    blank = ("",) * len(PARITY_COLUMNS)
    lines = ["%s%s%s" % (label_a.ljust(sum(widths)), "    ", label_b)]
    for i in range(max(len(grid_a), len(grid_b))):
        a = grid_a[i] if i < len(grid_a) else blank
        b = grid_b[i] if i < len(grid_b) else blank
        mark = "  " if i == 0 else ("==" if a == b else "!=")
        left = "".join(cell.ljust(w) for cell, w in zip(a, widths))
        right = "".join(cell.ljust(w) for cell, w in zip(b, widths)).rstrip()
        lines.append("%s%s  %s" % (left, mark, right))
    return differences, lines
