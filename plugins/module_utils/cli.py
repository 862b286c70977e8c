# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``agents.py``: the engine CLI that runs on a host from a project checkout.

    python3 engine/agents.py [--config agents.toml] [--tmux-socket S] COMMAND

One ``cmd_<verb>`` function per command; its docstring is the command's ``--help``. The
work is the engine facade's (engine.py, shared with the modules): a command only formats
what it returns. Errors are caught once, in ``main``. Exit status: 0 done, 1 an operation
failed, 2 bad usage or an invalid config, 3 a watchdog already watches the project.

Nothing heavier than argparse is imported before the arguments are checked, so ``--help``
and bad usage answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys

from .early import default_config
from .errors import AlreadyRunning, ConfigError, OrchestratorError

TYPE_CHECKING = False  # not typing's: importing typing (or dataclasses) would slow --help down
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, NoReturn, TextIO

    from .config import Agent, Project
    from .engine import ConvergeResult
    from .sessions import Action
    from .tmux import TmuxServer

USAGE = """usage: agents.py [--config PATH] [--tmux-socket NAME|PATH] COMMAND [AGENT...]

commands:
  status            show the phase and every agent's state (read-only)
  up [AGENT...] [--allow-partial]
                    start enabled agents that are not running (all by default); one that
                    cannot start fails it, nothing started (--allow-partial: the others start)
  down [AGENT...] [--adopt]
                    kill the project's agent sessions (all by default, and sessions of
                    agents no longer in the config); --adopt: untagged ones too
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
  watchdog-guard    (started by the watchdog in its session) start the watchdog again
                    when it or its session is killed; ends when it is stopped on purpose
  reset AGENT       clear an agent's BACKOFF/FATAL state so the watchdog heals it again
  events [N]        the last N (default 20) watchdog events
  wait [AGENT...] --until idle|working|blocked|exited [--timeout S]
                    wait until the agents are in that state (by their profiles)
  logs AGENT [--lines N]
                    the agent's last screen (kept when its program ended, with its
                    exit code), then the last N (default 20) lines of its log
  cleanlogs [--dry-run] [--once]
                    prune log_dir by age and total size (the builtin service loops)

options:
  --config PATH         the project's agents.toml (default: ./agents.toml, else the
                        agents.toml beside the engine checkout)
  --tmux-socket VALUE   override the config's tmux_socket (a name = tmux -L NAME,
                        a path = tmux -S PATH, default = the default server;
                        "" = not given: the config's)
"""
PHASE_HINT = "use phase show | phase set N|NAME | phase next"


class UsageError(Exception):
    """Bad usage (exit 2): ``message`` follows ``agents.py: error:``, then ``usage``."""

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class HelpRequested(Exception):
    """``-h``/``--help``: ``text`` goes to stdout (exit 0)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class _Help(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str, **_kw: object) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0,
                         help="show this help and exit")

    def __call__(self, parser, namespace, values, option_string=None) -> NoReturn:
        raise HelpRequested(parser.format_help())


class _Value(argparse.Action):
    """A global option's value (``--config PATH``, ``--config=PATH``); a missing one is bad usage."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        if values is None:
            raise UsageError("%s needs a value" % option_string, USAGE)
        setattr(namespace, self.dest, values)


class _Formatter(argparse.HelpFormatter):
    """A command's --help at 80 columns, like USAGE (asking the terminal would import shutil)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=80)


class _Parser(argparse.ArgumentParser):
    """argparse, with errors raised as ``UsageError`` (not printed, not exiting): the top
    level's keep argparse's message and add USAGE; a command's say how to use it (``hint``)."""

    def __init__(self, *args, hint: str = "", text: str = "", **kwargs) -> None:
        kwargs.update(add_help=False, allow_abbrev=False, formatter_class=_Formatter)
        super().__init__(*args, **kwargs)
        self.hint = hint
        self.text = text
        self.commands: dict[str, _Parser] = {}
        self.add_argument("-h", "--help", action=_Help)

    def format_help(self) -> str:
        return self.text or super().format_help()

    def error(self, message: str) -> NoReturn:
        if self.hint:
            raise UsageError(self.hint)
        if message.startswith("argument COMMAND: invalid choice: "):  # the message agents.py always gave
            message = "unknown command %s" % message.split(": ", 2)[2].split(" (choose from", 1)[0]
        raise UsageError(message, USAGE)


