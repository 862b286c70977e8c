# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner with fake agent CLIs on private tmux servers: prompt delivery, tasks, loops,
pause, resume ids. The fakes record exactly what they received."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest
from helpers import wait_for

from ansible_collections.agentloops.orchestrator.plugins.module_utils import bookkeeping, engine, watchdog

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FAKE = r'''#!PYTHON
"""A fake agent CLI: records argv, stdin (or pasted keys) and the prompt file, prints
$FAKE_PRINT, then exits with $FAKE_EXIT (or the Nth of the comma-separated $FAKE_EXITS in its
Nth run), or sleeps (exec sleep) when $FAKE_STAY is set."""
import json, os, sys, time
record = {"argv": sys.argv[1:], "prompt_file": None, "stdin": None, "keys": None,
          "phase": os.environ.get("FAKE_TAG", "")}
if os.environ.get("AGENTLOOPS_PROMPT_FILE"):
    record["prompt_file"] = open(os.environ["AGENTLOOPS_PROMPT_FILE"], encoding="utf-8").read()
mode = os.environ.get("FAKE_MODE", "")
if mode == "stdin":
    record["stdin"] = sys.stdin.read()
elif mode == "keys":
    sys.stdout.write("\x1b[?2004hfake ready> ")
    sys.stdout.flush()
    buf = ""
    while "\x1b[201~" not in buf:
        buf += sys.stdin.readline()
    record["keys"] = buf.split("\x1b[200~", 1)[1].split("\x1b[201~", 1)[0]
out = os.environ["FAKE_OUT"]
runs = len(open(out, encoding="utf-8").readlines()) if os.path.exists(out) else 0
with open(out, "a", encoding="utf-8") as handle:
    handle.write(json.dumps(record) + "\n")
if os.environ.get("FAKE_PRINT"):
    print(os.environ["FAKE_PRINT"], flush=True)
time.sleep(float(os.environ.get("FAKE_SLEEP", "0")))
if os.environ.get("FAKE_STAY"):
    os.execvp("sleep", ["sleep", "100000"])
exits = os.environ.get("FAKE_EXITS", "").split(",")
sys.exit(int(exits[runs % len(exits)] if exits != [""] else os.environ.get("FAKE_EXIT", "0")))
'''

NASTY = "line one 'single' \"double\" `tick` $(touch {marker}) ${{HOME}} {{json: 1}}\nline two — ünïcødé ✓ {{{{ phase }}}}\n"


@pytest.fixture
def fake(tmp_path):
    path = tmp_path / "fake-agent"
    path.write_text(FAKE.replace("PYTHON", sys.executable))
    path.chmod(0o755)
    return str(path)


def make_project(tmp_path, tmux, fake, delivery, kind="task", extra="", env="", bin_=None):
    project = tmp_path / "p"
    (project / "kickoffs").mkdir(parents=True, exist_ok=True)
    marker = tmp_path / "executed"
    (project / "kickoffs" / "k.md").write_text(NASTY.format(marker=marker))
    (project / "agents.toml").write_text(f'''
[project]
session_prefix = "r-"
tmux_socket = "{tmux.socket}"

[[phases]]
name = "one"
plan = "one.md"

[[phases]]
name = "two"
plan = "two.md"

[backends.fake]
bin = "{bin_ or fake}"
args = ["--flag", "a b"]
model_arg = "--model"
prompt_delivery = "{delivery}"
{extra}

[agents.a]
kind = "{kind}"
backend = "fake"
model = "m-1"
kickoff = "kickoffs/k.md"

[agents.a.env]
FAKE_OUT = "{tmp_path / 'out.jsonl'}"
{env}
''')
    return project, marker


def records(tmp_path):
    path = tmp_path / "out.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# As when the engine CLI starts agents: the runner is this checkout's agents.py.
ENGINE_SCRIPT = os.path.join(REPO, "agents.py")


def start(project):
    proj, server = engine.open_project(str(project / "agents.toml"))
    actions = engine.converge(proj, server, [], "started", engine_script=ENGINE_SCRIPT).actions
    return proj, server, actions


def expected_prompt(marker, phase="one"):
    return NASTY.format(marker=marker).replace("{{ phase }}", phase)


