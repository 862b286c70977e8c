# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``agents.py``: the engine CLI that runs on a host from a project checkout.

    python3 engine/agents.py [--config agents.toml] [--tmux-socket S] COMMAND

Exit status: 0 done, 1 an operation failed, 2 bad usage or an invalid config.
"""

from __future__ import annotations

import os
import sys

from .errors import ConfigError, OrchestratorError

USAGE = """usage: agents.py [--config PATH] [--tmux-socket NAME|PATH] COMMAND [AGENT...]

commands:
  status            show the phase and every agent's state (read-only)
  up [AGENT...]     start enabled agents that are not running (all by default)
  down [AGENT...]   kill the project's agent sessions (all by default)
  validate          check the config and report every error with file:line:col
  phase show        the current phase
  phase set N|NAME  make phase N (0-based) or NAME the current one
  phase next        move to the next phase
  kickoff AGENT     print the agent's kickoff prompt rendered for the current phase
  pause AGENT       hold a loop agent before its next iteration
  resume AGENT      let a paused loop agent go on
  run-agent AGENT   (inside an agent's session) run the agent: its loop, task or program
  watchdog          heal agents whose watch is heal or heal+stall (runs until killed;
                    `up` starts it in <prefix>watchdog; run it under a service manager too)
  reset AGENT       clear an agent's BACKOFF/FATAL state so the watchdog heals it again
  events [N]        the last N (default 20) watchdog events
  cleanlogs [--dry-run] [--once]
                    prune log_dir by age and total size (the builtin service loops)

options:
  --config PATH         the project's agents.toml (default: ./agents.toml, else the
                        agents.toml beside the engine checkout)
  --tmux-socket VALUE   override the config's tmux_socket ("" = default server,
                        a name = tmux -L NAME, a path = tmux -S PATH)
