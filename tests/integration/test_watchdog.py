# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The builtin watchdog on private tmux servers, started as operators start it (agents.py up)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from helpers import engine_cli, engine_events, end_spawned, running, spawned, wait_for, write_spawner

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config, procs
from ansible_collections.agentloops.orchestrator.plugins.module_utils.watchdog import QUIET_POLL

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIG = """
[project]
session_prefix = "w-"
tmux_socket = "{socket}"

[backends.crash]
bin = "exit 1"
prompt_delivery = "exec"

[agents.worker]
kind = "persistent"
backend = "demo"
watch = "heal"

[agents.unwatched]
kind = "persistent"
backend = "demo"
watch = "none"

[agents.crasher]
kind = "persistent"
backend = "crash"
watch = "heal"
enabled = {crasher}
start_seconds = 5
backoff_max = 1
fatal_after = 4
fatal_window = 60

[agents.watchdog]
kind = "service"
builtin = "watchdog"
"""


cli, events = engine_cli, engine_events


def make(tmp_path, tmux, crasher="false"):
    project = tmp_path / "p"
    project.mkdir()
    (project / "agents.toml").write_text(CONFIG.format(socket=tmux.socket, crasher=crasher))
    return project


def test_kill_9_is_healed_and_unwatched_agents_are_not(tmp_path, tmux):
    project = make(tmp_path, tmux)
    assert cli(project, "up").stdout.splitlines()[-1] == "starting watchdog"
    assert wait_for(lambda: any(e["event"] == "start" for e in events(project)))
    assert wait_for(lambda: tmux.sessions().get("w-worker", (0, 0, 0, ""))[3] == "sleep")
    before = tmux.sessions()
    os.kill(before["w-worker"][2], signal.SIGKILL)
    os.kill(before["w-unwatched"][2], signal.SIGKILL)
    old = before["w-worker"][2]
    # one read per try: a session read twice can be gone in between (it is being healed)
    assert wait_for(lambda: tmux.sessions().get("w-worker", (0, 0, old, ""))[2] != old)
    # the heal event is written just after the new session starts: wait for it, not only the session
    assert wait_for(lambda: any(e["event"] == "heal" for e in events(project)))
    heal = [e for e in events(project) if e["event"] == "heal"]
    assert heal and heal[0]["agent"] == "worker" and heal[0]["outcome"] == "restarted"
    time.sleep(0.5)
    assert "w-unwatched" not in tmux.sessions()
    assert "restarts=1" in cli(project, "status").stdout.splitlines()[1]


def test_down_while_the_watchdog_runs_stays_down(tmp_path, tmux):
    project = make(tmp_path, tmux)
    cli(project, "up")
    assert wait_for(lambda: any(e["event"] == "start" for e in events(project)))
    cli(project, "down", "worker")
    time.sleep(2.5)  # longer than the watchdog's poll
    assert "w-worker" not in tmux.sessions()
    assert "w-watchdog" in tmux.sessions()
    assert not [e for e in events(project) if e["event"] == "heal"]
    cli(project, "up", "worker")
    pid = tmux.sessions()["w-worker"][2]
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: tmux.sessions().get("w-worker", (0, 0, pid, ""))[2] != pid)


def test_crash_loop_backs_off_then_goes_fatal_until_reset(tmp_path, tmux):
    project = make(tmp_path, tmux, crasher="true")
    cli(project, "up")
    assert wait_for(lambda: any(e["event"] == "fatal" for e in events(project)), timeout=30)
    kinds = [e["event"] for e in events(project) if e["agent"] == "crasher"]
    assert "backoff" in kinds and kinds.index("backoff") < kinds.index("fatal")
    heals = kinds.count("heal")
    assert heals <= 4, "no restart storm: %s" % "; ".join("%s %s %s" % (e["event"], e["reason"], e["outcome"]) for e in events(project))
    time.sleep(2.5)
    assert [e["event"] for e in events(project) if e["agent"] == "crasher"].count("heal") == heals
    status = cli(project, "status").stdout
    assert [line for line in status.splitlines() if line.startswith("crasher")][0].split()[-2:] == [
        "FATAL", "restarts=%d" % heals]
    assert cli(project, "reset", "crasher").stdout == "reset crasher\n"
    assert wait_for(lambda: [e["event"] for e in events(project) if e["agent"] == "crasher"].count("heal") > heals,
                    timeout=10)
    assert "reset" in cli(project, "events", "50").stdout