def _global_options(parser: _Parser, top: bool = False) -> None:
    """``--config`` and ``--tmux-socket``, before the command or after it (the top level's
    defaults are None; a command's leave the top level's value alone)."""
    default = None if top else argparse.SUPPRESS
    shown = None if top else argparse.SUPPRESS
    parser.add_argument("--config", action=_Value, nargs="?", metavar="PATH", default=default, help=shown)
    parser.add_argument("--tmux-socket", action=_Value, nargs="?", metavar="VALUE", default=default, help=shown)


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ValueError(text)
    return int(text)


class Invocation:
    """What every command gets: the project, its tmux server, the parsed arguments, where to
    print, and this engine's agents.py (which starts runners and the watchdog). A plain
    slotted class: dataclasses would cost --help more than the rest of the CLI."""

    __slots__ = ("project", "server", "args", "out", "engine_script")

    def __init__(self, project: Project, server: TmuxServer, args: argparse.Namespace, out: TextIO,
                 engine_script: str) -> None:
        self.project = project
        self.server = server
        self.args = args
        self.out = out
        self.engine_script = engine_script


def cmd_status(inv: Invocation) -> int:
    """Show the phase and every agent's state (read-only). Exit 1 when the phase index
    file is corrupt: the table is printed, the phase header says why."""
    from . import engine

    from . import status

    report = engine.read_status(inv.project, inv.server, count_watchdogs=False, engine_script=inv.engine_script)
    return status.write_report(report, inv.out, sys.stderr)


def cmd_up(inv: Invocation) -> int:
    """Start the named agents (all by default) that are enabled and not running, the
    builtin watchdog last. An agent whose session another project owns is a conflict:
    the others start, then up fails (exit 1) naming it and its owner. An agent this engine
    cannot start fails up (exit 1) before anything starts, naming each and why; with
    --allow-partial the others start and each one left stopped is a warning on stderr."""
    return _converge(inv, "started")


def cmd_down(inv: Invocation) -> int:
    """Kill the named agents' sessions (all by default, then the sessions of agents no
    longer in the config); the watchdog leaves them down. Sessions no engine started (a
    hand-run system's) are left alone unless --adopt."""
    return _converge(inv, "stopped")


def _converge(inv: Invocation, desired: str) -> int:
    from . import engine
    from .errors import OrchestratorError, StartFailed

    try:
        done = engine.converge(inv.project, inv.server, inv.args.agents, desired, report=_reporter(inv.out),
                               engine_script=inv.engine_script, adopt=getattr(inv.args, "adopt", False),
                               allow_partial=getattr(inv.args, "allow_partial", False))
    except StartFailed as exc:  # what else the run did and skipped is said too, then the failure
        if isinstance(exc.result, engine.ConvergeResult):
            _report_run(inv, exc.result, desired, conflicts_fail=False)
        raise
    _report_run(inv, done, desired)
    return 0


def _report_run(inv: Invocation, done: ConvergeResult, desired: str, conflicts_fail: bool = True) -> None:
    """The skips and ended leftovers of a run; a session owned by another project fails it
    (named), after the rest is said (``conflicts_fail`` False: only said)."""
    from .errors import OrchestratorError

    for action in done.actions:
        if action.cannot_start:
            sys.stderr.write("agents.py: warning: %s not started: %s\n" % (action.session, action.reason))
        elif action.verb == "skip" and action.reason != "disabled in config":
            inv.out.write("skipping %s: %s\n" % (action.session, action.reason))
        if action.ended:
            inv.out.write("ended %d leftover process(es) of %s\n" % (action.ended, action.session))
    conflicts = [a for a in done.actions if a.conflict]
    if conflicts and desired != "stopped":
        text = "; ".join("%s not started: session %s is owned by %s" % (a.agent.name, a.session, a.conflict)
                         for a in conflicts)
        if not conflicts_fail:
            inv.out.write(text + "\n")
            return
        raise OrchestratorError(text)