"""


def _parse(argv: list) -> tuple:
    opts = {"config": None, "tmux_socket": None}
    rest = []
    it = iter(argv)
    for arg in it:
        if arg in ("-h", "--help"):
            return None, None, []
        name, eq, value = arg.partition("=")
        if name in ("--config", "--tmux-socket") and arg.startswith("--"):
            if not eq:
                value = next(it, None)
                if value is None:
                    raise ValueError("%s needs a value" % name)
            opts[name[2:].replace("-", "_")] = value
        elif arg in ("--dry-run", "--once") and rest:
            rest.append(arg)  # options of the cleanlogs command
        elif arg.startswith("-") and arg != "-":
            raise ValueError("unknown option %s" % arg)
        else:
            rest.append(arg)
    if not rest:
        raise ValueError("a command is required")
    return opts, rest[0], rest[1:]


def default_config(engine_root: str) -> str:
    here = os.path.abspath("agents.toml")
    if os.path.exists(here):
        return here
    beside = os.path.join(os.path.dirname(os.path.abspath(engine_root)), "agents.toml")
    return beside if os.path.exists(beside) else here


def project_agent_defaults():
    from .config import Agent, CleanlogsSettings

    return Agent("cleanlogs", "service", builtin="cleanlogs", cleanlogs=CleanlogsSettings())


def main(argv: list, engine_root: str) -> int:
    out, err = sys.stdout, sys.stderr
    try:
        opts, command, args = _parse(argv)
    except ValueError as exc:
        err.write("agents.py: error: %s\n%s" % (exc, USAGE))
        return 2
    if command is None:
        out.write(USAGE)
        return 0
    if command not in ("status", "up", "down", "validate", "phase", "kickoff", "pause", "resume", "run-agent",
                       "watchdog", "reset", "events", "cleanlogs"):
        err.write("agents.py: error: unknown command %r\n%s" % (command, USAGE))
        return 2
    if args and command in ("status", "validate"):
        err.write("agents.py: error: %s takes no arguments\n" % command)
        return 2
    if command == "events" and (len(args) > 1 or (args and not args[0].isdigit())):
        err.write("agents.py: error: use events [N]\n")
        return 2
    if command == "cleanlogs" and not set(args) <= {"--dry-run", "--once"}:
        err.write("agents.py: error: use cleanlogs [--dry-run] [--once]\n")
        return 2
    if command == "watchdog" and args:
        err.write("agents.py: error: watchdog takes no arguments\n")
        return 2
    if command in ("kickoff", "pause", "resume", "run-agent", "reset") and len(args) != 1:
        err.write("agents.py: error: use %s AGENT\n" % command)
        return 2
    if command == "phase" and not (args in (["show"], ["next"]) or (len(args) == 2 and args[0] == "set")):
        err.write("agents.py: error: use phase show | phase set N|NAME | phase next\n")
        return 2

    from . import engine  # after argument checks: --help stays instant

    if command in ("up", "down", "watchdog"):
        from . import sessions

        sessions.ENGINE_SCRIPT = os.path.join(engine_root, "agents.py")

    config_path = opts["config"] or default_config(engine_root)
    try:
        project, server = engine.open_project(config_path, opts["tmux_socket"])
        if command == "validate":
            out.write("%s: OK — %d agent(s), %d phase(s)\n" % (
                os.path.relpath(project.config_path), len(project.agents), len(project.phases)))
        elif command == "watchdog":
            from . import watchdog

            try:
                return watchdog.main(project, server)
            except watchdog.AlreadyRunning as exc:
                err.write("agents.py: %s\n" % exc)
                return 3
        elif command == "cleanlogs":
            from . import cleanlogs

            agent = next((a for a in project.agents if a.builtin == "cleanlogs"), None)
            return cleanlogs.main(project, agent or project_agent_defaults(), "--dry-run" in args, "--once" in args,
                                  out)
        elif command == "reset":
            from . import watchdog

            agent = project.select(args)[0]
            cleared = watchdog.reset(project, agent)
            out.write("reset %s%s\n" % (agent.name, "" if cleared else " (nothing to clear)"))
        elif command == "events":
            import json

            from . import watchdog

            for record in watchdog.read_events(project, int(args[0]) if args else 20):
                extra = {k: v for k, v in record.items()
                         if k not in ("ts", "time", "agent", "event", "reason", "outcome")}
                tail = (" " + json.dumps(extra, sort_keys=True)) if extra else ""
                fields = (record.get("ts"), record.get("agent"), record.get("event"), record.get("reason"),
                          record.get("outcome"), tail)
                out.write("%s %-12s %-8s %s -> %s%s\n" % fields)
        elif command == "run-agent":
            from . import runner

            return runner.main(project, project.select(args)[0])
        elif command in ("pause", "resume"):
            from . import runner
            from .fsutil import atomic_write

            agent = project.select(args)[0]
            if agent.kind != "loop":
                raise OrchestratorError("only loop agents pause; %s is a %s agent" % (agent.name, agent.kind))
            path = runner.pause_file(project, agent)
            if command == "pause":
                atomic_write(path, "paused\n")
                out.write("paused %s (it finishes its current iteration)\n" % agent.name)
            else:
                if os.path.exists(path):
                    os.unlink(path)
                out.write("resumed %s\n" % agent.name)
        elif command == "kickoff":
            from . import kickoff

            agent = project.select(args)[0]
            out.write(kickoff.render_for(project, agent))
        elif command == "phase":
            from . import state, status

            if args[0] == "set":
                state.set_phase(project, args[1])
            elif args[0] == "next":
                state.set_phase(project, state.next_phase(project))
            if not project.phases:
                raise state.StateError("%s has no [[phases]]" % project.config_path)
            out.write(status.phase_header(project, state.read_phase_index(project)) + "\n")
        elif command == "status":
            _rows, lines, _index = engine.read_status(project, server)
            out.write("\n".join(lines) + "\n")
        else:
            def report(action) -> None:
                if action.verb == "stop":
                    out.write("killing %s\n" % action.session)
                elif action.agent.builtin == "watchdog":
                    out.write("starting watchdog\n")
                elif action.agent.is_service:
                    out.write("starting %s\n" % action.session)
                else:
                    out.write("starting %s (%s, %s)\n" % (action.session, action.agent.backend,
                                                          action.agent.model or "-"))
                out.flush()

            actions, _before, _after = engine.converge(
                project, server, args, "started" if command == "up" else "stopped", report=report)
            for action in actions:
                if action.verb == "skip" and action.reason != "disabled in config":
                    out.write("skipping %s: %s\n" % (action.session, action.reason))
    except ConfigError as exc:
        err.write("%s\n" % exc)
        return 2
    except OrchestratorError as exc:
        err.write("agents.py: error: %s\n" % exc)
        return 1
    return 0