def test_exactly_one_watchdog(tmp_path, tmux):
    project = make(tmp_path, tmux)
    ups = [subprocess.Popen([sys.executable, os.path.join(REPO, "agents.py"), "up"], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _up in range(2)]
    for proc in ups:
        proc.communicate(timeout=60)
    proj = config.load(str(project / "agents.toml"))
    assert wait_for(lambda: len(procs.watchdog_pids(proj)) == 1)
    second = cli(project, "watchdog")
    assert second.returncode == 3
    assert "another watchdog (pid %d) already watches" % procs.watchdog_pids(proj)[0] in second.stderr
    time.sleep(0.3)
    assert len(procs.watchdog_pids(proj)) == 1


STALL = """
[project]
session_prefix = "s-"
tmux_socket = "{socket}"

[backends.ticker]
bin = "{bin}"
prompt_delivery = "exec"

[agents.t]
kind = "persistent"
backend = "ticker"
watch = "heal+stall"
stall_after = 2
stall_grace = 0
nudge_wait = 3
nudge = "please go on"

[agents.watchdog]
kind = "service"
builtin = "watchdog"
"""


def stall_project(tmp_path, tmux, bin_):
    project = tmp_path / "p"
    project.mkdir()
    (project / "agents.toml").write_text(STALL.format(socket=tmux.socket, bin=bin_))
    return project


TICKER = "import itertools, time\nfor w in itertools.cycle(['alpha', 'beta', 'gamma']):\n    print(w, flush=True)\n" \
         "    time.sleep(0.2)\n"


def test_sigstop_is_detected_nudged_then_restarted(tmp_path, tmux):
    (tmp_path / "ticker.py").write_text(TICKER)
    # "; true" keeps a shell above the program: tmux resumes a stopped pane process itself
    # (SIGCONT), and a keeper goes on waiting for a shell whose child stopped, so the agent
    # stopped here is the program under it, as under the runner.
    project = stall_project(tmp_path, tmux, "%s %s ; true" % (sys.executable, tmp_path / "ticker.py"))
    cli(project, "up")
    assert wait_for(lambda: "s-t" in tmux.sessions())
    time.sleep(3.0)
    assert not any(e["event"] == "stall" for e in events(project)), "a ticking agent is not stalled"
    shell = tmux.sessions()["s-t"][2]

    def ticker(pid):  # the program itself, not a shell whose command line names it
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().split(b"\0")[:2] == [sys.executable.encode(), str(tmp_path / "ticker.py").encode()]

    (pid,) = [p for p in procs.descendants(shell) if ticker(p)]
    os.kill(pid, signal.SIGSTOP)
    try:
        assert wait_for(lambda: any(e["event"] == "stall" for e in events(project)), timeout=15)
        stall = [e for e in events(project) if e["event"] == "stall"][0]
        assert stall["outcome"] == "nudged with 'please go on'"
        assert "STALLED" in cli(project, "status").stdout.splitlines()[1]
        assert "please go on" in tmux.run("capture-pane", "-p", "-t", "=s-t:", check=False).stdout
        assert wait_for(lambda: any(e["outcome"] == "restarted" for e in events(project) if e["event"] == "stall"),
                        timeout=20)
        agent_events = [(e["event"], e["outcome"]) for e in events(project) if e["agent"] == "t"]
        assert agent_events[:2] == [("stall", "nudged with 'please go on'"), ("stall", "restarted")]
        assert wait_for(lambda: "s-t" in tmux.sessions() and tmux.sessions()["s-t"][2] != shell)
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def test_a_screen_that_only_animates_is_a_stall(tmp_path, tmux):
    spinner = "while :; do for c in 1 2 3 4; do printf '\\\\r%s working' $c; sleep 0.2; done; done"
    project = stall_project(tmp_path, tmux, spinner)
    cli(project, "up")
    assert wait_for(lambda: "s-t" in tmux.sessions())
    first = tmux.sessions()["s-t"][0]
    assert wait_for(lambda: any(e["outcome"] == "restarted" for e in events(project)), timeout=30)
    seen = events(project)
    upto = [e["outcome"] for e in seen].index("restarted") + 1
    assert [(e["agent"], e["event"], e["outcome"]) for e in seen[:upto]] == [
        ("watchdog", "start", "watching 1 agent(s)"),
        ("t", "stall", "nudged with 'please go on'"),
        ("t", "stall", "restarted"),
    ]
    assert seen[1]["reason"].startswith("no output for ")
    assert seen[2]["reason"].startswith("no new output ") and seen[2]["reason"].endswith("s after the nudge")
    assert seen[2]["restarts"] == 1
    assert wait_for(lambda: "s-t" in tmux.sessions() and tmux.sessions()["s-t"][0] != first)


def test_foreground_watchdog_brings_everything_back_after_the_tmux_server_dies(tmp_path, tmux):
    project = make(tmp_path, tmux)
    cfg = project / "agents.toml"
    cfg.write_text(cfg.read_text().replace('[agents.unwatched]\nkind = "persistent"\nbackend = "demo"\nwatch = "none"',
                                           '[agents.unwatched]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal"'))
    cli(project, "up", "worker", "unwatched")
    foreground = subprocess.Popen([sys.executable, os.path.join(REPO, "agents.py"), "watchdog"], cwd=project,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: any(e["event"] == "start" for e in events(project)))
        assert "RUNNING (foreground)" in cli(project, "status").stdout
        tmux.run("kill-server")
        assert wait_for(lambda: {"w-worker", "w-unwatched"} <= set(tmux.sessions()), timeout=15)
        # each heal's event is written just after its session starts
        assert wait_for(lambda: {e["agent"] for e in events(project) if e["event"] == "heal"} == {"worker", "unwatched"})
    finally:
        foreground.terminate()
        foreground.wait(timeout=10)


SPAWNING = """
[project]
session_prefix = "h-"
tmux_socket = "{socket}"

[backends.spawner]
bin = "{bin}"
prompt_delivery = "exec"

[agents.spawner]
kind = "persistent"
backend = "spawner"
watch = "heal"

[agents.watchdog]
kind = "service"
builtin = "watchdog"
"""


def test_a_heal_ends_what_the_dead_agent_left_running(tmp_path, tmux):
    project = tmp_path / "p"
    project.mkdir()
    runs = tmp_path / "runs"
    runs.mkdir()
    command = write_spawner(runs, sys.executable)
    (project / "agents.toml").write_text(SPAWNING.format(socket=tmux.socket, bin=command.replace('"', '\\"')))
    cli(project, "up")
    left = spawned(runs)
    later = {}
    try:
        assert wait_for(lambda: any(e["event"] == "start" for e in events(project)))
        for name in left:
            os.remove(runs / ("%s.pid" % name))
        os.kill(tmux.sessions()["h-spawner"][2], signal.SIGKILL)
        assert wait_for(lambda: any(e["event"] == "heal" for e in events(project)), timeout=15)
        (heal,) = [e for e in events(project) if e["event"] == "heal"]
        # the pane died first: what dropped the agent's identity cannot be told from a stranger now
        assert heal["agent"] == "spawner" and heal["ended"] == 2, heal
        assert wait_for(lambda: not running(*left["daemon"]) and not running(*left["child"]), timeout=5)
        later = spawned(runs)  # the healed agent spawns anew
        assert cli(project, "down").stdout.splitlines()[:2] == ["killing h-spawner", "killing h-watchdog"]
        assert wait_for(lambda: not any(running(*found) for found in later.values()), timeout=5)
    finally:
        end_spawned(left)
        end_spawned(later)


def test_an_agent_added_to_agents_toml_while_the_watchdog_runs_is_healed(tmp_path, tmux):
    project = make(tmp_path, tmux)
    cfg = project / "agents.toml"
    cli(project, "up")
    assert wait_for(lambda: any(e["event"] == "start" for e in events(project)))
    cfg.write_text(cfg.read_text() + "\n[agents.newbie\n")  # a slip first: reported once, the old config kept
    # a quiet watchdog reads the server (and agents.toml's stamp) every QUIET_POLL seconds
    assert wait_for(lambda: any(e["event"] == "error" for e in events(project)), timeout=QUIET_POLL + 5)
    cfg.write_text(cfg.read_text().replace("[agents.newbie\n", NEWBIE))
    assert wait_for(lambda: any(e["event"] == "reload" for e in events(project)), timeout=QUIET_POLL + 5)
    (reload,) = [e for e in events(project) if e["event"] == "reload"]
    assert (reload["added"], reload["removed"], reload["outcome"]) == (["newbie"], [], "added newbie")
    errors = [e for e in events(project) if e["event"] == "error"]
    assert len(errors) == 1 and errors[0]["reason"].startswith("not reloaded: %s:" % cfg), errors

    def heals():
        return [e["reason"] for e in events(project) if e["event"] == "heal" and e["agent"] == "newbie"]

    # watched and never stopped by an operator: the watchdog brings it up, as it would at its own start
    assert wait_for(lambda: heals() == ["session gone"], timeout=10)
    assert cli(project, "up", "newbie").stdout == "", "already running"
    assert wait_for(lambda: tmux.sessions().get("w-newbie", (0, 0, 0, ""))[3] == "sleep")
    pid = tmux.sessions()["w-newbie"][2]
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: len(heals()) == 2, timeout=10)
    assert wait_for(lambda: "w-newbie" in tmux.sessions() and tmux.sessions()["w-newbie"][2] != pid)


