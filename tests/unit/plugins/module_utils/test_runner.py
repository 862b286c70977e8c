# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner without tmux and without starting a program: the argv (the prompt as data),
conversation ids on a temp state folder, and what a run records, with a fake ``Popen``.
Real programs in real panes: tests/integration/test_runner.py."""

from __future__ import annotations

import io
import os
import subprocess

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import bookkeeping, config, runner
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import OrchestratorError

PROMPT = "line one 'q' \"dq\" `tick` $(touch /tmp/x) ${HOME}\nline two ✓\n"
CONFIG = """
[project]
session_prefix = "r-"

[backends.fake]
bin = "%(bin)s"
args = ["--flag", "a b"]
model_arg = "--model"
prompt_delivery = "%(delivery)s"
%(extra)s

[agents.a]
kind = "%(kind)s"
backend = "fake"
model = "m-1"
%(agent_extra)s
"""


def make(tmp_path, bin_="fake-cli", delivery="arg", kind="task", extra="", agent_extra=""):
    (tmp_path / "agents.toml").write_text(CONFIG % dict(bin=bin_, delivery=delivery, kind=kind, extra=extra,
                                                        agent_extra=agent_extra))
    project = config.load(str(tmp_path / "agents.toml"))
    return project, project.agent("a")


RESUMABLE = 'resume_arg = "--resume"\nsession_id_arg = "--session-id"'


class FakeProc:
    """What run_once sees of a started program; it records what it was given."""

    started: list = []
    exit_codes: list = []  # the codes the next programs exit with (0 when none is left)

    def __init__(self, argv, cwd=None, env=None, stdin=None, preexec_fn=None):
        self.argv, self.cwd, self.env = list(argv), cwd, dict(env or {})
        self.pid = 4242
        self.stdin = io.BytesIO() if stdin == subprocess.PIPE else None
        if self.stdin is not None:
            self.stdin.close = lambda: None  # keep the bytes readable after the runner closes it
        self.exit = FakeProc.exit_codes.pop(0) if FakeProc.exit_codes else 0
        FakeProc.started.append(self)

    def poll(self):
        return self.exit

    def wait(self):
        return self.exit


@pytest.fixture
def popen(monkeypatch):
    FakeProc.started, FakeProc.exit_codes = [], []
    monkeypatch.setattr(runner.subprocess, "Popen", FakeProc)
    return FakeProc


def test_argv_of_a_simple_bin_ends_with_the_prompt_as_one_element(tmp_path):
    project, agent = make(tmp_path)
    assert runner.argv_for(project, agent, PROMPT, ["--resume", "c1"]) == [
        "fake-cli", "--flag", "a b", "--model", "m-1", "--resume", "c1", PROMPT]
    assert runner.argv_for(project, agent, None, []) == ["fake-cli", "--flag", "a b", "--model", "m-1"]


def test_argv_of_shell_text_passes_every_argument_as_a_positional_parameter(tmp_path):
    project, agent = make(tmp_path, bin_="cd sub && exec fake-cli")
    assert runner.argv_for(project, agent, PROMPT, []) == [
        "/bin/sh", "-c", 'cd sub && exec fake-cli "$@"', "fake", "--flag", "a b", "--model", "m-1", PROMPT]


@pytest.mark.parametrize("bin_", ["/opt/bin/fake-cli", "./node_modules/.bin/x+y", "a_b-c.d"])
def test_paths_are_simple_bins(tmp_path, bin_):
    project, agent = make(tmp_path, bin_=bin_)
    assert runner.argv_for(project, agent, None, [])[0] == bin_


def test_conversation_is_assigned_once_then_resumed(tmp_path):
    project, agent = make(tmp_path, kind="persistent", extra=RESUMABLE)
    first = runner.conversation_args(project, agent)
    assert first[0] == "--session-id" and len(first[1]) == 36
    assert bookkeeping.resume_id(project, agent) == first[1]
    assert oct(os.stat(os.path.join(project.state_dir, "a.resume-id")).st_mode & 0o777) == "0o600"
    assert runner.conversation_args(project, agent) == ["--resume", first[1]]
    assert runner.conversation_args(project, agent) == ["--resume", first[1]]


def test_a_known_conversation_is_resumed(tmp_path):
    project, agent = make(tmp_path, kind="persistent", extra=RESUMABLE)
    bookkeeping.write_resume_id(project, agent, "conv-7")
    assert runner.conversation_args(project, agent) == ["--resume", "conv-7"]


def test_no_conversation_args_without_resume_support(tmp_path):
    project, agent = make(tmp_path, kind="persistent")
    assert runner.conversation_args(project, agent) == []
    project, agent = make(tmp_path, kind="persistent", extra='resume_arg = "--resume"')
    assert runner.conversation_args(project, agent) == [], "no id can be assigned without session_id_arg"
    assert not os.path.exists(os.path.join(project.state_dir, "a.resume-id"))


@pytest.mark.parametrize("delivery", ["arg", "stdin", "exec"])
def test_run_once_delivers_the_prompt_as_data(tmp_path, popen, delivery):
    project, agent = make(tmp_path, delivery=delivery)
    assert runner.run_once(project, agent, PROMPT, 1, "one") == 0
    (proc,) = popen.started
    assert proc.argv[:5] == ["fake-cli", "--flag", "a b", "--model", "m-1"]
    assert proc.argv[5:] == ([PROMPT] if delivery == "arg" else [])
    if delivery == "stdin":
        assert proc.stdin.getvalue().decode("utf-8") == PROMPT
    else:
        assert proc.stdin is None
    assert proc.cwd == project.root
    prompt_file = proc.env["AGENTLOOPS_PROMPT_FILE"]
    assert prompt_file == os.path.join(project.state_dir, "a.kickoff.md")
    assert open(prompt_file, encoding="utf-8").read() == PROMPT
    assert os.stat(prompt_file).st_mode & 0o777 == 0o600


def test_run_once_records_the_run_and_logs_start_and_end(tmp_path, popen, monkeypatch):
    monkeypatch.delenv("AGENTLOOPS_PROMPT_FILE", raising=False)
    project, agent = make(tmp_path)
    popen.exit_codes = [3]
    assert runner.run_once(project, agent, None, 2, "two") == 3
    record = bookkeeping.read_run(project, agent)
    assert {k: record[k] for k in ("agent", "kind", "iteration", "phase", "exit", "pid")} == {
        "agent": "a", "kind": "task", "iteration": 2, "phase": "two", "exit": 3, "pid": 4242}
    assert record["started"] <= record["ended"]
    assert "AGENTLOOPS_PROMPT_FILE" not in popen.started[0].env, "no prompt, no prompt file"
    assert not os.path.exists(os.path.join(project.state_dir, "a.kickoff.md"))
    lines = open(os.path.join(project.log_dir, "a.log")).read().splitlines()
    assert [line.split(" ", 1)[1] for line in lines][0] == "iteration 2 phase two start delivery=arg"
    assert lines[1].split(" ", 1)[1].startswith("iteration 2 phase two end exit=3 seconds=")


def test_a_signal_is_128_plus_its_number_and_no_phase_is_a_dash(tmp_path, popen):
    project, agent = make(tmp_path)
    popen.exit_codes = [-9]
    assert runner.run_once(project, agent, None, 1, "") == 137
    assert bookkeeping.read_run(project, agent)["exit"] == 137
    assert "iteration 1 phase - end exit=137" in open(os.path.join(project.log_dir, "a.log")).read()


def test_a_program_that_cannot_start_exits_127(tmp_path, monkeypatch):
    def refuse(argv, **_kw):
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(runner.subprocess, "Popen", refuse)
    project, agent = make(tmp_path)
    assert runner.run_once(project, agent, None, 1, "one") == 127
    record = bookkeeping.read_run(project, agent)
    assert (record["exit"], record["pid"]) == (127, None)
    assert "iteration 1 cannot start fake-cli: No such file or directory" in \
        open(os.path.join(project.log_dir, "a.log")).read()


def test_loops_take_no_conversation_args(tmp_path, popen):
    project, agent = make(tmp_path, kind="loop", extra=RESUMABLE)
    runner.run_once(project, agent, None, 1, "")
    assert popen.started[0].argv == ["fake-cli", "--flag", "a b", "--model", "m-1"]
    assert bookkeeping.resume_id(project, agent) == ""


def test_persistent_agents_start_with_their_conversation(tmp_path, popen):
    project, agent = make(tmp_path, kind="persistent", extra=RESUMABLE)
    runner.run_once(project, agent, PROMPT, 1, "")
    runner.run_once(project, agent, PROMPT, 1, "")
    conv = bookkeeping.resume_id(project, agent)
    assert popen.started[0].argv[5:] == ["--session-id", conv, PROMPT]
    assert popen.started[1].argv[5:] == ["--resume", conv, PROMPT]


def test_keys_delivery_needs_a_tmux_pane(tmp_path, popen, monkeypatch):
    monkeypatch.delenv("TMUX_PANE", raising=False)
    project, agent = make(tmp_path, delivery="keys")
    with pytest.raises(OrchestratorError, match='prompt_delivery = "keys" needs the agent to run in a tmux pane'):
        runner.run_once(project, agent, PROMPT, 1, "")
    assert popen.started == []


def test_main_runs_a_loop_until_max_iterations_and_marks_it_finished(tmp_path, popen, monkeypatch):
    monkeypatch.setattr(runner.time, "sleep", lambda _s: None)
    project, agent = make(tmp_path, kind="loop", agent_extra="max_iterations = 3\nloop_delay = 5")
    popen.exit_codes = [1, 0, 2]
    assert runner.main(project, agent) == 0
    assert len(popen.started) == 3
    record = bookkeeping.read_run(project, agent)
    assert (record["iteration"], record["exit"], record["finished"]) == (3, 2, True)
    assert open(os.path.join(project.log_dir, "a.log")).read().splitlines()[-1].endswith(
        "stopping after max_iterations=3")


def test_main_runs_a_task_once_and_returns_its_exit(tmp_path, popen):
    project, agent = make(tmp_path)
    popen.exit_codes = [5]
    assert runner.main(project, agent) == 5
    assert len(popen.started) == 1
    assert "finished" not in bookkeeping.read_run(project, agent)


def test_main_refuses_services(tmp_path):
    (tmp_path / "agents.toml").write_text('[agents.s]\nkind = "service"\ncommand = "sleep 1"\n')
    project = config.load(str(tmp_path / "agents.toml"))
    with pytest.raises(OrchestratorError, match="agent 's' is a service; services run their own command"):
        runner.main(project, project.agent("s"))


def test_backoff_doubles_from_loop_delay_up_to_backoff_max():
    loop, heal = config.LoopSettings(loop_delay=0.2), config.WatchSettings(backoff_max=1.0)
    assert [runner.backoff_delay(loop, heal, n) for n in range(1, 6)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    assert runner.backoff_delay(config.LoopSettings(loop_delay=5), heal, 3) == 5, "never less than loop_delay"
    assert runner.backoff_delay(loop, config.WatchSettings(backoff_max=1e9), 100000) == 1e9, "no overflow"


def sleeps_recording(monkeypatch, project, agent):
    """Replace the runner's sleep; each call records its seconds and the run record's backoff."""
    slept = []

    def sleep(seconds):
        slept.append((seconds, (bookkeeping.read_run(project, agent) or {}).get("backoff")))

    monkeypatch.setattr(runner.time, "sleep", sleep)
    return slept


def events_of(project):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import watchdog

    return [(e["event"], e["reason"], e["outcome"]) for e in watchdog.read_events(project, 0) if e["event"] != "exited"]


LOOP_FAILING = "loop_delay = 0.2\nbackoff_max = 1\nfatal_after = 3"


def test_a_failing_loop_backs_off_then_gives_up_with_the_last_exit(tmp_path, popen, monkeypatch):
    project, agent = make(tmp_path, kind="loop", agent_extra=LOOP_FAILING)
    slept = sleeps_recording(monkeypatch, project, agent)
    popen.exit_codes = [1, 1, 7, 0]
    before = runner.time.time()
    assert runner.main(project, agent) == 7
    assert len(popen.started) == 3, "no iteration after fatal_after failures in a row"
    assert [s for s, _b in slept] == [0.2, 0.4]
    assert [b["failures"] for _s, b in slept] == [1, 2]
    assert before + 0.2 <= slept[0][1]["until"] <= runner.time.time() + 0.2
    record = bookkeeping.read_run(project, agent)
    assert record["fatal"] == "3 failed iterations in a row (last exit 7)"
    assert (record["iteration"], record["exit"]) == (3, 7) and "finished" not in record
    assert events_of(project) == [
        ("backoff", "iteration 1 exit 1 (1 failed in a row)", "next iteration in 0.2s"),
        ("backoff", "iteration 2 exit 1 (2 failed in a row)", "next iteration in 0.4s"),
        ("fatal", "3 failed iterations in a row (last exit 7)", "loop stopped until reset")]
    log = open(os.path.join(project.log_dir, "a.log")).read()
    assert "iteration 2 failed (2 in a row): next iteration in 0.4s" in log
    assert log.splitlines()[-1].endswith("FATAL: 3 failed iterations in a row (last exit 7); "
                                         "no more iterations until reset")


def test_a_success_resets_the_count_and_the_delay(tmp_path, popen, monkeypatch):
    project, agent = make(tmp_path, kind="loop", agent_extra=LOOP_FAILING + "\nmax_iterations = 6")
    slept = sleeps_recording(monkeypatch, project, agent)
    popen.exit_codes = [1, 1, 0, 1, 1, 0]
    assert runner.main(project, agent) == 0
    assert len(popen.started) == 6
    assert slept == [(0.2, {"failures": 1, "until": slept[0][1]["until"]}),
                     (0.4, {"failures": 2, "until": slept[1][1]["until"]}),
                     (0.2, None),  # after the success: loop_delay, no backoff on record
                     (0.2, {"failures": 1, "until": slept[3][1]["until"]}),
                     (0.4, {"failures": 2, "until": slept[4][1]["until"]})]
    record = bookkeeping.read_run(project, agent)
    assert record["finished"] is True and "fatal" not in record
    assert [e[0] for e in events_of(project)] == ["backoff"] * 4


def test_fatal_after_one_stops_at_the_first_failure_and_tasks_never_back_off(tmp_path, popen, monkeypatch):
    project, agent = make(tmp_path, kind="loop", agent_extra="fatal_after = 1")
    slept = sleeps_recording(monkeypatch, project, agent)
    popen.exit_codes = [2]
    assert runner.main(project, agent) == 2
    assert slept == [] and bookkeeping.read_run(project, agent)["fatal"] == "1 failed iteration in a row (last exit 2)"
    (tmp_path / "t").mkdir()
    task, task_agent = make(tmp_path / "t", kind="task", agent_extra="fatal_after = 1")
    popen.exit_codes = [2]
    assert runner.main(task, task_agent) == 2
    assert "fatal" not in bookkeeping.read_run(task, task_agent)


def test_last_line_is_the_last_non_blank_one():
    assert runner.last_line("a\n  No conversation found with session ID: x  \n\n   \n") == \
        "No conversation found with session ID: x"
    assert runner.last_line("") == "" and runner.last_line("\n \n") == ""


class ScreenServer:
    """The runner's own tmux server, as _keep_screen sees it: the screens it shows in turn."""

    def __init__(self, *screens):
        self.screens = list(screens)
        self.asked = []

    def capture_history(self, pane, lines):
        self.asked.append((pane, lines))
        return self.screens.pop(0) if len(self.screens) > 1 else self.screens[0]