def _reporter(out: TextIO) -> Callable[[Action], None]:
    """Print each change as it is made (``killing``/``starting``)."""
    def report(action: Action) -> None:
        agent = action.agent
        if action.verb == "stop":
            out.write("killing %s%s\n" % (action.session, " (no longer in agents.toml)" * action.orphan))
        elif agent.builtin == "watchdog":
            out.write("starting watchdog\n")
        elif agent.is_service:
            out.write("starting %s\n" % action.session)
        else:
            out.write("starting %s (%s, %s)\n" % (action.session, agent.backend, agent.model or "-"))
        out.flush()
    return report


def cmd_validate(inv: Invocation) -> int:
    """Check the config; every error is reported with file:line:col (exit 2)."""
    project = inv.project
    inv.out.write("%s: OK — %d agent(s), %d phase(s)\n" % (
        os.path.relpath(project.config_path), len(project.agents), len(project.phases)))
    return 0


def cmd_phase(inv: Invocation) -> int:
    """Show the current phase (show), make phase N (0-based) or NAME the current one
    (set), or move to the next phase (next)."""
    from . import engine, status

    step = inv.args.step
    target = inv.args.phase if step == "set" else engine.NEXT if step == "next" else None
    change = engine.set_phase(inv.project, target)
    inv.out.write("%s\n" % status.phase_header(inv.project, change.new))
    return 0


def cmd_kickoff(inv: Invocation) -> int:
    """Print the agent's kickoff prompt rendered for the current phase."""
    from . import engine

    inv.out.write(engine.kickoff_text(inv.project, inv.args.agent))
    return 0


def cmd_pause(inv: Invocation) -> int:
    """Hold a loop agent before its next iteration (it finishes the current one)."""
    from . import engine

    engine.pause(inv.project, inv.args.agent)
    inv.out.write("paused %s (it finishes its current iteration)\n" % inv.args.agent)
    return 0


def cmd_resume(inv: Invocation) -> int:
    """Let a paused loop agent go on."""
    from . import engine

    engine.resume(inv.project, inv.args.agent)
    inv.out.write("resumed %s\n" % inv.args.agent)
    return 0


def cmd_run_agent(inv: Invocation) -> int:
    """Run the agent: its loop, task or program (what an agent's session runs)."""
    from . import runner

    return runner.main(inv.project, inv.project.select([inv.args.agent])[0])


def cmd_watchdog(inv: Invocation) -> int:
    """Heal agents whose watch is heal or heal+stall; runs until killed (`up` starts it in
    <prefix>watchdog; run it under a service manager too). Exit 3 when another watchdog
    already watches the project."""
    from . import watchdog

    return watchdog.main(inv.project, inv.server, engine_script=inv.engine_script)


def cmd_watchdog_guard(inv: Invocation) -> int:
    """(started by the watchdog) bring the watchdog's session back when the watchdog is
    killed or its session is; ends when the watchdog is stopped on purpose. Exit 3 when
    another guard runs."""
    from . import watchdog

    return watchdog.guard_main(inv.project, inv.server, engine_script=inv.engine_script)


def cmd_reset(inv: Invocation) -> int:
    """Clear an agent's BACKOFF/FATAL state so the watchdog heals it again."""
    from . import engine

    cleared = engine.reset(inv.project, inv.args.agent)
    inv.out.write("reset %s%s\n" % (inv.args.agent, "" if cleared else " (nothing to clear)"))
    return 0


def cmd_events(inv: Invocation) -> int:
    """Print the last N (default 20; 0 = all) watchdog events."""
    from . import engine

    for line in engine.event_lines(inv.project, inv.args.count):
        inv.out.write(line + "\n")
    return 0