NEWBIE = """
[agents.newbie]
kind = "persistent"
backend = "demo"
watch = "heal"
"""


def test_a_symlinked_watchdog_lock_is_refused_and_its_target_untouched(tmp_path, tmux):
    """Someone who can write the state folder links state/watchdog.lock to a file of the
    operator's: the watchdog neither truncates it nor writes its pid into it; it refuses,
    naming the link, and nothing of the project starts watching."""
    project = make(tmp_path, tmux)
    precious = tmp_path / "precious.txt"
    precious.write_text("the operator's notes\n")
    (project / "state").mkdir()
    (project / "state" / "watchdog.lock").symlink_to(precious)
    refused = cli(project, "watchdog")
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr == ("agents.py: error: refusing to open lock %s: it is a symlink (to %s) and the engine "
                              "never follows a symlink among its state and log files; remove it\n"
                              % (project / "state" / "watchdog.lock", precious))
    assert precious.read_text() == "the operator's notes\n"
    assert (project / "state" / "watchdog.lock").is_symlink()
    assert procs.watchdog_pids(config.load(str(project / "agents.toml"))) == []
    assert tmux.sessions() == {}


def guard_pid(project):
    path = project / "state" / "watchdog-guard.lock"
    text = path.read_text().strip() if path.exists() else ""
    return int(text) if text.isdigit() and procs.read_stat(int(text)) is not None else 0


