# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watchdog's decisions without tmux: the crash-loop arithmetic (judge_death), and a
Watchdog driven by an injected clock against a fake server whose agents die at once."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest
from engine_fakes import start_each

from ansible_collections.agentloops.orchestrator.plugins.module_utils import (
    bookkeeping, config, fsutil, observe, status, watchdog)
from ansible_collections.agentloops.orchestrator.plugins.module_utils.layout import StateLayout
from ansible_collections.agentloops.orchestrator.plugins.module_utils.watchdog import (
    BACKOFF,
    FATAL,
    RESTART,
    Verdict,
    judge_death,
)


@dataclass(frozen=True)
class Limits:
    start_seconds: float = 5.0
    fatal_after: int = 4
    fatal_window: float = 60.0
    backoff_max: float = 30.0


def test_a_death_after_a_long_run_restarts_at_once_and_counts_nothing():
    assert judge_death(Limits(), [], started=1000.0, now=1100.0) == Verdict(RESTART, (), 100.0)
    assert judge_death(Limits(), [], started=0, now=1100.0) == Verdict(RESTART, (), None), "start unknown"


def test_the_first_quick_death_restarts_at_once():
    assert judge_death(Limits(), [], started=1000.0, now=1002.0) == Verdict(RESTART, (1002.0,), 2.0)


