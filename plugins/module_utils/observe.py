# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each agent is doing, by its profile: the watchdog's eyes.

Every pass, the ``Observer`` classifies the panes of the project's agents whose profile
knows states (profiles.py): it captures, in ONE tmux call, only the panes whose output or
title changed since it last looked (tmux's activity is in whole seconds: output in the
second of the last look is looked at once more; and every pane at least every ``RECHECK``
seconds),
classifies each as working, idle, blocked on a named dialog, or starting, and publishes
the result on the session (``@agentloops_state``: ``<state> <since> <seen>``), where status
reads it with its one ``list-panes`` call. Publishing is one tmux call for every change,
and every agent's state is confirmed at least every ``status.PUBLISH_EVERY`` seconds.

It never types blindly: the only keys it ever sends answer a dialog for which the operator
configured an answer (``answers = { trust = "accept" }``), once per appearance of that
dialog, after it has been on screen for ``SETTLE`` seconds. A blocked agent raises one event.
A CLI run in batch mode (``claude -p``, ``codex exec``) has no screen to read: it is working
while its program is the pane's command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .config import Agent, Project
from .profiles import BLOCKED, IDLE, STARTING, UNKNOWN, WORKING, Observation, Profile
from .status import PUBLISH_EVERY, parse_state
from .tmux import STATE_OPTION, Owner, TmuxServer

RECHECK = 60.0  # look again at a pane this often even without new output (a safety net: see unseen)
SETTLE = 1.0  # a dialog on screen this long may be answered (keys sent sooner can be lost)


@dataclass(slots=True)
class Seen:
    """What the observer remembers of one agent's current session."""

    session_id: str
    label: str = ""
    since: float = 0.0
    published: float = 0.0
    activity: int = -1
    title: str = ""
    looked: float = 0.0
    ready: bool = False  # seen working or idle since this session started
    screen: str = ""
    answered: str = ""  # the dialog answered in its current appearance