def cmd_wait(inv: Invocation) -> int:
    """Wait until the agents (all but services when none is named) are idle, working,
    blocked on a dialog, or exited; print each one's state as it gets there. Exit 1 when
    --timeout seconds pass first, naming who is not there yet."""
    from . import engine

    reached = engine.wait_for(inv.project, inv.server, inv.args.agents, inv.args.until, inv.args.timeout)
    for name, label in reached.items():
        inv.out.write("%s %s\n" % (name, label))
    return 0


def cmd_logs(inv: Invocation) -> int:
    """Print the agent's last screen, kept when its program last ended (a header with the
    time, iteration, exit code and program, then the pane with scrollback), then the last N
    (default 20; 0 = all) lines of its log."""
    from . import engine

    for line in engine.agent_logs(inv.project, inv.args.agent, inv.args.lines):
        inv.out.write(line + "\n")
    return 0


def cmd_cleanlogs(inv: Invocation) -> int:
    """Prune log_dir by age and total size, as the builtin cleanlogs service does (it loops
    unless --once; --dry-run only says what it would delete)."""
    from . import cleanlogs

    agent = next((a for a in inv.project.agents if a.builtin == "cleanlogs"), None)
    return cleanlogs.main(inv.project, agent or project_agent_defaults(), inv.args.dry_run, inv.args.once, inv.out)


def _add(verbs, command: Callable[[Invocation], int], hint: str) -> _Parser:
    """A command's parser, named after its ``cmd_`` function and described by its docstring."""
    name = command.__name__[4:].replace("_", "-")
    parser = verbs.add_parser(name, hint=hint, prog="agents.py %s" % name,
                              description=" ".join((command.__doc__ or "").split()))
    _global_options(parser)
    parser.set_defaults(run=command)
    return parser


def _add_phase(verbs) -> None:
    phase = _add(verbs, cmd_phase, PHASE_HINT)
    steps = phase.add_subparsers(dest="step", metavar="show|set|next", parser_class=_Parser)
    for step, doc in (("show", "The current phase."), ("set", "Make phase N (0-based) or NAME the current one."),
                      ("next", "Move to the next phase.")):
        sub = steps.add_parser(step, hint=PHASE_HINT, prog="agents.py phase %s" % step, description=doc)
        _global_options(sub)
        if step == "set":
            sub.add_argument("phase", metavar="N|NAME", help="a 0-based phase index or a phase name")


def build_parser() -> _Parser:
    """The whole command line: global options, then one command and its arguments."""
    parser = _Parser(prog="agents.py", text=USAGE)
    _global_options(parser, top=True)
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add(verbs, cmd_status, "status takes no arguments")
    for command in (cmd_up, cmd_down):
        options = " [--adopt]" if command is cmd_down else " [--allow-partial]"
        _add(verbs, command, "use %s [AGENT...]%s" % (command.__name__[4:], options)
             ).add_argument("agents", nargs="*", metavar="AGENT", help="an agent of the config (all when none is named)")
    verbs.choices["up"].add_argument("--allow-partial", action="store_true",
                                     help="start the agents that can start when some cannot (each one is a warning)")
    verbs.choices["down"].add_argument("--adopt", action="store_true",
                                       help="also kill same-named sessions no engine started (a hand-run system's)")
    _add(verbs, cmd_validate, "validate takes no arguments")
    _add_phase(verbs)
    for command in (cmd_kickoff, cmd_pause, cmd_resume, cmd_run_agent, cmd_reset):
        name = command.__name__[4:].replace("_", "-")
        _add(verbs, command, "use %s AGENT" % name).add_argument("agent", metavar="AGENT", help="an agent of the config")
    _add(verbs, cmd_watchdog, "watchdog takes no arguments")
    _add(verbs, cmd_watchdog_guard, "watchdog-guard takes no arguments")
    _add(verbs, cmd_events, "use events [N]").add_argument(
        "count", nargs="?", type=_count, default=20, metavar="N", help="how many (default 20; 0 = all)")
    wait = _add(verbs, cmd_wait, "use wait [AGENT...] --until idle|working|blocked|exited [--timeout S]")
    wait.add_argument("agents", nargs="*", metavar="AGENT", help="an agent of the config (all but services when none)")
    wait.add_argument("--until", required=True, choices=("idle", "working", "blocked", "exited"),
                      help="the state to wait for")
    wait.add_argument("--timeout", type=float, default=0.0, metavar="S", help="give up after S seconds (0: never)")
    logs = _add(verbs, cmd_logs, "use logs AGENT [--lines N]")
    logs.add_argument("agent", metavar="AGENT", help="an agent of the config")
    logs.add_argument("--lines", type=_count, default=20, metavar="N", help="log lines (default 20; 0 = all)")
    cleanlogs = _add(verbs, cmd_cleanlogs, "use cleanlogs [--dry-run] [--once]")
    cleanlogs.add_argument("--dry-run", action="store_true", help="say what would be deleted; delete nothing")
    cleanlogs.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.commands = verbs.choices
    return parser


