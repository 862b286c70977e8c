# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watchdog (``agents.py watchdog``): heals agents whose ``watch`` is ``heal`` or
``heal+stall`` when their session or process is gone.

- Fast: it holds a pidfd for every watched agent's pane process and sleeps in ``poll()`` on
  them, so a death wakes it at once; between deaths it reads the server with one
  ``list-panes`` call every ``poll`` seconds (sessions killed without a process death, new
  sessions, backoff deadlines), or every ``quiet_poll`` seconds while a pass finds it quiet
  (``Watchdog.quiet``: every live agent's death would wake it, none is under stall watch, every
  classified one is idle): then a session killed without a death, a new session or an edited
  agents.toml is seen within ``quiet_poll`` seconds. A pass that restarted agents is followed
  at once by another, which holds pidfds on their new processes (see ``wait``); an agent is
  restarted at most once every ``RESTART_SPACING`` seconds.
- Never fights an operator: agents that are disabled, stopped on purpose (``down``,
  ``agent_session state=stopped`` leave a marker in ``state/``), finished tasks and loops
  that ran out of iterations are left alone.
- Crash loops: a start that dies within ``start_seconds`` counts as a failure. The first
  failure is restarted at once; further ones back off exponentially (1 s, 2 s, 4 s ... up to
  ``backoff_max``, with jitter); ``fatal_after`` failures within ``fatal_window`` seconds make
  the agent FATAL: no more restarts until ``agents.py reset AGENT`` or a restart by an operator.
- Exactly one per project: a kernel-held lock (flock) in ``state/``; a second watchdog exits
  with status 3 and says which process holds the lock.
- Every heal, backoff, fatal and reset is an event in ``<log_dir>/events.jsonl``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import select
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from .bookkeeping import (clear_fatal, clear_watch, is_paused, is_stopped, read_run, read_watch, report_bad_records,
                          write_watch)
from .config import Agent, Project, WatchSettings, load
from .errors import AlreadyRunning, OrchestratorError
from .fsutil import LockBusy, append_line, atomic_write, lines_from_end, lock_free, lock_holder, locked, remove
from .layout import StateLayout
from .observe import Observer
from .procs import kept_agent, read_table, waiting_agent
from .profiles import WORKING
from .tmux import Owner, TmuxServer

# What a screen that only "animates" changes: spinner glyphs, and the digits of a line that
# has words too (``Working (12s)``, ``3/10 files``: timers, counters). A line of digits alone
# (``1234``, ``0.513 0.498``: a program printing numbers) is output, not animation: a pane
# scrolling such lines makes progress, and must never be nudged as stalled.
_SPINNER = re.compile(r"[\u2800-\u28ff|/\\\-◐◓◑◒◴◷◶◵✶✻✽✢·*•∙○●◦⣾⣽⣻⢿⡿⣟⣯⣷]")
_DIGITS = re.compile(r"[0-9]")
_WORD = re.compile(r"[^\W\d_]")


def without_animation(text: str) -> str:
    """A screen less what merely animates (see ``_SPINNER``, ``_DIGITS``)."""
    lines = []
    for line in _SPINNER.sub("", text).split("\n"):
        lines.append(_DIGITS.sub("", line) if _WORD.search(line) else line)
    return "\n".join(lines)


RESTART, BACKOFF, FATAL = "restart", "backoff", "fatal"
# A death this soon after the agent's last start is restarted no sooner than this long after
# that start, whatever ``start_seconds`` says (runit's rule): an agent that dies as it starts
# is restarted at most once a second, not as fast as tmux can start it (with start_seconds = 0
# no death is a failure, so no backoff would ever slow it down).
RESTART_SPACING = 1.0


def event(project: Project, agent: str, kind: str, reason: str, outcome: str, **extra) -> dict:
    """Append one event to the project's JSON-lines event log. A log that cannot be written
    (a full or read-only ``log_dir``) is never the end of the caller: the failure is kept in
    ``state/watchdog.error`` (status shows it) until a write works again."""
    record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "time": round(time.time(), 3), "agent": agent,
              "event": kind, "reason": reason, "outcome": outcome}
    record.update(extra)
    layout = StateLayout.of(project)
    try:
        append_line(layout.events, json.dumps(record, sort_keys=True))
    except OrchestratorError as exc:
        _write_failed(layout, str(exc))
    else:
        # the failure is over, whichever process recorded it (a killed watchdog's, a phase set's)
        if _FAILED.pop(layout.write_error, None) is not None or os.path.lexists(layout.write_error):
            with contextlib.suppress(OrchestratorError):
                remove(layout.write_error)
    return record


_FAILED: dict = {}  # write-error file -> the failure it holds (this process's)


def _write_failed(layout: StateLayout, message: str) -> None:
    """Keep a failed write where status sees it (once per failure, not per event)."""
    import sys

    if _FAILED.get(layout.write_error) == message:
        return
    _FAILED[layout.write_error] = message
    sys.stderr.write("agentloops: %s\n" % message)
    with contextlib.suppress(OrchestratorError):
        atomic_write(layout.write_error, message + "\n")