def watchdog_up(tmux, old=0):
    """The pid of a watchdog that runs in its session (other than ``old``), else 0."""
    pid = tmux.sessions().get("w-watchdog", (0, 0, 0, ""))[2]
    return pid if pid and pid != old and procs.read_stat(pid) is not None else 0


def guarded(project, tmux):
    """Up, with the watchdog running and its guard started."""
    assert cli(project, "up").returncode == 0
    assert wait_for(lambda: any(e["event"] == "start" for e in events(project)))
    assert wait_for(lambda: guard_pid(project), timeout=10), "the watchdog starts its guard"
    return watchdog_up(tmux)


def test_a_watchdog_killed_with_kill_9_comes_back_by_itself(tmp_path, tmux):
    project = make(tmp_path, tmux)
    old = guarded(project, tmux)
    os.kill(old, signal.SIGKILL)
    assert wait_for(lambda: watchdog_up(tmux, old), timeout=10), "back within seconds, no operator"
    assert wait_for(lambda: [e["outcome"] for e in events(project) if e["event"] == "heal"] ==
                    ["restarted by its guard"])
    assert wait_for(lambda: len(procs.watchdog_pids(config.load(str(project / "agents.toml")))) == 1)
    time.sleep(0.5)
    assert len(procs.watchdog_pids(config.load(str(project / "agents.toml")))) == 1, "one watchdog, not two"
    worker = tmux.sessions()["w-worker"][2]
    os.kill(worker, signal.SIGKILL)  # and the watchdog that came back heals as before
    assert wait_for(lambda: tmux.sessions().get("w-worker", (0, 0, worker, ""))[2] != worker, timeout=10)