GLOBAL_OPTIONS = ("--config", "--tmux-socket")


def _globals_first(argv: list[str]) -> list[str]:
    """The global options (with their values) moved before everything else: agents.py has
    always taken them anywhere, also between agent names (``up a --config x b``)."""
    front: list[str] = []
    rest: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg.partition("=")[0] not in GLOBAL_OPTIONS:
            rest.append(arg)
            continue
        value = "" if "=" in arg else next(it, None)
        if value is None:  # the last word, with no value: argparse says so where it stands
            rest.append(arg)
        else:
            front += [arg] if "=" in arg else [arg, value]
    return front + rest


def parse(argv: list[str]) -> argparse.Namespace:
    """The parsed command line; bad usage raises ``UsageError``, ``--help`` raises
    ``HelpRequested``."""
    if argv == ["status"]:  # the hot path (monitors run it in a loop): what the parser makes of it, unbuilt
        return argparse.Namespace(config=None, tmux_socket=None, command="status", run=cmd_status)
    parser = build_parser()
    args, extra = parser.parse_known_args(_globals_first(argv))
    unknown = next((a for a in extra if a.startswith("-") and a != "-"), None)
    if unknown is not None:
        raise UsageError("unknown option %s" % unknown, USAGE)
    if args.command is None:
        raise UsageError("a command is required", USAGE)
    if extra:
        raise UsageError(parser.commands[args.command].hint)
    if args.command == "phase" and args.step is None:
        raise UsageError(PHASE_HINT)
    return args


def project_agent_defaults() -> Agent:
    from .config import Agent, CleanlogsSettings

    return Agent("cleanlogs", "service", builtin="cleanlogs", cleanlogs=CleanlogsSettings())


def run(args: argparse.Namespace, engine_root: str, out: TextIO) -> int:
    """Open the project and run the parsed command."""
    from . import engine  # after the arguments are checked: --help stays instant

    project, server = engine.open_project(args.config or default_config(engine_root), args.tmux_socket,
                                          cached=args.command == "status")
    return args.run(Invocation(project, server, args, out, os.path.join(engine_root, "agents.py")))


def main(argv: list[str], engine_root: str) -> int:
    """The CLI; every error of a command ends here, as its message and exit status."""
    out, err = sys.stdout, sys.stderr
    try:
        return run(parse(argv), engine_root, out)
    except HelpRequested as exc:
        out.write(exc.text)
        return 0
    except UsageError as exc:
        err.write("agents.py: error: %s\n%s" % (exc.message, exc.usage))
        return 2
    except ConfigError as exc:
        err.write("%s\n" % exc)
        return 2
    except AlreadyRunning as exc:
        err.write("agents.py: %s\n" % exc)
        return 3
    except OrchestratorError as exc:
        err.write("agents.py: error: %s\n" % exc)
        return 1