def test_further_quick_deaths_back_off_exponentially_up_to_the_maximum():
    limits = Limits(fatal_after=10, backoff_max=5.0)
    failures: list = []
    delays = []
    for n in range(7):
        now = 1000.0 + 10 * n
        verdict = judge_death(limits, failures, started=now - 1, now=now)
        failures = list(verdict.failures)
        delays.append(verdict.delay if verdict.action == BACKOFF else None)
    assert delays == [None, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_jitter_scales_the_delay():
    verdict = judge_death(Limits(), [990.0], started=999.0, now=1000.0, jitter=1.2)
    assert verdict.action == BACKOFF and verdict.delay == pytest.approx(1.2)


def test_fatal_after_n_quick_deaths_within_the_window():
    verdict = judge_death(Limits(), [990.0, 995.0, 998.0], started=999.0, now=1000.0)
    assert verdict == Verdict(FATAL, (990.0, 995.0, 998.0, 1000.0), 1.0)


def test_old_failures_leave_the_window():
    verdict = judge_death(Limits(), [900.0, 930.0, 998.0], started=999.0, now=1000.0)
    assert verdict.action == BACKOFF and verdict.failures == (998.0, 1000.0)
    assert judge_death(Limits(), [900.0, 930.0], started=500.0, now=1000.0) == Verdict(RESTART, (), 500.0)


def test_a_restart_comes_no_sooner_than_its_spacing_after_the_start_whatever_the_limits_say():
    no_failures = Limits(start_seconds=0)
    assert judge_death(no_failures, [], started=1000.0, now=1000.25) == Verdict(RESTART, (), 0.25, 0.75)
    assert judge_death(no_failures, [], started=1000.0, now=1001.0) == Verdict(RESTART, (), 1.0), "spaced enough"
    assert judge_death(no_failures, [], started=1000.0, now=999.0).delay == 0.0, "a clock stepped back defers nothing"
    assert judge_death(no_failures, [], started=0, now=1000.0).delay == 0.0, "start unknown"
    verdict = judge_death(Limits(), [999.5], started=999.9, now=1000.0, jitter=0.5)
    assert verdict.action == BACKOFF and verdict.delay == pytest.approx(0.9), "a backoff shorter than the spacing"


CONFIG = """
[agents.crasher]
kind = "persistent"
backend = "demo"
watch = "heal"
start_seconds = 5
backoff_max = 1
fatal_after = 4
fatal_window = 60

[agents.quiet]
kind = "persistent"
backend = "demo"
watch = "none"
"""


class DeadServer:
    """A tmux server on which every session started dies at once (none is ever listed)."""

    socket = ""
    socket_args: list = []

    def __init__(self) -> None:
        self.started: list = []
        self.batches: list = []  # the names of each start_many

    def sessions(self) -> dict:
        return {}

    def kill(self, target: str) -> None:
        raise AssertionError("no session to kill")

    def start(self, name: str, *args, **kwargs) -> str:
        self.started.append(name)
        return "$%d" % len(self.started)

    def start_many(self, specs: list) -> list:
        self.batches.append([s.name for s in specs])
        return start_each(self, specs)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def project(tmp_path):
    (tmp_path / "agents.toml").write_text(CONFIG)
    return config.load(str(tmp_path / "agents.toml"))


def test_a_crash_loop_heals_backs_off_then_goes_fatal(project):
    clock = Clock(1000.0)
    server = DeadServer()
    dog = watchdog.Watchdog(project, server, clock=clock, jitter=lambda: 1.0)
    seen = []
    for now in (1000.0, 1001.0, 1002.0, 1002.5, 1003.0, 1004.0, 1005.0, 1006.0, 1007.0):
        clock.now = now
        seen.append([(e["agent"], e["event"], e["outcome"]) for e in dog.check(now)])
    assert seen == [
        [("crasher", "heal", "restarted")],  # start time unknown: not a quick death
        [("crasher", "heal", "restarted")],  # the first quick death restarts at once
        [("crasher", "backoff", "restart in 1.0s")],
        [],  # still backing off
        [("crasher", "heal", "restarted")],  # the deadline passed: restarted, not counted again
        [("crasher", "backoff", "restart in 1.0s")],
        [("crasher", "heal", "restarted")],
        [("crasher", "fatal", "not restarted until reset")],
        [],  # FATAL: left alone
    ]
    assert server.started == [project.session_name("crasher")] * 4, "the unwatched agent is never started"
    watch = bookkeeping.read_watch(project, project.agent("crasher"))
    assert watch == {"state": "FATAL", "failures": [1001.0, 1002.0, 1004.0, 1006.0], "last_start": 1005.0,
                     "restarts": 4}
    events = [json.loads(line) for line in open(StateLayout.of(project).events)]
    assert [e["event"] for e in events] == ["heal", "heal", "backoff", "heal", "backoff", "heal", "fatal"]
    assert events[2]["reason"] == "died 1.0s after start (2 quick deaths)"
    assert events[-1]["reason"] == "4 quick deaths within 60s"
    assert watchdog.reset(project, project.agent("crasher")) is True
    assert [(e["agent"], e["event"]) for e in dog.check(1008.0)] == [("crasher", "heal")]


def test_an_agent_stopped_by_an_operator_is_left_alone(project):
    bookkeeping.set_stopped(project, project.agent("crasher"), True)
    server = DeadServer()
    assert watchdog.Watchdog(project, server, clock=Clock(1000.0)).check() == []
    assert watchdog.leave_alone(project, project.agent("crasher")) == "stopped by an operator"
    assert server.started == []


def test_a_second_watchdog_names_the_first(project):
    with fsutil.locked(StateLayout.of(project).watchdog_lock, wait=False):
        with pytest.raises(watchdog.AlreadyRunning, match="another watchdog \\(pid %d\\) already watches %s; "
                           "refusing to start a second one" % (os.getpid(), project.name)):
            watchdog.main(project, DeadServer())


def test_read_events_skips_broken_lines(project):
    watchdog.event(project, "x", "start", "why", "ok", extra=1)
    with open(StateLayout.of(project).events, "a") as handle:
        handle.write("{broken\n")
    watchdog.event(project, "y", "reset", "why", "ok")
    assert [(e["agent"], e.get("extra")) for e in watchdog.read_events(project)] == [("x", 1), ("y", None)]
    assert [e["agent"] for e in watchdog.read_events(project, 1)] == ["y"]


NEWBIE = """
[agents.newbie]
kind = "persistent"
backend = "demo"
watch = "heal"
"""


def rewrite(project, text, bump=1):
    """Write agents.toml anew, its mtime moved on (a rewrite within one clock tick counts too)."""
    path = project.config_path
    st = os.stat(path)
    with open(path, "w") as handle:
        handle.write(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


def kinds(events):
    return [(e["agent"], e["event"]) for e in events]


def test_an_agent_added_to_agents_toml_is_watched_and_a_removed_one_no_longer(project):
    server = DeadServer()
    dog = watchdog.Watchdog(project, server, clock=Clock(1000.0), jitter=lambda: 1.0)
    assert kinds(dog.check(1000.0)) == [("crasher", "heal")]
    assert kinds(dog.check(1100.0)) == [("crasher", "heal")], "unchanged: not read again, no event"
    rewrite(project, CONFIG.replace("[agents.crasher]", "[agents.renamed]") + NEWBIE)
    seen = dog.check(1200.0)
    assert kinds(seen) == [("watchdog", "reload"), ("renamed", "heal"), ("newbie", "heal")]
    assert seen[0]["added"] == ["renamed", "newbie"] and seen[0]["removed"] == ["crasher"]
    assert seen[0]["outcome"] == "added renamed, newbie; removed crasher" and seen[0]["watching"] == 2
    assert server.started[-2:] == [project.session_name("renamed"), project.session_name("newbie")]
    assert [a.name for a in dog.project.agents] == ["renamed", "quiet", "newbie"]


def test_an_invalid_agents_toml_keeps_the_project_with_one_error_per_state_of_the_file(project):
    server = DeadServer()
    dog = watchdog.Watchdog(project, server, clock=Clock(1000.0), jitter=lambda: 1.0)
    rewrite(project, CONFIG + "[agents.broken\n")
    seen = dog.check(1000.0)
    assert kinds(seen) == [("watchdog", "error"), ("crasher", "heal")], "the old project is watched on"
    assert seen[0]["reason"].startswith("not reloaded: %s:" % project.config_path)
    assert seen[0]["outcome"] == "keeping the config read before"
    assert kinds(dog.check(1100.0)) == [("crasher", "heal")], "the same bad file: no second error"
    rewrite(project, CONFIG.replace('watch = "heal"', 'watch = "sometimes"'), bump=2)
    assert kinds(dog.check(1200.0)) == [("watchdog", "error"), ("crasher", "heal")], "another bad state"
    os.remove(project.config_path)
    assert kinds(dog.check(1300.0)) == [("watchdog", "error"), ("crasher", "heal")], "gone"
    assert kinds(dog.check(1400.0)) == [("crasher", "heal")]
    with open(project.config_path, "w") as handle:  # back, valid, without the unwatched agent
        handle.write(CONFIG.replace('[agents.quiet]\nkind = "persistent"\nbackend = "demo"\nwatch = "none"\n', ""))
    seen = dog.check(1500.0)
    assert kinds(seen) == [("watchdog", "reload"), ("crasher", "heal")]
    assert (seen[0]["added"], seen[0]["removed"], seen[0]["changed"]) == ([], ["quiet"], [])
    assert dog.project is not project and dog.project.config_path == project.config_path


def test_a_reload_that_moves_state_dir_is_refused(project, tmp_path):
    dog = watchdog.Watchdog(project, DeadServer(), clock=Clock(1000.0))
    rewrite(project, '[project]\nstate_dir = "elsewhere"\n' + CONFIG)
    (error,) = dog.reload()
    assert error["event"] == "error" and "state_dir changed to %s" % (tmp_path / "elsewhere") in error["reason"]
    assert dog.project is project


def test_a_loop_that_gave_up_is_fatal_until_reset(tmp_path):
    (tmp_path / "agents.toml").write_text('[agents.loopy]\nkind = "loop"\nbackend = "demo"\nwatch = "heal"\n')
    project = config.load(str(tmp_path / "agents.toml"))
    loopy = project.agent("loopy")
    bookkeeping.write_run(project, loopy, {"iteration": 3, "exit": 1, "ended": 999.0,
                                           "fatal": "3 failed iterations in a row (last exit 1)"})
    server = DeadServer()
    dog = watchdog.Watchdog(project, server, clock=Clock(1000.0), engine_script=str(tmp_path / "agents.py"))
    (tmp_path / "agents.py").write_text("")
    assert watchdog.leave_alone(project, loopy) == "FATAL"
    assert dog.check(1000.0) == [] and server.started == []
    assert watchdog.reset(project, loopy) is True
    record = bookkeeping.read_run(project, loopy)
    assert "fatal" not in record and record["iteration"] == 3
    assert watchdog.reset(project, loopy) is False
    assert watchdog.leave_alone(project, loopy) == ""
    assert [e["event"] for e in dog.check(1001.0)] == ["heal"] and server.started == [project.session_name(loopy)]


@pytest.mark.parametrize("table, what", [('session_prefix = "other-"', "session_prefix"),
                                         ('tmux_socket = "elsewhere"', "tmux_socket")])
def test_a_reload_that_moves_the_sessions_is_refused(project, table, what):
    """A new prefix or server would make every running agent look dead (and heal them all)."""
    dog = watchdog.Watchdog(project, DeadServer(), clock=Clock(1000.0))
    rewrite(project, "[project]\n%s\n%s" % (table, CONFIG))
    (error,) = dog.reload()
    assert error["event"] == "error" and "%s changed from" % what in error["reason"]
    assert dog.project is project


def test_only_a_working_agent_can_stall_and_a_loop_never_for_silence(tmp_path):
    (tmp_path / "agents.toml").write_text(
        '[agents.loopy]\nkind = "loop"\nbackend = "demo"\nwatch = "heal+stall"\n'
        '[agents.demo]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal+stall"\n'
        '[agents.cl]\nkind = "persistent"\nbackend = "claude"\nwatch = "heal+stall"\n'
        '[agents.batch]\nkind = "loop"\nbackend = "claude"\nargs = ["-p"]\nwatch = "heal+stall"\n')
    project = config.load(str(tmp_path / "agents.toml"))
    dog = watchdog.Watchdog(project, DeadServer(), clock=Clock(1000.0))
    assert not dog._may_stall(project.agent("loopy")) and dog._may_stall(project.agent("demo"))
    cl, batch = project.agent("cl"), project.agent("batch")
    assert not dog._may_stall(cl), "not classified yet: not working"
    for label, stalls in (("idle", False), ("blocked:trust", False), ("working", True)):
        dog.observer.seen["cl"] = observe.Seen("$1", label=label)
        assert dog._may_stall(cl) is stalls, label
    dog.observer.seen["batch"] = observe.Seen("$2", label="working")
    assert not dog._may_stall(batch), "a claude -p run is never a stall"


@pytest.mark.parametrize("content", ['{"failures": ["x"]}', '{"last_start": "soon"}', '[1]', '{"restarts": "many"}'])
def test_bad_bookkeeping_is_empty_with_one_event_and_the_agent_is_healed(project, content):
    agent = project.agent("crasher")
    os.makedirs(project.state_dir, exist_ok=True)
    with open(StateLayout.of(project).watch(agent), "w") as handle:
        handle.write(content)
    server = DeadServer()
    dog = watchdog.Watchdog(project, server, clock=Clock(1000.0), jitter=lambda: 1.0)
    first = dog.check(1000.0)
    assert [e["event"] for e in first if e["agent"] == "crasher"] == ["heal"]
    errors = [e for e in watchdog.read_events(project, 0) if e["event"] == "error"]
    assert len(errors) == 1 and errors[0]["agent"] == "crasher" and errors[0]["outcome"] == "treated as empty"
    assert StateLayout.of(project).watch(agent) in errors[0]["reason"]
    assert kinds(dog.check(1100.0)) == [("crasher", "heal")], "the record it wrote is good: no second error"


def test_an_event_log_that_cannot_be_written_does_not_end_the_watchdog_and_status_shows_it(project):
    os.makedirs(project.state_dir, exist_ok=True)
    with open(project.log_dir, "w") as handle:  # a file where the log folder should be: every write fails
        handle.write("not a folder\n")
    server = DeadServer()
    dog = watchdog.Watchdog(project, server, clock=Clock(1000.0), jitter=lambda: 1.0)
    assert kinds(dog.check(1000.0)) == [("crasher", "heal")]
    assert kinds(dog.check(1100.0)) == [("crasher", "heal")], "it keeps healing"
    assert server.started == [project.session_name("crasher")] * 2
    line = status.write_failure(project)
    assert line is not None and line.startswith("watchdog: cannot write %s: " % StateLayout.of(project).events)
    assert status.render(project, status.rows(project, {}, []), 0)[0] == line
    os.unlink(project.log_dir)
    dog.check(1200.0)
    assert status.write_failure(project) is None, "a write that works again clears it"
    assert status.render(project, status.rows(project, {}, []), 0)[0].startswith("AGENT ")


def test_a_failure_another_process_recorded_is_cleared_by_the_next_good_write(project):
    """A killed watchdog (or a phase set) left state/watchdog.error: the next event any
    process writes clears it, so status does not show an old failure for ever."""
    os.makedirs(project.state_dir, exist_ok=True)
    with open(StateLayout.of(project).write_error, "w") as handle:
        handle.write("cannot write /gone/events.jsonl: No space left on device\n")
    assert status.write_failure(project) is not None
    watchdog.event(project, "crasher", "heal", "session gone", "restarted")
    assert status.write_failure(project) is None and not os.path.exists(StateLayout.of(project).write_error)


def test_a_state_folder_that_cannot_be_written_is_one_error_not_one_per_pass(project, monkeypatch):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import sessions

    def refuse(*args, **kwargs):
        raise fsutil.OrchestratorError("cannot write %s/crasher.env: Read-only file system" % project.state_dir)

    monkeypatch.setattr(sessions, "atomic_write", refuse)
    dog = watchdog.Watchdog(project, DeadServer(), clock=Clock(1000.0), jitter=lambda: 1.0)
    seen = [kinds(dog.check(1000.0 + 2 * n)) for n in range(5)]
    assert seen == [[("crasher", "error")], [], [], [], []]


class ScreenServer(DeadServer):
    """A server whose one pane shows the screens given, one per capture."""

    def __init__(self, screens) -> None:
        super().__init__()
        self.screens = list(screens)

    def capture_pane(self, pane_id: str) -> str:
        return self.screens.pop(0)


@dataclass
class FakePane:
    id: str = "%1"


@pytest.mark.parametrize("before, after, same", [
    ("Working (12s)\n> ", "Working (13s)\n> ", True),  # a timer: animation
    ("⠋ Thinking 3/10\n", "⠙ Thinking 4/10\n", True),  # a spinner and a counter: animation
    ("1021\n1022\n1023\n", "1022\n1023\n1024\n", False),  # a program printing numbers: output
    ("0.513 0.498\n", "0.511 0.497\n", False),
])
def test_digits_alone_on_a_line_are_output_not_animation(project, before, after, same):
    dog = watchdog.Watchdog(project, ScreenServer([before, after]), clock=Clock(1000.0))
    assert (dog._screen(FakePane()) == dog._screen(FakePane())) is same


def test_a_mass_death_restarts_every_agent_in_one_batch_each_with_its_bookkeeping(tmp_path):
    text = "".join('[agents.a%d]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal"\n' % i for i in range(6))
    (tmp_path / "agents.toml").write_text('[project]\nsession_prefix = "m-"\n' + text)
    project = config.load(str(tmp_path / "agents.toml"))
    bookkeeping.set_stopped(project, project.agent("a3"), True)  # an operator's down: left alone
    server = DeadServer()
    dog = watchdog.Watchdog(project, server, clock=Clock(1000.0), jitter=lambda: 1.0)
    events = dog.check(1000.0)
    assert server.batches == [["m-a0", "m-a1", "m-a2", "m-a4", "m-a5"]]
    assert kinds(events) == [("a%d" % i, "heal") for i in (0, 1, 2, 4, 5)]
    for i in (0, 1, 2, 4, 5):
        watch = bookkeeping.read_watch(project, project.agent("a%d" % i))
        assert (watch["state"], watch["restarts"], watch["last_start"]) == ("ok", 1, 1000.0)
    assert bookkeeping.read_watch(project, project.agent("a3")) == {}


def test_the_pass_after_a_heal_comes_at_once_and_one_that_dies_as_it_starts_waits_its_spacing(tmp_path):
    text = "".join('[agents.a%d]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal"\n' % i for i in range(2))
    (tmp_path / "agents.toml").write_text('[project]\nsession_prefix = "m-"\n' + text)
    project = config.load(str(tmp_path / "agents.toml"))
    server = DeadServer()  # every session started dies at once
    dog = watchdog.Watchdog(project, server, poll=2.0, quiet_poll=10.0, clock=Clock(1000.0), jitter=lambda: 1.0)
    dog.poller = Poller(dog.poller)
    assert kinds(dog.check(1000.0)) == [("a0", "heal"), ("a1", "heal")] and dog.restarted
    dog.wait()
    assert dog.poller.timeouts == [0.0], "the next pass comes at once: it watches the new processes"
    assert dog.check(1000.1) == [] and not dog.restarted, "dead again 0.1 s after the start: not restarted yet"
    assert dog.next_try == {"a0": 1001.0, "a1": 1001.0}
    assert len(bookkeeping.read_watch(project, project.agent("a0"))["failures"]) == 1, "the quick death is counted"
    dog.wait()
    assert dog.poller.timeouts[-1] == pytest.approx(1000.0), "it wakes when the spacing is over"
    assert kinds(dog.check(1001.0)) == [("a0", "heal"), ("a1", "heal")] and dog.restarted
    assert server.started == ["m-a0", "m-a1"] * 2, "two starts each in a second, not a tight loop"
    watch = bookkeeping.read_watch(project, project.agent("a0"))
    assert (watch["restarts"], len(watch["failures"])) == (2, 1), "judged once, when it died"
    assert kinds(dog.check(1001.5)) == [("a0", "backoff"), ("a1", "backoff")] and set(dog.next_try) == {"a0", "a1"}
    bookkeeping.set_stopped(project, project.agent("a0"), True)  # an operator's down meanwhile
    dog.check(1001.6)
    assert set(dog.next_try) == {"a1"}, "a restart left behind would shorten every wait"


def _no_failure_project(tmp_path):
    (tmp_path / "agents.toml").write_text('[agents.a0]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal"\n'
                                          'start_seconds = 0\n')
    return config.load(str(tmp_path / "agents.toml"))


def _deferring(project, server=None, **kwargs):
    """A watchdog whose agent died at its start (1000.0) and again 0.2 s after the restart:
    that restart waits for RESTART_SPACING (a deadline at 1001.0)."""
    dog = watchdog.Watchdog(project, server or DeadServer(), clock=Clock(1000.0), jitter=lambda: 1.0, **kwargs)
    dog.poller = Poller(dog.poller)
    dog.check(1000.0)
    dog.clock.now = 1000.2
    dog.check(1000.2)
    return dog


def test_an_agent_that_dies_as_it_starts_with_no_failures_counted_restarts_once_a_second(tmp_path):
    """start_seconds = 0: no death is a failure, so no backoff; the spacing alone bounds it,
    pass after pass, as the clock goes on."""
    project = _no_failure_project(tmp_path)
    server = DeadServer()
    clock = Clock(1000.0)
    dog = watchdog.Watchdog(project, server, poll=2.0, clock=clock, jitter=lambda: 1.0)
    dog.poller = Poller(dog.poller)
    agent = project.agent("a0")
    for _pass in range(60):  # 6 s of passes 0.1 s apart, each right after the one before
        dog.check(clock.now)
        if dog.next_try:
            assert bookkeeping.read_watch(project, agent)["state"] == "BACKOFF", "status shows the wait"
        clock.now = round(clock.now + 0.1, 3)
    assert len(server.started) == 6, "one start a second, not one a pass"
    watch = bookkeeping.read_watch(project, agent)
    assert watch["restarts"] == 6 and watch.get("failures", []) == [], "no failure counted"
    assert [e["event"] for e in watchdog.read_events(project, 0)] == ["heal"] * 6


def test_the_spacing_holds_when_the_watch_file_cannot_be_written(tmp_path, monkeypatch):
    project = _no_failure_project(tmp_path)

    def refuse(*args, **kwargs):
        raise fsutil.OrchestratorError("cannot write the watch file: Read-only file system")

    monkeypatch.setattr(watchdog, "write_watch", refuse)
    server = DeadServer()
    clock = Clock(1000.0)
    dog = watchdog.Watchdog(project, server, clock=clock, jitter=lambda: 1.0)
    for _pass in range(30):
        dog.check(clock.now)
        clock.now = round(clock.now + 0.1, 3)
    assert len(server.started) == 3, "the start kept in memory spaces them"


def test_an_up_during_a_deferred_restart_drops_it_and_a_reload_keeps_it(tmp_path):
    project = _no_failure_project(tmp_path)
    server = DeadServer()
    dog = _deferring(project, server)
    clock = dog.clock
    assert dog.next_try == {"a0": 1001.0}
    with open(project.config_path, "a") as handle:  # an edit that leaves the agent as it is
        handle.write("# edited\n")
    dog.stamp = ("edited",)  # as if agents.toml's stamp changed
    clock.now = 1000.4
    dog.check(1000.4)
    assert dog.next_try == {"a0": 1001.0}, "a reload that keeps the agent keeps its deadline"
    live = LiveServer(project, ["a0"])  # an operator's up: it runs
    dog.server = live
    clock.now = 1000.6
    dog.check(1000.6)
    assert dog.next_try == {}, "it runs again: the restart still to come is dropped"
    assert len(server.started) == 1, "the first start only"


def test_a_down_during_a_deferred_restart_shows_stopped_not_backoff(tmp_path):
    project = _no_failure_project(tmp_path)
    dog = _deferring(project)
    assert [r.state for r in status.rows(project, {}, [])] == ["BACKOFF restarts=1"], "its restart waits"
    bookkeeping.set_stopped(project, project.agent("a0"), True)  # an operator's down
    dog.check(1000.4)
    assert dog.next_try == {}
    assert [r.state for r in status.rows(project, {}, [])] == ["stopped"]


def test_a_loop_paused_during_a_deferred_restart_shows_stopped_not_backoff(tmp_path):
    (tmp_path / "agents.toml").write_text('[agents.l0]\nkind = "loop"\nbackend = "demo"\nwatch = "heal"\n'
                                          'start_seconds = 0\n')
    project = config.load(str(tmp_path / "agents.toml"))
    dog = _deferring(project)
    assert [r.state for r in status.rows(project, {}, [])] == ["BACKOFF restarts=1"]
    bookkeeping.set_paused(project, project.agent("l0"), True)
    dog.check(1000.4)
    assert dog.next_try == {}
    assert [r.state.split(" (")[0] for r in status.rows(project, {}, [])] == ["stopped"]


def test_a_deadline_a_pass_could_not_serve_is_tried_again_a_poll_later_not_in_a_spin(tmp_path):
    project = _no_failure_project(tmp_path)

    class Failing(DeadServer):
        fail = False

        def sessions(self) -> dict:
            if self.fail:
                raise watchdog.OrchestratorError("list-panes failed")
            return {}

    server = Failing()
    dog = _deferring(project, server, poll=2.0)
    clock = dog.clock
    dog.wait()
    assert dog.poller.timeouts[-1] == pytest.approx(800.0), "it wakes at the deadline"
    server.fail = True
    clock.now = 1001.0
    assert kinds(dog.check(1001.0)) == [("watchdog", "error")] and dog.next_try == {"a0": 1001.0}
    for _wait in range(3):
        dog.wait()
        assert dog.poller.timeouts[-1] == pytest.approx(2000.0), "a poll later, not at once"
    server.fail = False
    clock.now = 1003.0
    assert kinds(dog.check(1003.0)) == [("a0", "heal")] and dog.next_try == {}


def test_a_backoff_of_no_delay_restarts_at_the_next_pass_at_once(tmp_path):
    (tmp_path / "agents.toml").write_text('[agents.a0]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal"\n'
                                          'start_seconds = 5\nbackoff_max = 0\nfatal_after = 9\n')
    project = config.load(str(tmp_path / "agents.toml"))
    server = DeadServer()
    clock = Clock(1000.0)
    dog = watchdog.Watchdog(project, server, poll=2.0, clock=clock, jitter=lambda: 1.0)
    dog.poller = Poller(dog.poller)
    for now in (1000.0, 1002.0, 1004.0):  # quick deaths 2 s after each start: the third backs off 0 s
        clock.now = now
        events = dog.check(now)
    assert kinds(events) == [("a0", "backoff")] and dog.next_try == {"a0": 1004.0}
    dog.wait()
    assert dog.poller.timeouts[-1] == 0.0, "a deadline this pass set for its own now is not overdue"
    assert kinds(dog.check(1004.0)) == [("a0", "heal")]


def test_a_reset_after_fatal_starts_the_count_afresh_not_against_the_last_start(tmp_path):
    (tmp_path / "agents.toml").write_text('[agents.a0]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal"\n'
                                          'start_seconds = 5\nfatal_after = 2\n')
    project = config.load(str(tmp_path / "agents.toml"))
    clock = Clock(1000.0)
    dog = watchdog.Watchdog(project, DeadServer(), clock=clock, jitter=lambda: 1.0)
    seen = []
    for now in (1000.0, 1002.0, 1004.0):
        clock.now = now
        seen += kinds(dog.check(now))
    assert seen == [("a0", "heal"), ("a0", "heal"), ("a0", "fatal")]
    watchdog.reset(project, project.agent("a0"))
    clock.now = 1004.5
    assert kinds(dog.check(1004.5)) == [("a0", "heal")]
    assert bookkeeping.read_watch(project, project.agent("a0")).get("failures", []) == [], \
        "the death before the reset is not judged again"


def test_a_clock_stepped_back_makes_a_start_unknown_neither_a_failure_nor_a_wait(project):
    server = DeadServer()
    dog = watchdog.Watchdog(project, server, clock=Clock(1000.0), jitter=lambda: 1.0)
    dog.check(1000.0)
    dog.clock.now = 900.0  # stepped back 100 s: the start on record is in its future
    assert kinds(dog.check(900.0)) == [("crasher", "heal")], "restarted at once"
    assert bookkeeping.read_watch(project, project.agent("crasher")).get("failures", []) == [], "no quick death"


def test_a_refused_start_in_a_mass_heal_is_that_agents_error_the_others_heal(tmp_path):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import TmuxSessionExists

    class Taken(DeadServer):
        def start(self, name: str, *args, **kwargs) -> str:
            if name == "m-a1":
                raise TmuxSessionExists("cannot start session m-a1: duplicate session: m-a1")
            return super().start(name, *args, **kwargs)

    text = "".join('[agents.a%d]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal"\n' % i for i in range(3))
    (tmp_path / "agents.toml").write_text('[project]\nsession_prefix = "m-"\n' + text)
    project = config.load(str(tmp_path / "agents.toml"))
    server = Taken()
    events = watchdog.Watchdog(project, server, clock=Clock(1000.0), jitter=lambda: 1.0).check(1000.0)
    assert server.batches == [["m-a0", "m-a1", "m-a2"]] and server.started == ["m-a0", "m-a2"]
    assert sorted(kinds(events)) == [("a0", "heal"), ("a1", "error"), ("a2", "heal")]
    assert "duplicate session" in [e for e in events if e["agent"] == "a1"][0]["reason"]


class LiveServer(DeadServer):
    """A server on which every agent named runs, as this test's own process (so its pidfd
    never fires)."""

    def __init__(self, project, names) -> None:
        super().__init__()
        from ansible_collections.agentloops.orchestrator.plugins.module_utils import sessions
        from ansible_collections.agentloops.orchestrator.plugins.module_utils.tmux import Pane, Session

        owner = sessions.owner_of(project).config
        self.live = {project.session_name(n): Session(project.session_name(n), "$%d" % i, 900, [
            Pane("%%%d" % i, os.getpid(), "sleep", False, None, 0, 0, 900)], owner=owner) for i, n in enumerate(names)}
        self.reads = 0

    def sessions(self) -> dict:
        self.reads += 1
        return self.live


class Poller:
    """select.poll's stand-in: records the timeouts, reports the fds given as ready."""

    def __init__(self, real) -> None:
        self.real = real
        self.timeouts: list = []
        self.ready: list = []

    def register(self, fd, mask) -> None:
        self.real.register(fd, mask)

    def unregister(self, fd) -> None:
        self.real.unregister(fd)

    def poll(self, timeout):
        self.timeouts.append(timeout)
        return [(fd, 1) for fd in self.ready]


def test_a_quiet_pass_sleeps_longer_and_the_next_does_not_ask_after_a_pidfd_that_did_not_fire(project, monkeypatch):
    server = LiveServer(project, ["crasher"])
    dog = watchdog.Watchdog(project, server, poll=2.0, quiet_poll=10.0, clock=Clock(1000.0))
    dog.poller = Poller(dog.poller)
    asked: list = []
    monkeypatch.setattr(watchdog, "_alive", lambda pid: asked.append(pid) or True)
    assert dog.check(1000.0) == [] and dog.quiet and asked == [os.getpid()], "no pidfd yet: asked once"
    dog.wait()
    assert dog.poller.timeouts == [10000.0], "quiet: its death wakes it, else a read every quiet_poll"
    assert dog.check(1010.0) == [] and asked == [os.getpid()], "its pidfd did not fire: alive, not asked"
    dog.check(1011.0)
    assert len(asked) == 2, "a pass without a wait before it asks again"
    dog.poller.ready = [dog.pidfds["crasher"][1]]
    dog.wait()
    dog.check(1012.0)
    assert len(asked) == 3, "its pidfd fired: asked"
    dog.clock.now = 1012.0
    dog.next_try["other"] = 1015.0
    dog.wait()
    assert dog.poller.timeouts[-1] == pytest.approx(3000.0), "a backoff's deadline comes first"


def test_a_pass_is_not_quiet_while_an_agent_is_under_stall_watch_or_dead_or_the_read_failed(tmp_path, project):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "agents.toml").write_text(
        '[agents.w]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal+stall"\nstall_after = 1000\n')
    stall = config.load(str(tmp_path / "s" / "agents.toml"))
    dog = watchdog.Watchdog(stall, LiveServer(stall, ["w"]), clock=Clock(1000.0))
    dog.check(1000.0)
    assert not dog.quiet, "no profile: its stalls are judged by reading its pane"
    dead = watchdog.Watchdog(project, DeadServer(), clock=Clock(1000.0))
    dead.check(1000.0)
    assert not dead.quiet, "a heal this pass"

    class Broken(DeadServer):
        def sessions(self) -> dict:
            raise watchdog.OrchestratorError("list-panes failed")

    broken = watchdog.Watchdog(project, Broken(), clock=Clock(1000.0))
    broken.check(1000.0)
    assert not broken.quiet


def test_the_guard_sleeps_on_the_watchdogs_pidfd_while_its_lock_is_held(project):
    slept: list = []
    guard = watchdog.Guard(project, DeadServer(), poll=0.01, quiet=0.02, sleep=slept.append)
    guard.rest()
    assert slept == [0.01], "no watchdog holds the lock: the short poll"
    with fsutil.locked(StateLayout.of(project).watchdog_lock, wait=False):
        assert fsutil.lock_holder(StateLayout.of(project).watchdog_lock) == os.getpid()
        guard.rest()  # waits on this process's pidfd for ``quiet`` seconds
    assert slept == [0.01], "held: waited on the holder's pidfd, not slept"
    assert fsutil.lock_holder(StateLayout.of(project).watchdog_lock) is None, "free again"


def test_the_guards_death_wakes_the_watchdog_which_looks_at_its_guard_at_once(project):
    import subprocess
    import sys

    dog = watchdog.Watchdog(project, DeadServer(), poll=5.0, clock=Clock(1000.0))
    dog.guard_seen = 1e18  # it just looked
    child = subprocess.Popen([sys.executable, "-c", ""])
    assert dog._hold(watchdog._GUARD, child.pid)
    child.wait()
    dog.wait()  # returns at once: the guard's pidfd fired
    assert watchdog._GUARD not in dog.pidfds and dog.guard_seen < 1e18, "its next look at its guard is now"


class KeptServer(LiveServer):
    """A server on which each agent named has a session whose keeper waits (its agent ended)."""

    def __init__(self, project, names) -> None:
        super().__init__(project, names)
        from ansible_collections.agentloops.orchestrator.plugins.module_utils.tmux import KEEPER, Pane

        for i, sess in enumerate(self.live.values()):
            sess.panes[0] = Pane("%%%d" % i, 7000 + i, KEEPER, True, None, 0, 0, 900, "", True)


def test_an_agent_whose_keeper_waits_runs_again_in_its_session_with_no_tmux_call(tmp_path, monkeypatch):
    """The restart of an agent whose session lives on (its keeper waits) is its files written,
    then the keeper told ``run``: no session killed or started; the bookkeeping as for any
    heal. A keeper that does not read its FIFO yet is told again SETTLE_POLL later, its death
    not judged twice; one just told is not taken for a new death while it starts."""
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import sessions

    text = "".join('[agents.a%d]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal"\n' % i for i in range(3))
    (tmp_path / "agents.toml").write_text('[project]\nsession_prefix = "k-"\n' + text)
    project = config.load(str(tmp_path / "agents.toml"))
    told: list = []
    late = {"a2"}
    monkeypatch.setattr(sessions, "tell_keeper", lambda layout, agent, word: told.append((agent.name, word))
                        or agent.name not in late)
    server = KeptServer(project, ["a0", "a1", "a2"])
    dog = watchdog.Watchdog(project, server, clock=Clock(1000.0), jitter=lambda: 1.0)
    events = dog.check(1000.0)
    assert told == [("a0", "run"), ("a1", "run"), ("a2", "run")]
    assert server.batches == [] and server.started == [], "no tmux call to start anything"
    heals = [e for e in events if e["event"] == "heal"]
    assert [(e["agent"], e["in_pane"], e["reason"]) for e in heals] == [("a0", True, "process gone"),
                                                                        ("a1", True, "process gone")]
    assert not [e for e in events if e["event"] == "error"]
    layout = StateLayout.of(project)
    for name in ("a0", "a1"):
        assert bookkeeping.read_watch(project, project.agent(name))["restarts"] == 1
        with open(layout.command(name)) as handle:
            assert handle.read() == sessions.command_for(project, project.agent(name)) + "\n"
    assert bookkeeping.read_watch(project, project.agent("a2")).get("restarts") is None
    assert dog.next_try == {"a2": 1000.0 + watchdog.SETTLE_POLL} and dog.restarted, "again in a moment"
    late.clear()
    told.clear()
    events = dog.check(1000.1)  # a0 and a1 still show their keeper (just told): settling, not dead again
    assert told == [("a2", "run")] and dog.settling
    assert [e["agent"] for e in events if e["event"] == "heal"] == ["a2"]
    assert bookkeeping.read_watch(project, project.agent("a2"))["restarts"] == 1
    assert all(bookkeeping.read_watch(project, project.agent(n)).get("failures", []) == [] for n in ("a0", "a1", "a2"))


def test_an_agent_seen_ended_whose_keeper_runs_it_again_under_the_lock_is_left_as_it_is(tmp_path, monkeypatch):
    """The pass saw its keeper waiting; the read under the lock finds its agent running again
    (its keeper ran it, or it was only starting): no death is judged, nothing is ended."""
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import sessions
    from ansible_collections.agentloops.orchestrator.plugins.module_utils.tmux import Pane

    (tmp_path / "agents.toml").write_text('[project]\nsession_prefix = "k-"\n'
                                          '[agents.a0]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal"\n')
    project = config.load(str(tmp_path / "agents.toml"))
    server = KeptServer(project, ["a0"])
    running = LiveServer(project, ["a0"]).live
    reads = iter([server.live, running])
    server.sessions = lambda: next(reads)
    monkeypatch.setattr(sessions, "tell_keeper", lambda *args: pytest.fail("nothing to tell"))
    monkeypatch.setattr(sessions, "end_agent", lambda *args, **kwargs: pytest.fail("nothing to end"))
    dog = watchdog.Watchdog(project, server, clock=Clock(1000.0), jitter=lambda: 1.0)
    assert dog.check(1000.0) == []
    assert bookkeeping.read_watch(project, project.agent("a0")) == {}
    assert isinstance(running["k-a0"].panes[0], Pane) and not running["k-a0"].panes[0].waiting
