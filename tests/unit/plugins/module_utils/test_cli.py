# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine CLI's parsing, messages and exit codes, in process, with a fake tmux server
(pure: no tmux, no subprocess)."""

from __future__ import annotations

import os

import pytest
from engine_fakes import PHASES, FakeServer, FakeSession, make_project

from ansible_collections.agentloops.orchestrator.plugins.module_utils import cli, engine, procs, sessions, watchdog
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import AlreadyRunning

ROOT = "/engine-root"


def parse(*argv):
    return vars(cli.parse(list(argv)))


@pytest.mark.parametrize("argv, expected", [
    (["status"], {"command": "status"}),
    (["up"], {"command": "up", "agents": []}),
    (["up", "worker", "helper"], {"command": "up", "agents": ["worker", "helper"]}),
    (["down", "worker"], {"command": "down", "agents": ["worker"], "adopt": False}),
    (["down", "--adopt"], {"command": "down", "agents": [], "adopt": True}),
    (["validate"], {"command": "validate"}),
    (["phase", "show"], {"command": "phase", "step": "show"}),
    (["phase", "set", "p3"], {"command": "phase", "step": "set", "phase": "p3"}),
    (["phase", "set", "18"], {"command": "phase", "step": "set", "phase": "18"}),
    (["phase", "next"], {"command": "phase", "step": "next"}),
    (["kickoff", "a"], {"command": "kickoff", "agent": "a"}),
    (["pause", "a"], {"command": "pause", "agent": "a"}),
    (["resume", "a"], {"command": "resume", "agent": "a"}),
    (["run-agent", "a"], {"command": "run-agent", "agent": "a"}),
    (["reset", "a"], {"command": "reset", "agent": "a"}),
    (["watchdog"], {"command": "watchdog"}),
    (["events"], {"command": "events", "count": 20}),
    (["events", "5"], {"command": "events", "count": 5}),
    (["events", "0"], {"command": "events", "count": 0}),
    (["logs", "a"], {"command": "logs", "agent": "a", "lines": 20}),
    (["logs", "a", "--lines", "5"], {"command": "logs", "agent": "a", "lines": 5}),
    (["logs", "--lines=0", "a"], {"command": "logs", "agent": "a", "lines": 0}),
    (["cleanlogs"], {"command": "cleanlogs", "dry_run": False, "once": False}),
    (["cleanlogs", "--dry-run", "--once"], {"command": "cleanlogs", "dry_run": True, "once": True}),
])
def test_every_command_parses(argv, expected):
    args = parse(*argv)
    assert {k: args[k] for k in expected} == expected
    assert args["run"].__name__ == "cmd_" + expected["command"].replace("-", "_")
    assert (args["config"], args["tmux_socket"]) == (None, None)


@pytest.mark.parametrize("argv", [
    ["--config", "x.toml", "--tmux-socket", "s", "status"],
    ["--config=x.toml", "--tmux-socket=s", "status"],
    ["status", "--config", "x.toml", "--tmux-socket", "s"],
    ["--config", "x.toml", "status", "--tmux-socket=s"],
])
def test_global_options_before_or_after_the_command(argv):
    args = parse(*argv)
    assert (args["config"], args["tmux_socket"], args["command"]) == ("x.toml", "s", "status")


@pytest.mark.parametrize("argv", [
    ["up", "a", "--config", "x.toml", "b"],
    ["up", "a", "--config=x.toml", "b"],
    ["down", "a", "--tmux-socket", "s", "b", "--config", "x.toml"],
])
def test_global_options_between_agent_names(argv):
    args = parse(*argv)
    assert args["config"] == "x.toml" and args["agents"] == ["a", "b"]


def test_an_empty_socket_is_the_default_server_not_a_missing_value():
    assert parse("--tmux-socket", "", "up")["tmux_socket"] == ""
    assert parse("--tmux-socket=", "up")["tmux_socket"] == ""


def test_phase_set_keeps_any_text_for_the_engine():
    assert parse("phase", "set", "next")["phase"] == "next", "a phase may be named next"


# Bad usage: exit 2 and these exact messages (USAGE follows the top-level ones).
USAGE_ERRORS = [
    ([], "a command is required", True),
    (["--bogus", "status"], "unknown option --bogus", True),
    (["status", "--bogus"], "unknown option --bogus", True),
    (["cleanlogs", "--force"], "unknown option --force", True),
    (["--dry-run", "cleanlogs"], "unknown option --dry-run", True),
    (["--config"], "--config needs a value", True),
    (["status", "--tmux-socket"], "--tmux-socket needs a value", True),
    (["status", "extra"], "status takes no arguments", False),
    (["validate", "extra"], "validate takes no arguments", False),
    (["watchdog", "extra"], "watchdog takes no arguments", False),
    (["events", "x"], "use events [N]", False),
    (["events", "1", "2"], "use events [N]", False),
    (["events", "-1"], "use events [N]", False),
    (["cleanlogs", "now"], "use cleanlogs [--dry-run] [--once]", False),
    (["logs"], "use logs AGENT [--lines N]", False),
    (["logs", "a", "b"], "use logs AGENT [--lines N]", False),
    (["logs", "a", "--lines", "x"], "use logs AGENT [--lines N]", False),
    (["logs", "a", "--lines"], "use logs AGENT [--lines N]", False),
    (["phase"], "use phase show | phase set N|NAME | phase next", False),
    (["phase", "jump"], "use phase show | phase set N|NAME | phase next", False),
    (["phase", "set"], "use phase show | phase set N|NAME | phase next", False),
    (["phase", "set", "1", "2"], "use phase show | phase set N|NAME | phase next", False),
    (["phase", "show", "1"], "use phase show | phase set N|NAME | phase next", False),
] + [([verb], "use %s AGENT" % verb, False) for verb in ("kickoff", "pause", "resume", "run-agent", "reset")] + [
    ([verb, "a", "b"], "use %s AGENT" % verb, False) for verb in ("kickoff", "pause", "resume", "run-agent", "reset")]


@pytest.mark.parametrize("argv, message, with_usage", USAGE_ERRORS)
def test_bad_usage_exits_2_with_the_message(argv, message, with_usage, capsys):
    assert cli.main(argv, ROOT) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "agents.py: error: %s\n%s" % (message, cli.USAGE if with_usage else "")


def test_an_unknown_command_exits_2_with_usage(capsys):
    assert cli.main(["frobnicate"], ROOT) == 2
    assert capsys.readouterr().err == "agents.py: error: unknown command 'frobnicate'\n" + cli.USAGE


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["-h", "status"], ["--config", "x", "--help"]])
def test_help_prints_usage(argv, capsys):
    assert cli.main(argv, ROOT) == 0
    assert capsys.readouterr().out == cli.USAGE


@pytest.mark.parametrize("argv", [["up", "--help"], ["phase", "set", "-h"], ["events", "--help"]])
def test_every_command_has_its_own_help(argv, capsys):
    assert cli.main(argv, ROOT) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: agents.py %s [-h]" % " ".join(argv[:-1])) and out.endswith("\n")


def test_every_command_is_documented():
    commands = cli.build_parser().commands
    assert sorted(commands) == sorted(("status", "up", "down", "validate", "phase", "kickoff", "pause", "resume",
                                       "run-agent", "watchdog", "watchdog-guard", "reset", "events", "logs", "cleanlogs", "wait"))
    for name, parser in commands.items():
        command = getattr(cli, "cmd_" + name.replace("-", "_"))
        assert command.__doc__ and parser.description == " ".join(command.__doc__.split())
        assert "  %s" % name.split("-")[0] in cli.USAGE


# Commands, run against a fake tmux server.

@pytest.fixture
def fake(monkeypatch, tmp_path):
    """``agents.py --config <tmp>/agents.toml``, its tmux server a fake."""
    server = FakeServer()
    opened = []

    def open_project(config_path, tmux_socket=None, cached=False):
        opened.append((config_path, tmux_socket))
        return engine.config_mod.load(config_path), server

    monkeypatch.setattr(engine, "open_project", open_project)
    monkeypatch.setattr(procs, "watchdog_pids", lambda project: [])
    make_project(tmp_path)
    server.opened = opened
    server.config = str(tmp_path / "agents.toml")
    return server


def run(fake, capsys, *argv):
    code = cli.main(["--config", fake.config, *argv], ROOT)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_up_fails_naming_the_agents_it_cannot_start_and_starts_nothing(fake, capsys):
    """The engine at ROOT has no agents.py (nor the project an engine/): the loop and the
    watchdog cannot start. up exits 1 naming each and why, before starting anything."""
    code, out, err = run(fake, capsys, "up")
    assert (code, out, fake.started) == (1, "", [])
    lines = err.splitlines()
    assert lines[0] == ("agents.py: error: 2 agent(s) of unit cannot start, so nothing was started (a partial start "
                        "starts the others: allow_partial, up --allow-partial):")
    assert lines[1].startswith("  looper: loop agents need the engine's runner: no engine checkout at ")
    assert lines[2].startswith("  watchdog: the builtin watchdog needs the engine: no engine checkout at ")
    code, out, err = run(fake, capsys, "up", "worker")
    assert (code, err, out) == (0, "", "starting u-worker (demo, demo-1)\n"), "agents not named are no failure"


def test_up_and_down_print_each_change(fake, capsys, tmp_path):
    code, out, err = run(fake, capsys, "up", "--allow-partial")
    assert code == 0
    assert out.splitlines() == ["starting u-worker (demo, demo-1)", "starting u-helper"], \
        "a disabled agent is skipped silently"
    assert err.splitlines()[0].startswith("agents.py: warning: u-looper not started: loop agents need the engine's runner")
    assert err.splitlines()[1].startswith("agents.py: warning: u-watchdog not started: the builtin watchdog needs the ")
    assert len(err.splitlines()) == 2
    fake.live["u-spare"] = FakeSession("u-spare", "$50", sessions.owner_of(make_project(tmp_path)))
    code, out, _err = run(fake, capsys, "down")
    assert out == "killing u-worker\nkilling u-helper\nkilling u-spare\n"


def test_up_starts_the_others_then_fails_naming_a_conflict(fake, capsys):
    fake.live["u-worker"] = FakeSession("u-worker", "$60", "/other/agents.toml")
    code, out, err = run(fake, capsys, "up", "--allow-partial")
    assert code == 1 and "starting u-helper" in out
    assert err.endswith("\nagents.py: error: worker not started: session u-worker is owned by /other/agents.toml\n")
    assert [s[0] for s in fake.started] == ["u-helper"]
    code, out, err = run(fake, capsys, "down")
    assert code == 0 and "$60" not in fake.killed, "down never kills another project's session"


def test_a_start_that_died_still_says_the_conflict_and_the_skips(fake, capsys, monkeypatch):
    """up with an agent that died at once and a session owned by another project: both are
    said (the conflict and the skips on stdout, the death as the error), not only the death."""
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import engine
    from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import StartFailed

    fake.live["u-worker"] = FakeSession("u-worker", "$60", "/other/agents.toml")
    real = engine.converge

    def dies(*args, **kwargs):
        error = StartFailed("1 of the agents started did not stay up (confirm_seconds = 1):\nu-helper died")
        error.result = real(*args, **kwargs)
        raise error

    monkeypatch.setattr(engine, "converge", dies)
    code, out, err = run(fake, capsys, "up", "--allow-partial")
    assert code == 1 and err.splitlines()[-2].startswith("agents.py: error: 1 of the agents started did not stay up")
    assert "worker not started: session u-worker is owned by /other/agents.toml" in out
    assert "agents.py: warning: u-looper not started: loop agents need the engine's runner" in err


def test_down_leaves_untagged_sessions_unless_adopted_and_stops_orphans(fake, capsys, tmp_path):
    fake.live["u-worker"] = FakeSession("u-worker", "$61")
    fake.live["u-gone"] = FakeSession("u-gone", "$62", sessions.owner_of(make_project(tmp_path)))
    code, out, _err = run(fake, capsys, "down")
    assert code == 0 and fake.killed == ["$62"] and "killing u-gone (no longer in agents.toml)" in out
    assert "skipping u-worker: session u-worker was not started by an engine" in out
    code, out, _err = run(fake, capsys, "down", "--adopt")
    assert code == 0 and fake.killed == ["$62", "$61"] and out == "killing u-worker\n"


def test_status_lists_orphans(fake, capsys, tmp_path):
    fake.live["u-gone"] = FakeSession("u-gone", "$63", sessions.owner_of(make_project(tmp_path)))
    code, out, _err = run(fake, capsys, "status")
    assert code == 0 and out.splitlines()[-1] == "orphan  u-gone  (no longer in agents.toml)"


def test_up_runs_agents_with_this_engines_agents_py(fake, capsys, tmp_path):
    root = tmp_path / "engine"
    root.mkdir()
    (root / "agents.py").write_text("")
    assert cli.main(["--config", fake.config, "up", "looper", "watchdog"], str(root)) == 0
    assert capsys.readouterr().out == "starting u-looper (demo, -)\nstarting watchdog\n"
    assert all(str(root / "agents.py") in command for _n, command, *_rest in fake.started)


def test_status_prints_the_table(fake, capsys):
    fake.live["u-helper"] = FakeSession("u-helper", "$1")
    code, out, _err = run(fake, capsys, "status")
    assert code == 0
    assert out.splitlines()[0] == "AGENT     KIND        BACKEND  MODEL   WATCH  STATE"
    assert out.splitlines()[2] == "helper    service     -        -       -      RUNNING"
    assert fake.opened == [(fake.config, None)]


def test_the_socket_option_reaches_the_engine(fake, capsys):
    run(fake, capsys, "--tmux-socket", "other", "status")
    assert fake.opened == [(fake.config, "other")]


def test_validate_phase_pause_resume_reset_events(fake, capsys, tmp_path):
    assert run(fake, capsys, "validate") == (0, "%s: OK — 5 agent(s), 0 phase(s)\n" % os.path.relpath(fake.config), "")
    assert run(fake, capsys, "pause", "looper") == (0, "paused looper (it finishes its current iteration)\n", "")
    assert run(fake, capsys, "resume", "looper") == (0, "resumed looper\n", "")
    assert run(fake, capsys, "reset", "worker") == (0, "reset worker (nothing to clear)\n", "")
    code, out, _err = run(fake, capsys, "events")
    assert code == 0 and out.split()[1:] == ["worker", "reset", "operator", "->", "nothing", "to", "clear"]
    assert run(fake, capsys, "phase", "show") == (1, "", "agents.py: error: %s has no [[phases]]\n" % fake.config)


def test_phase_commands_print_the_phase(fake, capsys, tmp_path):
    (tmp_path / "agents.toml").write_text(PHASES)
    assert run(fake, capsys, "phase", "show") == (0, "phase: p0 [1/3] plan=plan-0.md (in progress)\n", "")
    assert run(fake, capsys, "phase", "set", "p2")[1] == "phase: p2 [3/3] plan=plan-2.md (in progress)\n"
    assert run(fake, capsys, "phase", "next") == (1, "", "agents.py: error: already at the last phase (p2)\n")
    assert run(fake, capsys, "phase", "set", "0")[1].startswith("phase: p0 [1/3]")
    assert run(fake, capsys, "phase", "next")[1].startswith("phase: p1 [2/3]")


def test_operation_errors_exit_1_and_config_errors_exit_2(fake, capsys):
    assert run(fake, capsys, "pause", "worker") == (
        1, "", "agents.py: error: only loop agents pause; worker is a persistent agent\n")
    code, out, err = run(fake, capsys, "kickoff", "ghost")
    assert (code, out) == (2, "") and "unknown agent(s) ghost" in err and not err.startswith("agents.py")


def test_logs_print_the_last_screen_then_the_logs_tail(fake, capsys, tmp_path):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils.layout import StateLayout

    layout = StateLayout.of(engine.config_mod.load(fake.config))
    assert run(fake, capsys, "logs", "looper") == (
        0, "no screen kept yet (%s)\nno log yet (%s)\n" % (layout.screen("looper"), layout.log("looper")), "")
    os.makedirs(layout.log_dir)
    with open(layout.screen("looper"), "w") as handle:
        handle.write("2026-01-01T00:00:00+0000 iteration 2 exit=1 program=claude\n$ claude\n"
                     "No conversation found with session ID: 42\n")
    with open(layout.log("looper"), "w") as handle:
        handle.write("".join("line %d\n" % n for n in range(1, 31)))
    code, out, err = run(fake, capsys, "logs", "looper", "--lines", "2")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "== last screen (%s) ==" % layout.screen("looper"),
        "2026-01-01T00:00:00+0000 iteration 2 exit=1 program=claude", "$ claude",
        "No conversation found with session ID: 42",
        "== last 2 lines of %s ==" % layout.log("looper"), "line 29", "line 30"]
    assert run(fake, capsys, "logs", "looper")[1].splitlines()[-21:-19] == ["== last 20 lines of %s ==" %
                                                                            layout.log("looper"), "line 11"]
    assert len(run(fake, capsys, "logs", "looper", "--lines", "0")[1].splitlines()) == 4 + 1 + 30


def test_logs_of_an_unknown_agent_is_an_error(fake, capsys):
    assert run(fake, capsys, "logs", "ghost") == (
        1, "", "agents.py: error: unknown agent 'ghost'; this config has: worker, helper, spare, looper, watchdog\n")


def test_a_second_watchdog_exits_3(fake, capsys, monkeypatch):
    def busy(project, server, poll=2.0, engine_script=""):
        assert engine_script == os.path.join(ROOT, "agents.py")
        raise AlreadyRunning("another watchdog (pid 7) already watches unit; refusing to start a second one")

    monkeypatch.setattr(watchdog, "main", busy)
    assert run(fake, capsys, "watchdog") == (
        3, "", "agents.py: another watchdog (pid 7) already watches unit; refusing to start a second one\n")


def test_the_default_config_is_here_else_beside_the_engine(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    engine_root = tmp_path / "project" / "engine"
    engine_root.mkdir(parents=True)
    assert cli.default_config(str(engine_root)) == str(tmp_path / "agents.toml")
    (tmp_path / "project" / "agents.toml").write_text("")
    assert cli.default_config(str(engine_root)) == str(tmp_path / "project" / "agents.toml")
    (tmp_path / "agents.toml").write_text("")
    assert cli.default_config(str(engine_root)) == str(tmp_path / "agents.toml")


def test_a_plain_status_is_parsed_as_the_parser_would():
    """``status`` alone skips building every command's parser, with the same result."""
    full = cli.build_parser().parse_known_args(["status"])
    assert full[1] == [] and vars(cli.parse(["status"])) == vars(full[0])