class Observer:
    def __init__(self, project: Project, server: TmuxServer, event: Callable[..., dict]) -> None:
        self.project = project
        self.server = server
        self.event = event
        self.seen: dict[str, Seen] = {}
        self.gone: dict[str, bool] = {}  # agents whose session went away: whether it had got ready
        self._profiles: dict[str, Profile] = {}
        self._batch: dict[str, bool] = {}
        self._broken: set[str] = set()  # profile files reported as broken
        self.settled = False  # the last pass saw every observed agent idle, with nothing left to look at

    def reload(self, project: Project) -> None:
        self.project = project
        self._profiles.clear()
        self._batch.clear()
        names = {a.name for a in project.agents}
        for name in [n for n in self.seen if n not in names]:
            del self.seen[name]

    def profile(self, agent: Agent) -> Profile:
        if agent.name not in self._profiles:
            self._profiles[agent.name] = self.project.profile_of(agent)
        return self._profiles[agent.name]

    def classifies(self, agent: Agent) -> bool:
        return not agent.is_service and self.profile(agent).knows_states

    def batch(self, agent: Agent) -> bool:
        """Whether the agent's CLI runs in batch mode (no screen: working while it lives)."""
        if agent.name not in self._batch:
            self._batch[agent.name] = runs_batch(self.project, agent, self.profile(agent))
        return self._batch[agent.name]

    def current(self, agent: Agent) -> Observation | None:
        """The agent's state as last classified (None when it is not classified)."""
        seen = self.seen.get(agent.name)
        return Observation.from_label(seen.label) if seen and seen.label else None

    def was_ready(self, agent: Agent) -> bool:
        """Whether the agent's last session was ever seen working or idle."""
        seen = self.seen.get(agent.name)
        return seen.ready if seen is not None else self.gone.get(agent.name, False)

    def started(self, agent: Agent, session_id: str, now: float) -> None:
        """The watchdog started a new session of the agent."""
        self.gone.pop(agent.name, None)
        self.seen[agent.name] = Seen(session_id, since=now)

    def _forget(self, name: str) -> None:
        seen = self.seen.pop(name, None)
        if seen is not None:
            self.gone[name] = seen.ready

    def broken_profiles(self) -> list:
        """One event for each shipped profile file that did not load."""
        from .profiles import BROKEN

        out = []
        for path, problem in sorted(BROKEN.items()):
            if path not in self._broken:
                self._broken.add(path)
                out.append(self.event(self.project, "watchdog", "error", "profile not loaded: %s" % problem,
                                      "its agents are watched without a profile"))
        return out

    def observe(self, live: dict, owner: Owner | str, now: float) -> list:
        """One pass: classify, publish, answer what the operator allows. Returns events."""
        look: list = []
        here: dict[str, str] = {}  # agent -> the session id observed this pass
        candidates = [a for a in self.project.agents if self.classifies(a)]
        out: list = self.broken_profiles()
        for agent in candidates:
            sess = live.get(self.project.session_name(agent))
            pane = sess.first_pane if sess is not None else None
            if sess is None or pane is None or pane.dead or not sess.tagged or sess.foreign_to(owner):
                self._forget(agent.name)  # whether it got ready stays known (was_ready) for its heal
                continue
            here[agent.name] = sess.id
            seen = self.seen.get(agent.name)
            if seen is None or seen.session_id != sess.id:
                seen = self.seen[agent.name] = _remembered(sess, now)
            if self.batch(agent):
                running = pane.current_command in self.profile(agent).commands
                out += self._update(agent, seen, Observation(WORKING if running else ""), now)
            elif unseen(seen, pane, now) or self._answer_due(agent, seen, now):
                look.append((agent, seen, pane))
        screens = self.server.capture_panes([pane.id for _agent, _seen, pane in look]) if look else {}
        for agent, seen, pane in look:
            if pane.id not in screens:
                continue
            seen.activity, seen.title, seen.looked, seen.screen = pane.activity, pane.title, now, screens[pane.id]
            out += self._update(agent, seen, self.profile(agent).classify(pane.title, seen.screen), now)
            out += self._answer(agent, seen, pane.id, now)
        for name in [n for n in self.seen if n not in here]:
            self._forget(name)  # no longer classified (a reload changed its backend)
        self._publish(here, now)
        self.settled = all(self._settled(agent, live) for agent in candidates if agent.name in here)
        return out

    def _settled(self, agent: Agent, live: dict) -> bool:
        """Idle at its prompt, its screen seen since its last output: only new output (or
        its death) can change what it does, so the watchdog may look less often."""
        seen = self.seen[agent.name]
        pane = live[self.project.session_name(agent)].first_pane
        return seen.label.partition(":")[0] == IDLE and not self.batch(agent) and \
            pane.activity < int(seen.looked) and pane.activity == seen.activity and pane.title == seen.title

    def _update(self, agent: Agent, seen: Seen, observation: Observation, now: float) -> list:
        if observation.state in (WORKING, IDLE):
            seen.ready = True
        label = observation.label or (UNKNOWN if seen.ready else STARTING)
        if label == seen.label:
            return []
        previous, seen.label, seen.since, seen.published = seen.label, label, now, 0.0
        if observation.state != BLOCKED:
            seen.answered = ""
            if previous.startswith(BLOCKED + ":"):
                return [self.event(self.project, agent.name, "unblocked", previous.partition(":")[2], label)]
            return []
        dialog = self.profile(agent).dialog(observation.dialog)
        answer = agent.answers.get(observation.dialog, "")
        return [self.event(self.project, agent.name, "blocked", "%s: %s" % (
            observation.dialog, dialog.description if dialog else ""),
            "will answer %r (configured)" % answer if answer else "waiting for an operator", dialog=observation.dialog)]

    def _answer_due(self, agent: Agent, seen: Seen, now: float) -> bool:
        """A configured answer not given yet to a dialog on screen for ``SETTLE`` seconds: the
        pane is looked at again (a dialog shows no new output) and answered from that screen."""
        state, _sep, dialog_name = seen.label.partition(":")
        return state == BLOCKED and bool(agent.answers.get(dialog_name)) and seen.answered != dialog_name and \
            now - seen.since >= SETTLE

    def _answer(self, agent: Agent, seen: Seen, pane_id: str, now: float) -> list:
        """Answer the dialog on screen if, and only if, the operator configured an answer."""
        state, _sep, dialog_name = seen.label.partition(":")
        wanted = agent.answers.get(dialog_name, "") if state == BLOCKED else ""
        if not wanted or seen.answered == dialog_name or now - seen.since < SETTLE:
            return []
        seen.answered = dialog_name
        dialog = self.profile(agent).dialog(dialog_name)
        answer = dialog.answers.get(wanted) if dialog else None
        keys = self.profile(agent).answer_keys(answer, seen.screen) if answer else []
        if not keys:
            return [self.event(self.project, agent.name, "answer", dialog_name,
                               "not answered: %r is not on the screen" % wanted)]
        self.server.press(pane_id, keys)
        seen.looked = 0.0  # look again next pass
        return [self.event(self.project, agent.name, "answer", dialog_name, "answered %r (%s)" % (
            wanted, " ".join(keys)))]

    def _publish(self, here: dict[str, str], now: float) -> None:
        """Set the state of the sessions observed in this pass, by their ids (so a session of
        the same name started meanwhile, or another config's, is never written)."""
        values = []
        for name, session_id in here.items():
            seen = self.seen.get(name)
            if seen is not None and seen.session_id == session_id and seen.label and \
                    (not seen.published or now - seen.published >= PUBLISH_EVERY):
                seen.published = now
                values.append((session_id, STATE_OPTION, "%s %d %d" % (seen.label, seen.since, now)))
        if values:
            self.server.set_session_options(values)