def test_a_watchdog_whose_session_is_killed_comes_back_by_itself(tmp_path, tmux):
    project = make(tmp_path, tmux)
    old = guarded(project, tmux)
    tmux.run("kill-session", "-t", "=w-watchdog")
    assert wait_for(lambda: watchdog_up(tmux, old), timeout=10)
    assert wait_for(lambda: any(e["event"] == "heal" for e in events(project)))  # written just after the start
    (heal,) = [e for e in events(project) if e["event"] == "heal"]
    assert heal["agent"] == "watchdog" and heal["reason"] == "watchdog gone (its lock free, no session)"


def test_a_killed_guard_is_started_again_by_the_watchdog(tmp_path, tmux):
    project = make(tmp_path, tmux)
    guarded(project, tmux)
    first = guard_pid(project)
    os.kill(first, signal.SIGKILL)
    assert wait_for(lambda: guard_pid(project) not in (0, first), timeout=15)


def test_a_watchdog_stopped_by_down_stays_down(tmp_path, tmux):
    project = make(tmp_path, tmux)
    guarded(project, tmux)
    guard = guard_pid(project)
    assert cli(project, "down", "watchdog").stdout == "killing w-watchdog\n"
    assert wait_for(lambda: not guard_pid(project), timeout=5), "the guard leaves with the watchdog"
    time.sleep(2.5)
    assert "w-watchdog" not in tmux.sessions() and "w-worker" in tmux.sessions()
    assert not [e for e in events(project) if e["event"] == "heal"]
    assert procs.read_stat(guard) is None
    guarded(project, tmux)  # up again: a watchdog and a guard again
    assert cli(project, "down").returncode == 0
    assert wait_for(lambda: not guard_pid(project), timeout=5)
    time.sleep(2)
    assert not [n for n in tmux.sessions() if n.startswith("w-")]


DIES_AT_ONCE = """
[project]
session_prefix = "d-"
tmux_socket = "{socket}"
confirm_seconds = 3

[backends.broken]
bin = "echo 'starting broken'; echo 'error: ANTHROPIC_API_KEY is not set' >&2; exit 4"
prompt_delivery = "exec"

[agents.fine]
kind = "persistent"
backend = "demo"

[agents.broken]
kind = "persistent"
backend = "broken"
"""


def test_up_exits_non_zero_naming_an_agent_that_died_at_once_with_its_last_screen(tmp_path, tmux):
    project = tmp_path / "p"
    project.mkdir()
    (project / "agents.toml").write_text(DIES_AT_ONCE.format(socket=tmux.socket))
    started = time.monotonic()
    done = cli(project, "up")
    assert done.returncode == 1, done
    assert time.monotonic() - started < 15, "one wait for all, not one per agent"
    # (exit 4), or, when tmux has not read the exit status yet (a loaded host), (its program ended)
    assert done.stderr.replace("(its program ended)", "(exit 4)") == (
        "agents.py: error: 1 of the agents started did not stay up (confirm_seconds = 3):\n"
        "d-broken died within 3s of its start (exit 4); its last screen:\n"
        "    starting broken\n    error: ANTHROPIC_API_KEY is not set\n"), done.stderr
    assert done.stdout.splitlines() == ["starting d-fine (demo, -)", "starting d-broken (broken, -)"]
    live = tmux.sessions()
    assert "d-fine" in live and "d-broken" not in live, "the dead one is gone, the other runs on"
    assert tmux.run("show-options", "-w", "-v", "-t", "=d-fine:", "remain-on-exit").stdout.strip() in ("off", "")
    assert cli(project, "up").returncode == 1, "and again: no hiding it"