def test_the_last_screen_is_kept_with_its_header_and_its_last_line_logged(tmp_path, popen, monkeypatch):
    project, agent = make(tmp_path)
    server = ScreenServer("$ fake-cli\n", "$ fake-cli\nNo conversation found with session ID: 42\n\n")
    monkeypatch.setenv("TMUX_PANE", "%7")
    monkeypatch.setattr(runner, "_own_server", lambda: server)
    monkeypatch.setattr(runner.time, "sleep", lambda _s: None)
    popen.exit_codes = [1]
    assert runner.run_once(project, agent, None, 4, "one") == 1
    assert server.asked[0] == ("%7", 200) and len(server.asked) == 3, "read until two reads agree"
    path = os.path.join(project.log_dir, "a.screen")
    header, *screen = open(path, encoding="utf-8").read().splitlines()
    assert header.split(" ", 1)[1] == "iteration 4 exit=1 program=fake-cli"
    assert screen == ["$ fake-cli", "No conversation found with session ID: 42"]
    assert os.stat(path).st_mode & 0o777 == 0o600
    end = open(os.path.join(project.log_dir, "a.log")).read().splitlines()[-1]
    assert end.split(" ", 1)[1].startswith("iteration 4 phase one end exit=1 seconds=")
    assert end.endswith(" last: No conversation found with session ID: 42")
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import watchdog

    (exited,) = watchdog.read_events(project)
    assert {k: exited[k] for k in ("agent", "event", "reason", "outcome", "exit", "iteration")} == {
        "agent": "a", "event": "exited", "reason": "No conversation found with session ID: 42",
        "outcome": "exit 1", "exit": 1, "iteration": 4}