@pytest.mark.parametrize("delivery", ["arg", "stdin", "exec"])
def test_task_delivery_is_verbatim_and_done_shows_exit(tmp_path, tmux, fake, delivery):
    env = 'FAKE_EXIT = "3"\n' + ('FAKE_MODE = "stdin"\n' if delivery == "stdin" else "")
    project, marker = make_project(tmp_path, tmux, fake, delivery, env=env)
    proj, server, actions = start(project)
    assert [a.verb for a in actions] == ["start"]
    assert wait_for(lambda: records(tmp_path))
    (rec,) = records(tmp_path)
    prompt = expected_prompt(marker)
    assert rec["argv"][:4] == ["--flag", "a b", "--model", "m-1"]
    if delivery == "arg":
        assert rec["argv"][4:] == [prompt]
    elif delivery == "stdin":
        assert rec["argv"][4:] == [] and rec["stdin"] == prompt
    else:
        assert rec["argv"][4:] == [] and rec["prompt_file"] == prompt
    assert not marker.exists(), "kickoff text must never be executed"
    assert wait_for(lambda: engine.read_status(proj, server).lines[-1].endswith("DONE (exit 3)"))
    log = open(os.path.join(proj.log_dir, "a.log")).read()
    assert "iteration 1 phase one start delivery=%s" % delivery in log and "end exit=3" in log


def test_shell_text_bin_gets_the_prompt_as_data(tmp_path, tmux, fake):
    project, marker = make_project(tmp_path, tmux, fake, "arg", bin_="true ; exec %s" % fake)
    start(project)
    assert wait_for(lambda: records(tmp_path))
    assert records(tmp_path)[0]["argv"][-1] == expected_prompt(marker)
    assert not marker.exists()


def test_keys_delivery_pastes_multiline_prompt_once_ready(tmp_path, tmux, fake):
    project, marker = make_project(tmp_path, tmux, fake, "keys", kind="persistent",
                                   env='FAKE_MODE = "keys"\nFAKE_STAY = "1"\n')
    proj, server, _actions = start(project)
    assert wait_for(lambda: records(tmp_path), timeout=20)
    assert records(tmp_path)[0]["keys"] == expected_prompt(marker)
    assert not marker.exists()
    # the program is the pane's foreground command, not the runner
    assert wait_for(lambda: "RUNNING [sleep]" in engine.read_status(proj, server).lines[-1])


def test_loop_iterates_picks_up_phase_changes_and_stops_at_max(tmp_path, tmux, fake):
    project, marker = make_project(tmp_path, tmux, fake, "arg", kind="loop",
                                   extra="", env='FAKE_SLEEP = "1.5"\n')
    cfg = project / "agents.toml"
    cfg.write_text(cfg.read_text().replace('kickoff = "kickoffs/k.md"',
                                           'kickoff = "kickoffs/k.md"\nmax_iterations = 3\nloop_delay = 0.2'))
    # up returns after its start confirmation (1 s): an iteration lasts longer, so the phase
    # changes before the third one however late up returned within the first
    proj, server, _actions = start(project)
    assert wait_for(lambda: re.search(r"RUNNING \[python\] #[12] one$", engine.read_status(proj, server).lines[-1]))
    engine.set_phase(proj, "two")
    assert wait_for(lambda: len(records(tmp_path)) == 3, timeout=20)
    phases = [r["argv"][-1].splitlines()[1].rsplit(" ", 1)[1] for r in records(tmp_path)]
    assert phases[0] == "one" and phases[-1] == "two"
    assert wait_for(lambda: "r-a" not in server.sessions())
    log = open(os.path.join(proj.log_dir, "a.log")).read()
    assert log.count(" start ") == 3 and "stopping after max_iterations=3" in log


def test_pause_and_resume_a_loop(tmp_path, tmux, fake):
    project, _marker = make_project(tmp_path, tmux, fake, "arg", kind="loop", env='FAKE_SLEEP = "0.3"\n')
    cfg = project / "agents.toml"
    cfg.write_text(cfg.read_text().replace('kickoff = "kickoffs/k.md"',
                                           'kickoff = "kickoffs/k.md"\nmax_iterations = 4\nloop_delay = 0.1'))
    cli = [sys.executable, os.path.join(REPO, "agents.py")]
    assert subprocess.run(cli + ["pause", "a"], cwd=project, capture_output=True, text=True,
                          check=False).stdout.startswith("paused a")
    start(project)
    time.sleep(1.0)
    assert records(tmp_path) == [], "a paused loop starts no iteration"
    assert subprocess.run(cli + ["resume", "a"], cwd=project, capture_output=True, text=True,
                          check=False).stdout == "resumed a\n"
    assert wait_for(lambda: len(records(tmp_path)) == 4, timeout=20)