def unseen(seen: Seen, pane, now: float) -> bool:
    """Whether the pane may show what the observer has not seen: never classified, new
    output or title since its last look, output in the second of that look (tmux's
    ``window_activity`` is in whole seconds: it may have come just after it), or not looked
    at for ``RECHECK`` seconds."""
    return not seen.label or pane.activity != seen.activity or pane.title != seen.title or \
        pane.activity >= int(seen.looked) or now - seen.looked >= RECHECK


def runs_batch(project: Project, agent: Agent, profile: Profile | None = None) -> bool:
    """Whether the agent runs its CLI in batch mode (``claude -p``, ``codex exec``): its
    backend's and its own ``args`` hold one of its profile's ``batch_args``."""
    backend = project.backends.get(agent.backend)
    if backend is None or agent.is_service:
        return False
    return (profile or project.profile_of(agent)).batch(tuple(backend.args) + agent.args)


def _remembered(sess, now: float) -> Seen:
    """A session seen for the first time; what an earlier watchdog published on it (its
    state and since when) is kept, so a restarted watchdog does not reset "idle 12m"."""
    seen = Seen(sess.id, since=float(sess.created or now))
    published = parse_state(sess.state)
    if published is not None and 0 <= published[1] <= now:
        seen.label, seen.since = published[0], published[1]
        seen.ready = published[0].partition(":")[0] in (WORKING, IDLE, UNKNOWN)
    return seen


def observe_once(project: Project, server: TmuxServer, agent: Agent, live: dict | None = None) -> Observation | None:
    """The agent's state now, read directly (for ``agents.py wait``): None when its session
    is not running; its profile's ``unknown``/``starting`` when nothing matches."""
    from .sessions import owner_of

    live = server.sessions() if live is None else live
    sess = live.get(project.session_name(agent))
    pane = sess.first_pane if sess is not None else None
    if sess is None or pane is None or pane.dead or sess.foreign_to(owner_of(project)):
        return None
    profile = project.profile_of(agent)
    if agent.is_service or not profile.knows_states:
        return Observation("running")  # alive; what it does, nothing tells
    if runs_batch(project, agent, profile):
        return Observation(WORKING if pane.current_command in profile.commands else UNKNOWN)
    observation = profile.classify(pane.title, server.capture_pane(pane.id))
    return observation if observation.state else Observation(STARTING)