def test_outside_tmux_no_screen_is_kept(tmp_path, popen, monkeypatch):
    monkeypatch.delenv("TMUX_PANE", raising=False)
    monkeypatch.setattr(runner, "_own_server", lambda: pytest.fail("no tmux outside tmux"))
    project, agent = make(tmp_path)
    popen.exit_codes = [2]
    assert runner.run_once(project, agent, None, 1, "") == 2
    assert not os.path.exists(os.path.join(project.log_dir, "a.screen"))
    assert open(os.path.join(project.log_dir, "a.log")).read().splitlines()[-1].endswith("end exit=2 seconds=0.0")
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import watchdog

    assert [(e["event"], e["reason"], e["outcome"]) for e in watchdog.read_events(project)] == [
        ("exited", "-", "exit 2")]


def test_a_screen_that_cannot_be_read_is_a_log_line(tmp_path, popen, monkeypatch):
    class Gone:
        def capture_history(self, pane, lines):
            raise runner.TmuxError("tmux server -L x: capture-pane failed: no server running")

    monkeypatch.setenv("TMUX_PANE", "%7")
    monkeypatch.setattr(runner, "_own_server", Gone)
    project, agent = make(tmp_path)
    assert runner.run_once(project, agent, None, 1, "") == 0
    assert "iteration 1 could not capture the screen: tmux server -L x: capture-pane failed" in \
        open(os.path.join(project.log_dir, "a.log")).read()
