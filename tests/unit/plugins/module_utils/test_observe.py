# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The observer without tmux: a fake server shows screens captured from the real claude;
what is classified, published, evented, and the only keys ever sent (configured answers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config, observe
from ansible_collections.agentloops.orchestrator.plugins.module_utils.tmux import Pane, Session

SCREENS = Path(__file__).resolve().parents[4] / "tests" / "agentcli" / "screens"


def text(stem: str) -> str:
    return (SCREENS / ("%s.txt" % stem)).read_text()


@dataclass
class Server:
    screens: dict
    captured: list = field(default_factory=list)
    published: list = field(default_factory=list)
    pressed: list = field(default_factory=list)

    def capture_panes(self, ids):
        self.captured.append(list(ids))
        return {i: self.screens[i] for i in ids}

    def set_session_options(self, values):
        self.published.extend(values)

    def press(self, pane_id, keys):
        self.pressed.append((pane_id, keys))


def project(tmp_path, agent_extra: str = "", args: str = "[]"):
    path = tmp_path / "agents.toml"
    path.write_text('[project]\nsession_prefix = "p-"\n[backends.claude]\nbin = "claude"\nargs = %s\n\n[agents.a]\nkind = "persistent"\n'
                    'backend = "claude"\n%s\n[agents.demo]\nkind = "persistent"\nbackend = "demo"\n' % (args, agent_extra))
    return config.load(str(path))


OURS = "/p/agents.toml"  # the owner tag the engine gives the sessions it starts


def live(command: str = "claude", activity: int = 1, sid: str = "$1") -> dict:
    pane = Pane("%1", 100, command, False, None, 0, 0, activity, "✳ Claude Code")
    demo = Pane("%2", 101, "sleep", False, None, 0, 0, 1)
    return {"p-a": Session("p-a", sid, 1000, [pane], owner=OURS), "p-demo": Session("p-demo", "$2", 1000, [demo], owner=OURS)}


def observer(tmp_path, server, **kw):
    events = []

    def event(_project, agent, kind, reason, outcome, **extra):
        events.append((agent, kind, outcome))
        return {}

    return observe.Observer(project(tmp_path, **kw), server, event), events


def test_a_dialog_is_blocked_published_evented_once_and_never_answered(tmp_path):
    server = Server({"%1": text("claude-trust")})
    obs, events = observer(tmp_path, server)
    for now in (2000.0, 2002.0, 2004.0):
        obs.observe(live(), OURS, now)
    assert server.captured == [["%1"]], "unchanged output is not captured again (the demo agent never)"
    assert server.published == [("$1", "@agentloops_state", "blocked:trust 2000 2000")]
    assert events == [("a", "blocked", "waiting for an operator")] and server.pressed == []
    obs.observe(live(), OURS, 2041.0)
    assert server.published[-1] == ("$1", "@agentloops_state", "blocked:trust 2000 2041"), "confirmed while stale"
    assert server.captured == [["%1"]], "and not captured again before RECHECK"
    obs.observe(live(), OURS, 2000.0 + observe.RECHECK)
    assert server.captured == [["%1"], ["%1"]], "RECHECK: looked at again without new output"


def test_a_configured_answer_is_given_once_after_the_dialog_settled(tmp_path):
    server = Server({"%1": text("claude-trust")})
    obs, events = observer(tmp_path, server, agent_extra='answers = { trust = "accept" }')
    obs.observe(live(), OURS, 2000.0)
    assert server.pressed == [], "not before it settled"
    obs.observe(live(activity=2), OURS, 2001.5)
    obs.observe(live(activity=3), OURS, 2003.0)
    assert server.pressed == [("%1", ["Down", "Enter"])]
    assert [e[1] for e in events] == ["blocked", "answer"]
    server.screens["%1"] = text("claude-idle")
    obs.observe(live(activity=4), OURS, 2004.0)
    assert obs.current(obs.project.agent("a")).label == "idle" and obs.was_ready(obs.project.agent("a"))
    assert events[-1] == ("a", "unblocked", "idle")


def test_a_dialog_without_new_output_is_looked_at_again_to_be_answered_once_it_settled(tmp_path):
    server = Server({"%1": text("claude-trust")})
    obs, events = observer(tmp_path, server, agent_extra='answers = { trust = "accept" }')
    obs.observe(live(activity=1), OURS, 2000.0)
    obs.observe(live(activity=1), OURS, 2000.5)
    assert server.pressed == [] and server.captured == [["%1"]], "not before it settled, and nothing new to look at"
    obs.observe(live(activity=1), OURS, 2001.5)
    assert server.captured == [["%1"], ["%1"]] and server.pressed == [("%1", ["Down", "Enter"])]
    obs.observe(live(activity=1), OURS, 2005.0)
    assert len(server.pressed) == 1 and [e[1] for e in events] == ["blocked", "answer"], "answered once"


def test_working_then_idle_and_a_new_session_starts_over(tmp_path):
    server = Server({"%1": text("claude-working")})
    obs, _events = observer(tmp_path, server)
    obs.observe(live(), OURS, 2000.0)
    assert obs.current(obs.project.agent("a")).label == "working"
    server.screens["%1"] = text("claude-preflight-offline")
    obs.observe(live(sid="$9"), OURS, 2001.0)
    assert obs.current(obs.project.agent("a")).label == "starting" and not obs.was_ready(obs.project.agent("a"))


def test_a_batch_run_is_working_while_its_program_runs_and_has_no_screen(tmp_path):
    server = Server({})
    obs, _events = observer(tmp_path, server, args='["-p"]')
    obs.observe(live("claude"), OURS, 2000.0)
    assert obs.current(obs.project.agent("a")).label == "working" and server.captured == []
    obs.observe(live("python3"), OURS, 2001.0)
    assert obs.current(obs.project.agent("a")).label == "unknown", "between two runs: nothing to show"


def test_a_restarted_watchdog_keeps_what_an_earlier_one_published(tmp_path):
    server = Server({"%1": text("claude-idle")})
    obs, _events = observer(tmp_path, server)
    sessions = live()
    sessions["p-a"] = Session("p-a", "$1", 1000, sessions["p-a"].panes, owner=OURS, state="idle 1500 1990")
    obs.observe(sessions, OURS, 2000.0)
    assert server.published == [("$1", "@agentloops_state", "idle 1500 2000")]


def test_only_sessions_observed_in_this_pass_are_written_and_by_id(tmp_path):
    server = Server({"%1": text("claude-idle")})
    obs, _events = observer(tmp_path, server)
    obs.observe(live(), OURS, 2000.0)
    assert server.published == [("$1", "@agentloops_state", "idle 2000 2000")]
    foreign = live()
    foreign["p-a"] = Session("p-a", "$7", 1000, foreign["p-a"].panes, owner="/other/agents.toml")
    obs.observe(foreign, "/mine/agents.toml", 2100.0)
    assert len(server.published) == 1, "another config's session of the same name is never written"
    assert "a" not in obs.seen and obs.was_ready(obs.project.agent("a")), "its heal still knows it had got ready"


def test_a_hand_run_session_of_the_same_name_is_never_read_nor_answered(tmp_path):
    """An untagged session (no engine started it: a hand-run agent that down left alone) is
    not the project's: never captured, published or answered, even with an answer configured."""
    server = Server({"%1": text("claude-trust")})
    obs, events = observer(tmp_path, server, agent_extra='answers = { trust = "accept" }')
    hand_run = live()
    hand_run["p-a"] = Session("p-a", "$1", 1000, hand_run["p-a"].panes)
    for now in (2000.0, 2002.0, 2004.0):
        obs.observe(hand_run, OURS, now)
    assert server.published == [] and server.pressed == [] and events == []


def test_a_bad_published_state_is_ignored(tmp_path):
    server = Server({"%1": text("claude-idle")})
    obs, _events = observer(tmp_path, server)
    sessions = live()
    sessions["p-a"] = Session("p-a", "$1", 1000, sessions["p-a"].panes, owner=OURS, state="idle nan inf")
    obs.observe(sessions, OURS, 2000.0)
    assert server.published == [("$1", "@agentloops_state", "idle 2000 2000")]


def test_output_in_the_second_of_a_look_is_looked_at_once_more_and_an_idle_agent_settles(tmp_path):
    server = Server({"%1": text("claude-idle")})
    obs, _events = observer(tmp_path, server)
    obs.observe(live(activity=2000), OURS, 2000.5)  # output at 2000.x: maybe after the look
    assert server.captured == [["%1"]] and not obs.settled
    obs.observe(live(activity=2000), OURS, 2002.5)
    assert server.captured == [["%1"], ["%1"]] and obs.settled, "looked once more, then settled"
    obs.observe(live(activity=2000), OURS, 2004.5)
    assert len(server.captured) == 2 and obs.settled, "nothing new: not captured again"
    obs.observe(live(activity=2005), OURS, 2006.5)
    assert len(server.captured) == 3 and obs.settled, "new output: looked at, idle still"
    server.screens["%1"] = text("claude-working")
    obs.observe(live(activity=2007), OURS, 2008.5)
    assert obs.current(obs.project.agent("a")).state == "working" and not obs.settled, "working: never settled"