def test_resume_id_is_assigned_then_resumed_across_restart_and_down_up(tmp_path, tmux, fake):
    project, _marker = make_project(tmp_path, tmux, fake, "exec", kind="persistent",
                                    extra='resume_arg = "--resume"\nsession_id_arg = "--session-id"',
                                    env='FAKE_STAY = "1"\n')
    proj, server, _actions = start(project)
    assert wait_for(lambda: len(records(tmp_path)) == 1)
    first = records(tmp_path)[0]["argv"]
    assert first[4] == "--session-id"
    conv = first[5]
    assert open(os.path.join(proj.state_dir, "a.resume-id")).read().strip() == conv
    engine.converge(proj, server, [], "restarted", engine_script=ENGINE_SCRIPT)
    assert wait_for(lambda: len(records(tmp_path)) == 2)
    assert records(tmp_path)[1]["argv"][4:6] == ["--resume", conv]
    engine.converge(proj, server, [], "stopped", engine_script=ENGINE_SCRIPT)
    engine.converge(proj, server, [], "started", engine_script=ENGINE_SCRIPT)
    assert wait_for(lambda: len(records(tmp_path)) == 3)
    assert records(tmp_path)[2]["argv"][4:6] == ["--resume", conv]


def test_runner_needs_an_engine_when_not_run_from_the_cli(tmp_path, tmux, fake):
    project, _marker = make_project(tmp_path, tmux, fake, "arg")
    proj, server = engine.open_project(str(project / "agents.toml"))
    from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import CannotStart

    with pytest.raises(CannotStart, match="no engine checkout") as caught:
        engine.converge(proj, server, [], "started")  # no engine_script: as a module
    assert server.sessions() == {}
    actions = engine.converge(proj, server, [], "started", allow_partial=True).actions
    assert actions[0].verb == "skip" and actions[0].cannot_start and "no engine checkout" in actions[0].reason
    assert [a.agent.name for a in caught.value.result.actions] == [a.agent.name for a in actions]
    assert server.sessions() == {}


def test_a_broken_kickoff_starts_nothing(tmp_path, tmux, fake):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils.kickoff import KickoffError

    project, _marker = make_project(tmp_path, tmux, fake, "arg")
    cfg = project / "agents.toml"
    cfg.write_text(cfg.read_text() + '\n[agents.b]\nkind = "persistent"\nbackend = "demo"\n')
    (project / "kickoffs" / "k.md").write_text("hello {{ nobody }}\n")
    proj, server = engine.open_project(str(cfg))
    with pytest.raises(KickoffError, match=r"k.md:1:7: unknown placeholder \{\{ nobody \}\}"):
        engine.converge(proj, server, [], "started", engine_script=ENGINE_SCRIPT)
    assert server.sessions() == {}
    assert engine.converge(proj, server, ["b"], "started", engine_script=ENGINE_SCRIPT).actions[0].verb == "start"


def loop_settings(project, settings):
    cfg = project / "agents.toml"
    cfg.write_text(cfg.read_text().replace('kickoff = "kickoffs/k.md"', 'kickoff = "kickoffs/k.md"\n' + settings))