def read_events(project: Project, limit: int = 20) -> list:
    """The last ``limit`` events (all when 0), oldest first, read from the end of the log:
    lines that are not UTF-8, not JSON or not a JSON object are skipped."""
    out = []
    for raw in lines_from_end(StateLayout.of(project).events):
        try:
            record = json.loads(raw.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError is one
            continue
        if isinstance(record, dict):
            out.append(record)
            if limit and len(out) >= limit:
                break
    out.reverse()
    return out


class HealLimits(Protocol):
    """An agent's crash-loop settings, as the heal decision reads them."""

    @property
    def start_seconds(self) -> float: ...

    @property
    def fatal_after(self) -> int: ...

    @property
    def fatal_window(self) -> float: ...

    @property
    def backoff_max(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do about one new death: RESTART in ``delay`` seconds (0: now; more only
    under ``RESTART_SPACING``), BACKOFF for ``delay`` seconds, or go FATAL; ``failures`` are
    the quick deaths on record afterwards."""

    action: str
    failures: tuple[float, ...]
    uptime: float | None
    delay: float = 0.0


def judge_death(limits: HealLimits, failures: Sequence[float], started: float, now: float,
                jitter: float = 1.0) -> Verdict:
    """The crash-loop arithmetic, pure: a death ``now`` of a start at ``started`` (0 when
    unknown) given the quick deaths on record. A start that dies within ``start_seconds``
    is a failure; failures older than ``fatal_window`` are forgotten; ``fatal_after`` of them
    make the agent FATAL; from the second on, the restart waits 1 s, 2 s, 4 s ... up to
    ``backoff_max``, times ``jitter``. Whatever that says, a restart comes no sooner than
    ``RESTART_SPACING`` after ``started``. A start after ``now`` (a clock stepped back)
    counts as unknown: no failure, no spacing."""
    uptime = now - started if started and started <= now else None
    spacing = started + RESTART_SPACING - now if uptime is not None and uptime < RESTART_SPACING else 0.0
    recent = [t for t in failures if now - t <= limits.fatal_window]
    if uptime is not None and uptime < limits.start_seconds:
        recent.append(now)
    if len(recent) >= limits.fatal_after:
        return Verdict(FATAL, tuple(recent), uptime)
    if len(recent) >= 2:
        delay = min(limits.backoff_max, 2.0 ** (len(recent) - 2)) * jitter
        return Verdict(BACKOFF, tuple(recent), uptime, max(delay, spacing))
    return Verdict(RESTART, tuple(recent), uptime, spacing)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def config_stamp(path: str) -> tuple[int, int, int, int] | None:
    """What tells cheaply that a file changed: device, inode, size and mtime of the file
    ``path`` names (symlinks followed); None when there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _caught(step: Callable[..., str], *args) -> str | OrchestratorError:
    """``step(*args)``, or the error it raised."""
    try:
        return step(*args)
    except OrchestratorError as exc:
        return exc


def watched(project: Project) -> list:
    return [a for a in project.agents if a.watch in ("heal", "heal+stall") and not a.is_service]


def leave_alone(project: Project, agent: Agent) -> str:
    """Why the watchdog must not revive the agent now ("" when it may)."""
    if not agent.enabled:
        return "disabled"
    if is_stopped(project, agent):
        return "stopped by an operator"
    if agent.kind == "loop" and is_paused(project, agent):
        return "paused"
    if agent.kind in ("task", "loop"):
        run = read_run(project, agent)
        if run and run.get("exit") is not None and (agent.kind == "task" or run.get("finished")):
            return "finished"
        if run and run.get("fatal"):  # a loop that gave up after fatal_after failed iterations
            return "FATAL"
    if read_watch(project, agent).get("state") == "FATAL":
        return "FATAL"
    return ""


SETTLE = 1.0  # seconds a watchdog looks again at once (every SETTLE_POLL) for a keeper to wait or run
SETTLE_POLL = 0.02
QUIET_POLL = 10.0  # seconds between reads of the server while a pass found nothing but a death could need it
_GUARD = "\0guard"  # the key of the guard's pidfd among the agents'


class Watchdog:
    """The watchdog of one project. ``engine_script`` is the agents.py a heal starts runners
    with (see sessions); ``clock`` and ``jitter`` (a backoff's random factor) are there for
    tests."""

    def __init__(self, project: Project, server: TmuxServer, poll: float = 2.0, engine_script: str = "",
                 clock: Callable[[], float] = time.time,
                 jitter: Callable[[], float] = lambda: random.uniform(0.8, 1.2), quiet_poll: float = QUIET_POLL) -> None:
        self.project = project
        self.server = server
        self.poll = poll
        self.quiet_poll = max(poll, quiet_poll)
        self.quiet = False  # the last pass found nothing that a death would not wake it for (see wait)
        self.restarted = False  # the last pass started agents: the next one comes at once (see wait)
        self.poller = select.poll()  # the pidfds below (and the guard's), registered while held
        self.fresh: set = set()  # agents whose pidfd the last wait found not readable: alive, no need to ask
        self.engine_script = engine_script
        self.clock = clock
        self.jitter = jitter
        self.pidfds: dict = {}
        self.kept: dict = {}  # agent -> (its keeper's pid, the agent's pid under it), see _agent_pid
        self.settling = False  # an agent ended and its keeper does not wait yet: look again in a moment
        self.settle_since: dict = {}  # agent -> since when it is so (a moment is SETTLE seconds at most)
        self.woken: dict = {}  # agent -> when its keeper was told to run it (the watchdog's clock)
        self.unread: dict = {}  # agent -> since when its keeper does not read its FIFO (told again until SETTLE)
        self.next_try: dict = {}
        self.checked = float("-inf")  # when the last pass began (its now)
        self.overdue: dict = {}  # the restart deadlines already due when the last pass began (see wait)
        # agent -> when this watchdog last started it (its clock): the start a death is judged
        # against even when the watch file could not record it
        self.started: dict = {}
        self.screens: dict = {}  # agent -> (normalised screen, when it last changed, when read)
        self.observer = Observer(project, server, event)
        self.calm: set = set()  # classified agents seen not working since the last stall check
        self.ended = 0  # leftover processes the last restart ended
        self.in_pane = False  # the last _end kept the session: its keeper waits to run the agent again
        self.stamp = config_stamp(project.config_path)  # of the agents.toml last read
        self.errors: dict = {}  # agent (or "watchdog") -> the error last reported, until a step works again
        self.guarded = False  # whether this watchdog keeps a guard (it runs in its own session: see main)
        self.guard_seen = float("-inf")  # when it last looked at its guard
        report_bad_records(self._bad_record)

    def _bad_record(self, path: str, problem: str) -> None:
        """A per-agent record that was ignored in part or whole: one event per content."""
        name = os.path.basename(path).split(".", 1)[0]
        event(self.project, name, "error", "%s: %s" % (path, problem), "treated as empty")

    def _error(self, name: str, message: str, outcome: str = "will retry") -> list:
        """An error event, once for as long as the same error repeats (a read-only state
        folder is one event, not one per agent every pass)."""
        if self.errors.get(name) == message:
            return []
        self.errors[name] = message
        return [event(self.project, name, "error", message, outcome)]

    def _locked(self):
        """The project's lock, which ``up``, ``down``, ``reset`` and the modules take too: a
        heal's kill, start and bookkeeping never interleave with an operator's command."""
        return locked(StateLayout.of(self.project).engine_lock)

    def _restart(self, agent: Agent, sess, live: dict | None = None, processes: dict | None = None) -> bool:
        """Kill ``sess`` (the dead or stalled session, if any) and start the agent as ``up``
        would; the caller holds the lock (and may pass the ``live`` sessions it read under
        it). False when the session changed meanwhile (someone else restarted it): nothing
        to account for then. Whatever the agent left running is ended with its session
        (``sessions.end_agent``); how many such leftovers there were is in ``self.ended``."""
        from . import sessions

        if not self._end(agent, sess, live, processes):
            return False
        if self.in_pane:
            new = sessions.run_again(self.project, self.server, agent, sess, self.engine_script)
            self.woken[agent.name] = self.clock()
        else:
            new = sessions.start_session(self.project, self.server, agent, self.engine_script)
        self.observer.started(agent, new, self.clock())
        self.restarted = True
        return True

    def _end(self, agent: Agent, sess, live: dict | None = None, processes: dict | None = None) -> bool:
        """What ``_restart`` does before its start: ``sess`` and what the agent left ended
        (how many leftovers in ``self.ended``), unless the session changed meanwhile (False).
        A session whose keeper waits is kept (``self.in_pane``, see ``sessions.in_place``): its
        agent runs again in it."""
        from . import sessions

        self.ended = 0
        live = self.server.sessions() if live is None else live
        current = live.get(self.project.session_name(agent))
        if (current.id if current else None) != (sess.id if sess else None):
            return False
        self.in_pane = current is not None and sessions.in_place(self.project, agent, current)
        keeper = current.first_pane.pid if self.in_pane and current is not None and current.first_pane else 0
        self.ended = sessions.end_agent(self.project, self.server, agent, None if self.in_pane else sess, processes,
                                        keeper)
        self.screens.pop(agent.name, None)
        self.screens.pop(agent.name + "\0nudge", None)
        return True

    def _agent_pid(self, agent: Agent, pane, fresh: set) -> int | None:
        """The pid of the agent in ``pane`` (alive): its pane process, or the agent its keeper
        runs (``procs.kept_agent``); None while a keeper has no agent (it is starting one).
        Known without reading /proc while the agent's pidfd did not fire (``fresh``)."""
        kept = self.kept.get(agent.name)
        held = self.pidfds.get(agent.name)
        if kept is not None and kept[0] == pane.pid and held is not None and held[0] == kept[1] and \
                agent.name in fresh:
            return kept[1]
        pid = kept_agent(pane.pid)
        if pid is None or pid == pane.pid:  # only a keeper's child is kept: a pane process may become a keeper
            self.kept.pop(agent.name, None)
        else:
            self.kept[agent.name] = (pane.pid, pid)
        return pid

    @staticmethod
    def _stopped(pane) -> int | None:
        """The agent a waiting keeper still has (stopped by SIGSTOP: alive, left as it is, never
        nudged: its keeper, not it, would read the keys; the keeper gives it the foreground back
        once it is continued), by pid."""
        left = waiting_agent(pane.pid)
        return left.pid if left is not None else None

    def _watch_pid(self, agent: Agent, pid: int) -> bool:
        """Hold a pidfd for the agent's process; False when none could be opened."""
        return self._hold(agent.name, pid)

    def _hold(self, name: str, pid: int) -> bool:
        current = self.pidfds.get(name)
        if current and current[0] == pid:
            return True
        self._unwatch(name)
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            return False
        self.pidfds[name] = (pid, fd)
        self.poller.register(fd, select.POLLIN)
        return True

    def _unwatch(self, name: str) -> None:
        current = self.pidfds.pop(name, None)
        if current:
            self.poller.unregister(current[1])
            os.close(current[1])

    def _lives(self, agent: Agent, pid: int, fresh: set) -> bool:
        """Whether the pane process ``pid`` lives: known without a syscall when its pidfd did
        not fire in the wait just before this pass (``fresh``)."""
        held = self.pidfds.get(agent.name)
        return (held is not None and held[0] == pid and agent.name in fresh) or _alive(pid)

    def reload(self) -> list:
        """Read agents.toml again if it changed since it was last read (its stat). A valid
        file replaces the project: an agent added is watched from now on, one removed no
        longer (event ``reload``). An invalid one leaves the project as it was, with one
        ``error`` event per state of the file (not one per pass). Returns the events."""
        stamp = config_stamp(self.project.config_path)
        if stamp == self.stamp:
            return []
        self.stamp = stamp
        old = self.project
        try:
            new = load(old.config_path)
            if new.state_dir != old.state_dir:
                raise OrchestratorError("state_dir changed to %s: the watchdog's lock is in %s; restart the watchdog"
                                        % (new.state_dir, old.state_dir))
            for what in ("session_prefix", "tmux_socket"):  # which sessions are the agents': not while watching
                if getattr(new, what) != getattr(old, what):
                    raise OrchestratorError("%s changed from %r to %r: the running agents are in the old sessions; "
                                            "run down with the old config, then up (or restart the watchdog)"
                                            % (what, getattr(old, what), getattr(new, what)))
        except OrchestratorError as exc:
            lines = str(exc).splitlines() or [type(exc).__name__]
            more = " (and %d more)" % (len(lines) - 1) if len(lines) > 1 else ""
            return [event(old, "watchdog", "error", "not reloaded: %s%s" % (lines[0], more),
                          "keeping the config read before")]
        before = {a.name: a for a in old.agents}
        after = {a.name: a for a in new.agents}
        added = [n for n in after if n not in before]
        removed = [n for n in before if n not in after]
        changed = [n for n in after if n in before and after[n] != before[n]]
        self.project = new
        self.observer.reload(new)
        keep = {a.name for a in watched(new)}
        for name in [n for n in self.pidfds if n not in keep and n != _GUARD]:
            self._unwatch(name)
        for name in removed:
            self.next_try.pop(name, None)
            self.started.pop(name, None)
            self.screens.pop(name, None)
            self.screens.pop(name + "\0nudge", None)
            self.kept.pop(name, None)
            self.settle_since.pop(name, None)
        what = "; ".join("%s %s" % (verb, ", ".join(names)) for verb, names in
                         (("added", added), ("removed", removed), ("changed", changed)) if names)
        return [event(new, "watchdog", "reload", "%s changed" % new.config_path, what or "no agent changed",
                      added=added, removed=removed, changed=changed, watching=len(keep))]

    def check(self, now: float | None = None) -> list:
        """One pass over the watched agents (agents.toml read again first if it changed);
        heals what needs healing. Returns the events."""
        now = self.clock() if now is None else now
        self.checked = now
        self.overdue = {n: t for n, t in self.next_try.items() if t <= now}
        fresh, self.fresh = self.fresh, set()  # only the wait just before this pass vouches for a process
        self.quiet = self.restarted = self.settling = False
        try:
            out = self.reload()
        except (OrchestratorError, OSError):  # not even the event log is writable: watch on
            out = []
        try:
            live = self.server.sessions()
        except OrchestratorError as exc:
            return out + self._error("watchdog", str(exc).splitlines()[0])
        self.errors.pop("watchdog", None)
        from .sessions import owner_of

        owner = owner_of(self.project)
        out += self._observe(live, owner, now)
        quiet = self.observer.settled
        dead = []
        down = set()  # the dead agents to restart, now or at their deadline (a backoff, RESTART_SPACING)
        for agent in watched(self.project):
            name = self.project.session_name(agent)
            sess = live.get(name)
            # another config's agent, or a hand-run one (untagged, as down leaves it without --adopt):
            # not ours to heal, nudge or answer
            if sess is not None and (sess.foreign_to(owner) or not sess.tagged):
                self._unwatch(agent.name)
                continue
            pane = sess.first_pane if sess else None
            pid = self._agent_pid(agent, pane, fresh) if pane is not None and not pane.dead else \
                self._stopped(pane) if pane is not None and pane.waiting else None
            if pid is not None and self._lives(agent, pid, fresh):
                self.settle_since.pop(agent.name, None)
                self.woken.pop(agent.name, None)
                self.unread.pop(agent.name, None)
                quiet = self._watch_pid(agent, pid) and quiet  # no pidfd: only a read tells its death
                if agent.watch == "heal+stall" and pane is not None and not pane.waiting and self._may_stall(agent) and \
                        not leave_alone(self.project, agent) and not self._between_iterations(agent):
                    quiet = False  # stalls are judged by reading its pane
                    out.extend(self._guard(agent, self._stall, agent, sess, pane, now))
                continue
            self._unwatch(agent.name)
            # its keeper has not begun to wait (or to run it) yet, or was just told to run it
            woken = pane is not None and pane.waiting and (now - self.woken.get(agent.name, -SETTLE) < SETTLE
                                                           or now - (sess.created if sess else 0) < 2.0)
            if pane is not None and (not pane.dead or woken):
                since = self.settle_since.setdefault(agent.name, now)
                self.settling = self.settling or now - since < SETTLE
                if now - since >= SETTLE and not woken:
                    out.extend(self._error(agent.name, "cannot tell the agent its keeper (pid %d) runs" % pane.pid,
                                           "looking again every %gs" % self.poll))
                quiet = False
                continue
            self.settle_since.pop(agent.name, None)
            if leave_alone(self.project, agent):
                # the operator's now: a reset or up starts afresh, not judged against our last start
                self.started.pop(agent.name, None)
                continue
            down.add(agent.name)
            if self.next_try.get(agent.name, 0) <= now:
                dead.append((agent, sess))
        # A restart still to come is dropped once its agent runs again, is left alone (down,
        # disabled) or is no longer watched: a deadline left behind would shorten every wait.
        self.next_try = {n: t for n, t in self.next_try.items() if n in down}
        if dead:
            out.extend(self._heal_all(dead, now))
        self.quiet = quiet and not dead and not self.errors
        return out

    def _observe(self, live: dict, owner: Owner, now: float) -> list:
        """Classify the agents that have a profile (observe.py); a failure is an event."""
        try:
            return self.observer.observe(live, owner, now)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # bad data must not end the watchdog
            try:
                return [event(self.project, "watchdog", "error", "observing: %s" % str(exc).splitlines()[0],
                              "will retry")]
            except OrchestratorError:
                return []

    def _may_stall(self, agent: Agent) -> bool:
        """Whether the agent can be stalled now. An agent whose profile classifies it can
        stall only while it is working: idle at its prompt is healthy, blocked on a dialog
        waits for an operator, and a batch run (``claude -p``) has no screen to judge. A loop
        iteration is never stalled for its silence alone: without a profile, not at all."""
        if not self.observer.classifies(agent):
            return agent.kind != "loop"  # no profile: stalls are judged by output alone, as always
        current = self.observer.current(agent)
        if self.observer.batch(agent) or current is None or current.state != WORKING:
            self.screens.pop(agent.name, None)
            if current is not None and agent.name not in self.calm:
                self.calm.add(agent.name)
                self._calmed(agent, current.label)
            return False
        self.calm.discard(agent.name)
        return True

    def _calmed(self, agent: Agent, label: str) -> None:
        """A STALLED agent that is no longer working (idle, blocked) is not stalled."""
        watch = read_watch(self.project, agent)
        if watch.get("state") != "STALLED":
            return
        watch["state"] = "ok"
        watch.pop("nudged", None)
        self.screens.pop(agent.name + "\0nudge", None)
        write_watch(self.project, agent, watch)
        event(self.project, agent.name, "recovered", "no longer working: %s" % label, "ok")

    def _unready_fatal(self, agent: Agent, watch: dict, uptime: float | None = None) -> dict | None:
        """Count restarts of an agent that never got to work (never seen working or idle
        since its start) within ``fatal_window`` of that start; ``fatal_after`` of them in a
        row make it FATAL. None: restart. (A run longer than that counts as having worked:
        a profile that stopped matching a new CLI version must not kill a working agent.)"""
        if not self.observer.classifies(agent) or self.observer.batch(agent):
            return None
        heal = agent.healing or WatchSettings()
        ready = self.observer.was_ready(agent) or (uptime is not None and uptime > heal.fatal_window)
        count = 0 if ready else watch.get("unready", 0) + 1
        watch["unready"] = count
        limit = (agent.healing or WatchSettings()).fatal_after
        if count < limit:
            return None
        return self._fatal(agent, watch, "restarted %d times without ever reaching working or idle" % count)

    def _fatal(self, agent: Agent, watch: dict, reason: str) -> dict:
        """Record ``agent`` FATAL; its event. Its last start is forgotten: what an operator
        does next (a reset, an up) starts afresh, not judged against that start."""
        self.started.pop(agent.name, None)
        watch["state"] = "FATAL"
        write_watch(self.project, agent, watch)
        return event(self.project, agent.name, "fatal", reason, "not restarted until reset")

    def _between_iterations(self, agent: Agent) -> bool:
        """A loop agent waiting for its next iteration is quiet on purpose."""
        if agent.kind != "loop":
            return False
        run = read_run(self.project, agent)
        return bool(run and run.get("ended"))

    def _guard(self, agent: Agent, step, *args) -> list:
        """Run one agent's step; a failure is an event, never the end of the watchdog."""
        try:
            out = step(*args)
        except (OrchestratorError, OSError) as exc:
            return self._error(agent.name, str(exc).splitlines()[0])
        self.errors.pop(agent.name, None)
        return out

    def _heal_all(self, dead: list, now: float) -> list:
        """Heal every agent found dead in one pass: one lock, one read of the server, then
        each agent's decision and the end of its dead session (``_heal``), then the starts of
        all those to restart at once (``_start_all``: a mass death heals in a few tmux calls)."""
        out: list = []
        try:
            with self._locked():
                live = self.server.sessions()
                processes = read_table() if len(dead) > 1 else None  # one read of /proc for them all
                due: list = []
                for agent, sess in dead:
                    try:
                        events = self._heal(agent, sess, now, live, processes, due)
                    except (OrchestratorError, OSError) as exc:
                        out.extend(self._error(agent.name, str(exc).splitlines()[0]))
                        continue
                    if not due or due[-1][0] is not agent:  # done with (its start clears its error)
                        self.errors.pop(agent.name, None)
                    out.extend(events)
                out.extend(self._start_all(due))
        except OrchestratorError as exc:
            out.extend(self._error("watchdog", str(exc).splitlines()[0]))
        return out

    def _start_all(self, due: list) -> list:
        """Start the agents ``_heal`` ended, ``(agent, sess, watch, ended)`` each, in one batch
        (``sessions.start_sessions``); then each one's bookkeeping and event, or its error."""
        from . import sessions

        if not due:
            return []
        out: list = []
        # Those whose keeper waits: their files written first, then every keeper told in one burst (the
        # restarts it wakes compete for the CPU with this process: none runs before all are told).
        project, server, script = self.project, self.server, self.engine_script
        results: list = [_caught(sessions.prepare_again, project, server, d[0], d[1], script) if d[4] else None
                         for d in due]
        for index, (agent, sess, watch, _ended, in_pane) in enumerate(due):
            if in_pane and not isinstance(results[index], OrchestratorError):
                results[index] = _caught(sessions.wake, project, agent, sess)
                now = self.clock()
                if not isinstance(results[index], OrchestratorError):
                    self.woken[agent.name] = now
                    self.unread.pop(agent.name, None)
                elif now - self.unread.setdefault(agent.name, now) < SETTLE:  # its FIFO not read yet: soon again
                    self.next_try[agent.name] = now + SETTLE_POLL
                    results[index] = None
                    with contextlib.suppress(OrchestratorError, OSError):  # its death judged: on record meanwhile
                        write_watch(project, agent, watch)
        fresh = [i for i, d in enumerate(due) if not d[4]]
        started = sessions.start_sessions(self.project, self.server, [due[i][0] for i in fresh],
                                          self.engine_script) if fresh else []
        for index, result in zip(fresh, started):
            results[index] = result
        self.restarted = self.restarted or any(r is not None and not isinstance(r, OrchestratorError) for r in results)
        for (agent, sess, watch, ended, in_pane), result in zip(due, results):
            if result is None:  # to be tried again (next_try), its death already judged
                continue
            if isinstance(result, OrchestratorError):
                out.extend(self._error(agent.name, str(result).splitlines()[0]))
                continue
            out.extend(self._guard(agent, self._healed, agent, sess, watch, ended, result, in_pane))
        return out

    def _healed(self, agent: Agent, sess, watch: dict, ended: int, new: str, in_pane: bool = False) -> list:
        """The bookkeeping of an agent restarted as session ``new`` (``in_pane``: in the
        session it had, by its keeper); its event."""
        self.observer.started(agent, new, self.clock())
        watch.update(state="ok", last_start=self.clock(), restarts=watch.get("restarts", 0) + 1)
        watch.pop("next_try", None)
        self.started[agent.name] = watch["last_start"]
        write_watch(self.project, agent, watch)
        return [event(self.project, agent.name, "heal", "session gone" if sess is None else "process gone",
                      "restarted", restarts=watch["restarts"], ended=ended, in_pane=in_pane)]

    def _heal(self, agent: Agent, sess, now: float, live: dict, processes: dict | None, due: list) -> list:
        """One dead agent; the caller holds the lock and read ``live`` under it. An agent to
        restart is ended (``_end``) and put in ``due``, for the caller to start (``_start_all``)."""
        project = self.project
        heal = agent.healing or WatchSettings()  # every watched agent has them
        pending = self.next_try.pop(agent.name, None)
        if leave_alone(project, agent):  # an operator acted since the check
            return []
        from .sessions import ended

        first, current = (sess.first_pane if sess else None), live.get(project.session_name(agent))
        if first is not None and first.waiting and current is not None and current.id == sess.id and \
                not ended(current):  # seen ended, but its keeper runs it again (or it was only stopped) by now
            if pending is not None:
                self.next_try[agent.name] = pending
            return []
        watch = read_watch(project, agent)
        if pending is None:  # a new death: account for it
            # its last start: the latest not after now (a clock stepped back) of this watchdog's
            # (also when the watch file could not keep it), the one on record and its session's
            # (an up clears the record; tmux's is whole seconds)
            starts = (self.started.get(agent.name, 0), watch.get("last_start") or 0, sess.created if sess else 0)
            started = max((t for t in starts if t <= now), default=0)
            verdict = judge_death(heal, watch.get("failures", []), started, now, self.jitter())
            watch["failures"] = list(verdict.failures)
            if verdict.action != RESTART:
                return [self._hold_back(agent, watch, verdict, now)]
            fatal = self._unready_fatal(agent, watch, verdict.uptime)
            if fatal is not None:
                return [fatal]
            if verdict.delay:  # it died as it started (RESTART_SPACING): its restart waits, status says BACKOFF
                self._defer(agent, watch, now + verdict.delay)
                return []
        if self._end(agent, sess, live, processes):
            due.append((agent, sess, watch, self.ended, self.in_pane))
        return []

    def _hold_back(self, agent: Agent, watch: dict, verdict: Verdict, now: float) -> dict:
        """Record a FATAL or BACKOFF verdict; its event."""
        project = self.project
        count = len(verdict.failures)
        if verdict.action == FATAL:
            window = (agent.healing or WatchSettings()).fatal_window
            return self._fatal(agent, watch, "%d quick deaths within %ss" % (count, window))
        self._defer(agent, watch, now + verdict.delay)
        return event(project, agent.name, "backoff", "died %.1fs after start (%d quick deaths)"
                     % (verdict.uptime or 0, count), "restart in %.1fs" % verdict.delay)

    def _defer(self, agent: Agent, watch: dict, until: float) -> None:
        """Restart ``agent`` at ``until`` (the watchdog's clock), not now: kept in memory
        first (the deadline holds even when the watch file cannot be written), then on record
        as BACKOFF, which status shows."""
        self.next_try[agent.name] = until
        watch["state"] = "BACKOFF"
        watch["next_try"] = until
        write_watch(self.project, agent, watch)

    def _screen(self, pane, agent: Agent | None = None) -> str:
        """The pane's text with what merely animates (spinner glyphs, counters) taken out,
        plus what the agent's profile calls progress (a token count)."""
        text = self.server.capture_pane(pane.id)
        progress = self.observer.profile(agent).progress_of(text) if agent is not None else ""
        return without_animation(text) + ("\0" + progress if progress else "")

    def _stall(self, agent: Agent, sess, pane, now: float) -> list:
        """Stall detection for heal+stall agents: no pane output for ``stall_after`` seconds
        (tmux's window_activity), or a screen that only animates (its text, less spinner
        glyphs and digits, unchanged that long). After ``stall_grace`` from each start, a
        stalled agent is nudged (``nudge`` text, then Enter); if its screen has not changed
        ``nudge_wait`` seconds later (the echo of the nudge itself does not count), it is
        restarted."""
        project = self.project
        heal = agent.healing or WatchSettings()  # every watched agent has them
        watch = read_watch(project, agent)
        if watch.get("state") == "STALLED":
            return self._stalled(agent, sess, pane, now, watch)
        started = max(watch.get("last_start") or 0, sess.created)
        if now - started < heal.stall_grace:
            return []
        quiet_since = max(pane.activity or started, started)
        if now - quiet_since < heal.stall_after:
            # output lately: real, or only a spinner? compare the screen less animation
            seen = self.screens.get(agent.name)
            if seen is None or now - seen[2] >= min(heal.stall_after / 3.0, 10.0):
                screen = self._screen(pane, agent)
                seen = (screen, now, now) if seen is None or screen != seen[0] else (seen[0], seen[1], now)
                self.screens[agent.name] = seen
            quiet_since = max(seen[1], started)
        if now - quiet_since < heal.stall_after:
            return []
        self.calm.discard(agent.name)
        watch.update(state="STALLED", nudged=now)
        self.screens.pop(agent.name + "\0nudge", None)
        write_watch(project, agent, watch)
        self._nudge(agent, pane)
        return [event(project, agent.name, "stall", "no output for %.0fs" % (now - quiet_since),
                      "nudged with %r" % heal.nudge)]

    def _stalled(self, agent: Agent, sess, pane, now: float, watch: dict) -> list:
        project = self.project
        if "nudged" not in watch:  # a STALLED record without its nudge time (ignored as bad): from now
            watch["nudged"] = now
            write_watch(project, agent, watch)
        settle = watch["nudged"] + 2.0  # the nudge's own echo lands on the screen first
        if now < settle:
            return []
        screen = self._screen(pane, agent)
        baseline = self.screens.get(agent.name + "\0nudge")
        if baseline is None:
            self.screens[agent.name + "\0nudge"] = screen
            return []
        if screen != baseline:
            self.screens.pop(agent.name + "\0nudge", None)
            self.screens.pop(agent.name, None)
            watch["state"] = "ok"
            watch.pop("nudged", None)
            write_watch(project, agent, watch)
            return [event(project, agent.name, "recovered", "new output after the nudge", "ok")]
        waited = now - watch["nudged"]
        if waited < (agent.healing or WatchSettings()).nudge_wait:
            return []
        with self._locked():
            if leave_alone(project, agent):  # an operator acted meanwhile
                return []
            watch = read_watch(project, agent)
            fatal = self._unready_fatal(agent, watch)
            if fatal is not None:
                return [fatal]
            if not self._restart(agent, sess):
                return []
            watch.update(state="ok", last_start=self.clock(), restarts=watch.get("restarts", 0) + 1)
            watch.pop("nudged", None)
            self.started[agent.name] = watch["last_start"]
            write_watch(project, agent, watch)
        return [event(project, agent.name, "stall", "no new output %.0fs after the nudge" % waited, "restarted",
                      restarts=watch["restarts"])]

    def _nudge(self, agent: Agent, pane) -> None:
        self.server.send_keys(pane.id, (agent.healing or WatchSettings()).nudge)

    def _keep_guard(self) -> None:
        """Start the guard again when it is gone (every ``GUARD_EVERY`` seconds)."""
        if not self.guarded or time.monotonic() - self.guard_seen < GUARD_EVERY:
            return
        first = self.guard_seen == float("-inf")  # its first guard comes with its own start event
        self.guard_seen = time.monotonic()
        try:
            pid = start_guard(self.project, self.server, self.engine_script)
            if pid is not None and not first:  # the cutover's evidence tells a new guard's lock by it
                event(self.project, "watchdog", "guard", "no guard running", "started its guard, pid %d" % pid)
        except OSError as exc:
            self._error("watchdog", "cannot start its guard: %s" % (exc.strerror or exc))
            return
        pid = pid or lock_holder(StateLayout.of(self.project).guard_lock)
        if pid:  # its death wakes the watchdog, which starts it again at once
            self._hold(_GUARD, pid)

    def wait(self) -> None:
        """Sleep until a pidfd fires (a death), a backoff's deadline, or ``poll`` seconds
        (``quiet_poll`` after a quiet pass; not at all after a pass that started agents: the
        next one reads their new pane processes and holds pidfds on them, so one that dies
        right after its restart is seen at once, not a ``poll`` later; ``RESTART_SPACING``
        keeps one that dies as it starts from a tight loop). A deadline that was already due
        when the last pass began and is still here, unchanged (``overdue``), was not served (the
        server could not be read, the lock not taken): it is tried again ``poll`` seconds after
        that pass, not in a spin; one set by that pass, even for its very ``now``, comes at once.
        The agents whose pidfd did not fire are alive: the next pass need not ask
        (``fresh``)."""
        timeout = 0.0 if self.restarted else SETTLE_POLL if self.settling else \
            self.quiet_poll if self.quiet else self.poll
        if self.next_try:
            soonest = min(self.checked + self.poll if self.overdue.get(n) == t else t for n, t in self.next_try.items())
            timeout = max(0.0, min(timeout, soonest - self.clock()))
        ready = {fd for fd, _event in self.poller.poll(timeout * 1000)}
        self.fresh = {name for name, (_pid, fd) in self.pidfds.items() if fd not in ready}
        if _GUARD in self.pidfds and _GUARD not in self.fresh:  # the guard died: look at it now
            self._unwatch(_GUARD)
            self.guard_seen = min(self.guard_seen, time.monotonic() - GUARD_EVERY)

    def run(self, iterations: int = 0) -> None:
        """Watch until killed (or for ``iterations`` passes, for tests)."""
        done = 0
        while not iterations or done < iterations:
            try:
                self.check()
                self._keep_guard()
            except Exception as exc:  # pylint: disable=broad-exception-caught  # nothing may end the watchdog
                self._error("watchdog", "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""))
            done += 1
            if iterations and done >= iterations:
                break
            self.wait()


LOCK_TRIES = 10  # tries 0.1 s apart before a watchdog finds another one watching


def main(project: Project, server: TmuxServer, poll: float = 2.0, engine_script: str = "") -> int:
    with contextlib.ExitStack() as held:
        for attempt in range(LOCK_TRIES):  # a guard's probe holds the lock for an instant: look again
            try:
                held.enter_context(locked(StateLayout.of(project).watchdog_lock, wait=False))
                break
            except LockBusy as exc:
                if attempt == LOCK_TRIES - 1:
                    raise AlreadyRunning("another watchdog (pid %s) already watches %s; refusing to start a second "
                                         "one" % (exc.holder, project.name)) from None
                time.sleep(0.1)
        event(project, "watchdog", "start", "pid %d" % os.getpid(), "watching %d agent(s)" % len(watched(project)))
        dog = Watchdog(project, server, poll, engine_script)
        dog.guarded = in_own_session(project)
        dog.run()
    return 0


# The watchdog's own supervision, without systemd. The watchdog runs as its session's program
# (``exec``): killed (kill -9) or with its session killed, its session is gone either way. Its
# guard, a small process of its own (``agents.py watchdog-guard``, in a session and process
# group of its own, so a kill-session or a hangup does not reach it), sees the watchdog's lock
# free and its session gone, and starts the session again exactly as ``up`` does, under the
# project's lock. The watchdog in turn starts its guard again when the guard's lock is free (a
# killed guard). An operator's intent wins: the guard exits when the watchdog agent is stopped
# (``down`` leaves its marker before killing), disabled or gone from agents.toml, when
# agents.toml is gone, or when no session of the project is left (the server was killed: the
# guard never starts a tmux server). A foreground watchdog (an operator's, a service manager's)
# has no guard.
GUARD_VERB = "watchdog-guard"
GUARD_EVERY = 5.0  # seconds between the watchdog's looks at its guard
GUARD_QUIET = 5.0  # seconds between the guard's looks while the watchdog's death would wake it


def watchdog_agent(project: Project) -> Agent | None:
    """The project's builtin watchdog agent, if it has one."""
    return next((a for a in project.agents if a.builtin == "watchdog"), None)


def in_own_session(project: Project, environ: dict | None = None) -> bool:
    """Whether this process is the watchdog ``up`` started in its session (its identity)."""
    env = os.environ if environ is None else environ
    agent = watchdog_agent(project)
    return agent is not None and env.get("AGENTLOOPS_AGENT") == agent.name and \
        env.get("AGENTLOOPS_CONFIG") == project.config_path


def guard_argv(project: Project, server: TmuxServer, engine_script: str) -> list[str]:
    """The guard's command line: this engine's agents.py, the same config and server."""
    import sys

    from .layout import engine_script_for

    return [sys.executable, engine_script_for(project.root, engine_script), "--config", project.config_path,
            "--tmux-socket", server.socket, GUARD_VERB]


def start_guard(project: Project, server: TmuxServer, engine_script: str) -> int | None:
    """Start the watchdog's guard when none runs (its lock is free); its pid, else None. It
    carries the watchdog's environment but not its agent identity: ``down`` does not count
    it as a leftover of the watchdog (it leaves by itself, see above)."""
    import subprocess

    if not lock_free(StateLayout.of(project).guard_lock):
        return None
    env = {k: v for k, v in os.environ.items() if k != "AGENTLOOPS_AGENT"}
    proc = subprocess.Popen(guard_argv(project, server, engine_script), cwd=project.root, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    return proc.pid


class Guard:
    """The watchdog's guard (see above); ``clock`` and ``sleep`` are there for tests."""

    def __init__(self, project: Project, server: TmuxServer, engine_script: str = "", poll: float = 0.5,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 quiet: float = GUARD_QUIET) -> None:
        self.project = project
        self.server = server
        self.engine_script = engine_script
        self.poll = poll
        self.quiet = max(poll, quiet)
        self.clock = clock
        self.sleep = sleep
        self.stamp = config_stamp(project.config_path)
        self.free_since: float | None = None
        self.restarts: list[float] = []

    def _reload(self) -> bool:
        """agents.toml read again when it changed; False when it is gone."""
        stamp = config_stamp(self.project.config_path)
        if stamp is None:
            return False
        if stamp != self.stamp:
            self.stamp = stamp
            with contextlib.suppress(OrchestratorError):
                self.project = load(self.project.config_path)
        return True

    def delay(self, now: float) -> float:
        """How long the lock must be free before a restart: 1 s, then doubling for each
        restart within the last minute (a watchdog that dies at once), at most 30 s."""
        self.restarts = [t for t in self.restarts if now - t < 60.0]
        return min(30.0, 2.0 ** len(self.restarts))

    def step(self) -> bool:
        """One look; False when the guard's work is over."""
        if not self._reload():
            return False
        project = self.project
        agent = watchdog_agent(project)
        if agent is None or not agent.enabled or is_stopped(project, agent):
            return False
        layout = StateLayout.of(project)
        if not lock_free(layout.watchdog_lock):
            self.free_since = None
            return True
        now = self.clock()
        if self.free_since is None:
            self.free_since = now
        if now - self.free_since < self.delay(now):
            return True
        from . import sessions

        with locked(layout.engine_lock):
            if is_stopped(project, agent) or not lock_free(layout.watchdog_lock):  # an operator, or up, acted
                self.free_since = None
                return True
            live = self.server.sessions()
            name = project.session_name(agent)
            others = [n for n in live if n != name and n in {project.session_name(a) for a in project.agents}]
            if not others:  # the server is gone (or everything else is down): nothing to guard
                return False
            sess = live.get(name)
            if sess is not None and (sess.foreign_to(sessions.owner_of(project)) or
                                     (sess.first_pane is not None and not sess.first_pane.dead)):
                return True  # another config's, or a watchdog still starting up
            sessions.end_agent(project, self.server, agent, sess)
            sessions.start_session(project, self.server, agent, self.engine_script)
        self.restarts.append(now)
        self.free_since = None
        event(project, agent.name, "heal", "watchdog gone (its lock free, %s)" % (
            "no session" if sess is None else "its pane dead"), "restarted by its guard", restarts=len(self.restarts))
        return True

    def rest(self) -> None:
        """Until the next look. While a watchdog holds its lock: until that process dies (a
        pidfd on the pid it wrote in the lock) or ``quiet`` seconds pass (the exit rules:
        agents.toml gone, the watchdog agent stopped, disabled or removed, are seen within
        that); otherwise ``poll`` seconds (the lock free, or its holder not known yet)."""
        pid = lock_holder(StateLayout.of(self.project).watchdog_lock) if self.free_since is None else None
        try:
            fd = os.pidfd_open(pid) if pid else None
        except OSError:
            fd = None
        if fd is None:
            self.sleep(self.poll)
            return
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            poller.poll(self.quiet * 1000)
        finally:
            os.close(fd)

    def run(self) -> None:
        while True:
            try:
                if not self.step():
                    return
            except (OrchestratorError, OSError) as exc:
                with contextlib.suppress(OrchestratorError):
                    event(self.project, "watchdog", "error", "guard: %s" % str(exc).splitlines()[0], "will retry")
            self.rest()


def guard_main(project: Project, server: TmuxServer, engine_script: str = "") -> int:
    """``agents.py watchdog-guard``: guard the project's watchdog (one guard per project:
    a second exits 3)."""
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(locked(StateLayout.of(project).guard_lock, wait=False))
        except LockBusy as exc:
            raise AlreadyRunning("another guard (pid %s) already guards the watchdog of %s"
                                 % (exc.holder, project.name)) from None
        Guard(project, server, engine_script).run()
    return 0


def reset(project: Project, agent: Agent) -> bool:
    """Clear an agent's FATAL/BACKOFF bookkeeping (and a loop's own FATAL) so the watchdog
    heals it again."""
    cleared = clear_watch(project, agent)
    cleared = clear_fatal(project, agent) or cleared
    event(project, agent.name, "reset", "operator", "cleared" if cleared else "nothing to clear")
    return cleared