def test_a_failing_loop_backs_off_goes_fatal_and_stays_down_until_reset(tmp_path, tmux, fake):
    project, _marker = make_project(tmp_path, tmux, fake, "arg", kind="loop", env='FAKE_EXIT = "1"\n')
    loop_settings(project, 'watch = "heal"\nloop_delay = 0.6\nbackoff_max = 2\nfatal_after = 3')
    config = project / "agents.toml"  # no start confirmation: up's wait would hide the first backoff
    config.write_text(config.read_text().replace("[project]\n", "[project]\nconfirm_seconds = 0\n", 1))
    proj, server, _actions = start(project)
    seen = []

    def state():  # as the engine that runs it (ENGINE_SCRIPT) sees it: it can start the loop
        seen.append(engine.read_status(proj, server, engine_script=ENGINE_SCRIPT).lines[-1].split("  ")[-1].strip())
        return seen[-1]

    assert wait_for(lambda: re.fullmatch(r"BACKOFF \[\S+\] #2 one [12]s", state()), timeout=20), seen
    assert wait_for(lambda: state() == "FATAL", timeout=20), seen
    assert re.fullmatch(r"BACKOFF \[\S+\] #1 one 1s", next(s for s in seen if s.startswith("BACKOFF"))), seen
    assert len(records(tmp_path)) == 3 and "r-a" not in server.sessions()
    reason = "3 failed iterations in a row (last exit 1)"
    assert bookkeeping.read_run(proj, proj.agent("a"))["fatal"] == reason
    assert engine.read_status(proj, server).rows[0].fatal == reason
    events = [(e["event"], e.get("failures")) for e in watchdog.read_events(proj, 0) if e["event"] != "exited"]
    assert events == [("backoff", 1), ("backoff", 2), ("fatal", 3)]
    dog = watchdog.Watchdog(proj, server, engine_script=ENGINE_SCRIPT)
    assert dog.check() == [] and "r-a" not in server.sessions(), "the watchdog leaves a FATAL loop alone"
    reset = subprocess.run([sys.executable, ENGINE_SCRIPT, "reset", "a"], cwd=project, capture_output=True,
                           text=True, check=False)
    assert reset.stdout == "reset a\n" and state() == "stopped"
    assert [e["event"] for e in dog.check()] == ["heal"] and "r-a" in server.sessions()


def test_a_success_resets_the_failure_count(tmp_path, tmux, fake):
    project, _marker = make_project(tmp_path, tmux, fake, "arg", kind="loop", env='FAKE_EXITS = "1,1,0,1,1,0"\n')
    loop_settings(project, "max_iterations = 6\nloop_delay = 0.1\nbackoff_max = 0.2\nfatal_after = 3")
    proj, server, _actions = start(project)
    assert wait_for(lambda: "r-a" not in server.sessions() and len(records(tmp_path)) == 6, timeout=30)
    record = bookkeeping.read_run(proj, proj.agent("a"))
    assert record["finished"] is True and "fatal" not in record
    assert "stopping after max_iterations=6" in open(os.path.join(proj.log_dir, "a.log")).read()


def test_a_program_that_dies_leaves_its_last_screen_and_logs_show_it(tmp_path, tmux, fake):
    said = "No conversation found with session ID: 0b7f2c1e"
    env = 'FAKE_EXIT = "1"\nFAKE_PRINT = "%s"\n' % said
    project, _marker = make_project(tmp_path, tmux, fake, "exec", env=env)
    proj, server, _actions = start(project)
    assert wait_for(lambda: engine.read_status(proj, server).lines[-1].endswith("DONE (exit 1)"), timeout=20)
    screen_path = os.path.join(proj.log_dir, "a.screen")
    header, *screen = open(screen_path, encoding="utf-8").read().splitlines()
    assert header.split(" ", 1)[1] == "iteration 1 exit=1 program=%s" % fake
    assert screen[-1] == said
    assert os.stat(screen_path).st_mode & 0o777 == 0o600
    log = open(os.path.join(proj.log_dir, "a.log")).read()
    assert "iteration 1 phase one end exit=1 seconds=" in log and log.rstrip().endswith(" last: " + said)
    exited = [e for e in watchdog.read_events(proj) if e["event"] == "exited"]
    assert [(e["reason"], e["outcome"], e["exit"]) for e in exited] == [(said, "exit 1", 1)]
    cli = [sys.executable, ENGINE_SCRIPT]
    shown = subprocess.run(cli + ["logs", "a", "--lines", "1"], cwd=project, capture_output=True, text=True,
                           check=False)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "== last screen (%s) ==" % screen_path and lines[1] == header
    assert said in lines[2:-2] and lines[-1].endswith(" last: " + said)
    unknown = subprocess.run(cli + ["logs", "ghost"], cwd=project, capture_output=True, text=True, check=False)
    assert unknown.returncode == 1 and "unknown agent 'ghost'" in unknown.stderr
