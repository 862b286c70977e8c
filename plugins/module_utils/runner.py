# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent runner: what runs inside an agent's tmux session (``agents.py run-agent NAME``).

- ``persistent`` and ``task`` agents run their backend once; ``loop`` agents run it again and
  again, each iteration with the kickoff rendered for the phase current at that moment.
- The kickoff reaches the program as the backend's ``prompt_delivery`` says: ``arg`` (the last
  argv element, never through a shell), ``stdin`` (written to its standard input), ``keys``
  (pasted into the pane once the program's screen settles, then Enter), ``exec`` (not passed;
  its file is in ``AGENTLOOPS_PROMPT_FILE``). The text is data in every mode.
- The program runs as the terminal's foreground process group, so tmux shows its name as
  the pane's command (``RUNNING [claude]``), as if a shell had started it.
- Every run is recorded: a line per start and end in ``<log_dir>/<agent>.log`` and the last
  run in ``<state_dir>/<agent>.run.json`` (iteration, phase, times, exit code), which
  ``status`` reads (``DONE (exit N)`` for tasks, the iteration for loops). When a program
  ends, its pane (with scrollback) is kept in ``<log_dir>/<agent>.screen``, and its last
  line goes into the end line of the log and an ``exited`` event (``agents.py logs``).
- With ``resume_arg``, the conversation id lives in ``<state_dir>/<agent>.resume-id``: assigned
  at the first start (through ``session_id_arg``), resumed by every later start.
- A loop backs off from failing iterations (exit != 0): the wait before the next one doubles
  from ``loop_delay`` up to ``backoff_max`` (the record says ``backoff``, status ``BACKOFF``);
  a success resets it; ``fatal_after`` failures in a row stop the loop (``fatal`` in the
  record, status ``FATAL``, the watchdog leaves it alone) until ``reset`` or an operator's
  restart.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

from .bookkeeping import (clear_resume_id, is_paused, read_run, report_bad_records, resume_id, write_resume_id,
                          write_run)
from .config import SIMPLE_BIN, Agent, LoopSettings, Project, WatchSettings
from .errors import OrchestratorError, TmuxError
from .fsutil import append_line, atomic_write
from .layout import StateLayout
from .phase import read_phase_index
from .profiles import Profile
from .sessions import backend_args

TYPE_CHECKING = False  # not typing's, like the rest of the engine
if TYPE_CHECKING:  # pragma: no cover
    from .tmux import TmuxServer


def conversation_args(project: Project, agent: Agent) -> list:
    """``--resume ID`` when the agent has a conversation, else ``--session-id NEW`` (the
    new id is kept), else nothing (a backend without resume support).

    The profile's resume model decides what "has a conversation" means: for claude
    (``session-id``) the transcript of that id must exist (a run that died before its first
    turn never made one, and ``--resume`` of it fails: a fresh id then, and an event says
    so); for codex (``subcommand``) the id is the one codex recorded (``record_conversation``),
    resumed with its ``resume`` subcommand."""
    backend = project.backends[agent.backend]
    profile = project.profile_of(agent)
    if profile.resume.model == "subcommand":
        known = resume_id(project, agent)
        if known and profile.resume.record and not _recorded(profile.resume.record, known):
            _forget(project, agent, known, profile.resume.record)
            return []
        return [a.replace("{id}", known) for a in profile.resume.args] if known else []
    if not backend.resume_arg:
        return []
    known = resume_id(project, agent)
    if known and profile.resume.model == "session-id" and profile.resume.transcript \
            and not _conversation_exists(profile.resume.transcript, known):
        _forget(project, agent, known, profile.resume.transcript.replace("{id}", known))
        known = ""
    if known:
        return [backend.resume_arg, known]
    if not backend.session_id_arg:
        return []
    new = str(uuid.uuid4())
    write_resume_id(project, agent, new)
    return [backend.session_id_arg, new]


def _forget(project: Project, agent: Agent, known: str, where: str) -> None:
    """A kept resume id whose conversation is not on disk: say so, start afresh."""
    from .watchdog import event

    event(project, agent.name, "resume", "conversation %s was never saved (no %s)" % (known, where),
          "starting a new conversation")
    _log(project, agent, "resume id %s has no conversation on disk: starting a new one" % known)
    clear_resume_id(project, agent)


def _recorded(pattern: str, conversation: str) -> bool:
    import glob

    return any(conversation in os.path.basename(p) for p in glob.glob(expand_path(pattern)))


def expand_path(pattern: str) -> str:
    """A profile's path: ``{env:NAME|default}`` is the variable (of the agent's environment,
    which the runner runs in) or the default, then ``~`` is expanded."""
    return os.path.expanduser(re.sub(r"\{env:([A-Za-z_][A-Za-z0-9_]*)\|([^}]*)\}",
                                     lambda m: os.environ.get(m.group(1)) or m.group(2), pattern))


def _conversation_exists(pattern: str, conversation: str) -> bool:
    import glob

    return bool(glob.glob(expand_path(pattern).replace("{id}", glob.escape(conversation))))


def record_conversation(project: Project, agent: Agent, started: float, proc: subprocess.Popen | None = None,
                        wait: float = 60.0, step: float = 1.0) -> str:
    """For a CLI that names its conversations itself (the ``subcommand`` resume model:
    codex), find the one this run writes and keep its id; "" when none showed up within
    ``wait`` seconds (or the program ended first).

    The record file the program (or a process below it) holds open is this run's; without
    one (it closes the file between writes), the newest record written since ``started``
    that names the project's folder and that no other agent of the project keeps. (Agents of
    one project share its folder: the newest file alone could be a sibling's.)"""
    import glob

    resume = project.profile_of(agent).resume
    if resume.model != "subcommand" or not resume.record or not resume.record_id:
        return ""
    pattern, id_re = expand_path(resume.record), re.compile(resume.record_id)
    needle = json.dumps(project.root)
    deadline = time.monotonic() + wait
    while True:
        found = _held_record(proc, pattern, id_re) if proc is not None else ""
        if not found:
            others = {resume_id(project, a) for a in project.agents if a.name != agent.name}
            for path in sorted(glob.glob(pattern), key=_mtime, reverse=True):
                if _mtime(path) < started - 1:
                    break
                match = id_re.search(os.path.basename(path))
                if match and match.group(1) not in others and _mentions(path, needle):
                    found = match.group(1)
                    break
        if found:
            write_resume_id(project, agent, found)
            return found
        if time.monotonic() >= deadline or (proc is not None and proc.poll() is not None):
            return ""
        time.sleep(step)


def _held_record(proc: subprocess.Popen, pattern: str, id_re: re.Pattern) -> str:
    """The id of a record file (matching ``pattern``) that the program's processes hold open."""
    import fnmatch

    from .procs import descendants, open_files

    for pid in descendants(proc.pid):
        for path in open_files(pid):
            match = id_re.search(os.path.basename(path))
            if match and fnmatch.fnmatch(path, pattern):
                return match.group(1)
    return ""


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _mentions(path: str, needle: str) -> bool:
    """Whether the first line of a record file names the folder (``"cwd": "<root>"``)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return needle in handle.readline(65536)
    except OSError:
        return False


def argv_for(project: Project, agent: Agent, prompt: str | None, extra: list) -> list:
    """The program's argv. A ``bin`` that is shell text runs under ``sh -c`` with every
    argument (the prompt included) passed as a positional parameter, never interpolated.
    The prompt follows the profile's ``prompt_separator`` (``--``) when it has one, so a
    kickoff that starts with ``-`` (YAML front matter, a list) is text, not an option."""
    backend = project.backends[agent.backend]
    args = backend_args(project, agent)
    profile = project.profile_of(agent)
    if extra and profile.resume.model == "subcommand":
        at = next((i + 1 for i, a in enumerate(args) if a in profile.batch_args), 0)  # codex exec resume ID
        args[at:at] = list(extra)
    else:
        args += list(extra)
    if prompt is not None:
        if profile.prompt_separator:
            args.append(profile.prompt_separator)
        args.append(prompt)
    if SIMPLE_BIN.match(backend.bin):
        return [backend.bin] + args
    return ["/bin/sh", "-c", backend.bin + ' "$@"', backend.name] + args


def _log(project: Project, agent: Agent, line: str) -> None:
    append_line(StateLayout.of(project).log(agent), "%s %s" % (time.strftime("%Y-%m-%dT%H:%M:%S%z"), line))


class _Foreground:
    """Make a child the terminal's foreground process group while it runs."""

    def __init__(self) -> None:
        self.fd = None
        for stream in (sys.stdin, sys.stdout, sys.stderr):
            try:
                if stream is not None and os.isatty(stream.fileno()):
                    self.fd = stream.fileno()
                    break
            except (OSError, ValueError):
                continue
        if self.fd is not None:
            signal.signal(signal.SIGTTOU, signal.SIG_IGN)

    def child_setup(self) -> None:
        """In the child, before exec: its own process group, made the terminal's
        foreground before it can read the terminal; SIGTTOU back to its default."""
        os.setpgid(0, 0)
        if self.fd is not None:
            try:
                os.tcsetpgrp(self.fd, os.getpgrp())
            except OSError:
                pass
        signal.signal(signal.SIGTTOU, signal.SIG_DFL)

    def give(self, pid: int) -> None:
        if self.fd is not None:
            try:
                os.tcsetpgrp(self.fd, pid)
            except OSError:
                pass

    def take_back(self) -> None:
        if self.fd is not None:
            try:
                os.tcsetpgrp(self.fd, os.getpgrp())
            except OSError:
                pass


def _own_server() -> TmuxServer:
    """The tmux server of the pane the runner runs in (``AGENTLOOPS_TMUX_ARGS``)."""
    from .tmux import TmuxServer

    return TmuxServer.from_socket_args(shlex.split(os.environ.get("AGENTLOOPS_TMUX_ARGS", "")))


def _paste_when_ready(prompt: str, proc: subprocess.Popen, timeout: float = 120.0, profile: Profile | None = None,
                      log: Callable[[str], None] | None = None) -> None:
    """Type the prompt into our own pane once the program is ready for it.

    With a profile that classifies screens, ready means idle at its prompt, seen twice in a
    row: a dialog on screen (trust, API key ...) is never typed into; the wait goes on while
    the agent is blocked (the prompt follows once an operator answered), and when the
    program is neither idle nor blocked for ``timeout`` seconds the prompt is not typed at all.
    Without one, ready means a screen unchanged for 0.3 s."""
    pane = os.environ["TMUX_PANE"]
    server = _own_server()
    if profile is not None and profile.knows_states:
        if _wait_for_idle(server, pane, proc, profile, timeout, log or (lambda _line: None)):
            server.paste(pane, prompt)
        return
    last, stable, deadline = None, 0, time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        screen = server.capture_pane(pane)
        stable = stable + 1 if screen == last and screen.strip() else 0
        if stable >= 3:
            break
        last = screen
        time.sleep(0.1)
    if proc.poll() is not None:
        return
    server.paste(pane, prompt)


def _wait_for_idle(server, pane: str, proc: subprocess.Popen, profile: Profile, timeout: float,
                   log: Callable[[str], None]) -> bool:
    """Whether the program in ``pane`` became idle (see ``_paste_when_ready``)."""
    from .profiles import BLOCKED, IDLE

    idle, blocked_on, deadline = 0, "", time.monotonic() + timeout
    while proc.poll() is None:
        observation = profile.classify(server.pane_title(pane), server.capture_pane(pane))
        if observation.state == BLOCKED:
            if observation.dialog != blocked_on:
                log("blocked on the %s dialog: the prompt waits until it is answered" % observation.dialog)
                blocked_on = observation.dialog
            idle, deadline = 0, time.monotonic() + timeout
        elif observation.state == IDLE:
            idle += 1
            if idle >= 2:
                return True
        else:
            idle = 0
        if time.monotonic() >= deadline:
            log("not idle after %.0fs: the prompt was not typed" % timeout)
            return False
        time.sleep(0.25)
    return False


def run_once(project: Project, agent: Agent, prompt: str | None, iteration: int, phase: str) -> int:
    """Run the backend once with the prompt delivered; record it; return its exit code."""
    backend = project.backends[agent.backend]
    delivery = backend.prompt_delivery
    extra = conversation_args(project, agent) if agent.kind != "loop" else []
    env = dict(os.environ)
    if prompt is not None:
        env["AGENTLOOPS_PROMPT_FILE"] = StateLayout.of(project).kickoff(agent)
        atomic_write(env["AGENTLOOPS_PROMPT_FILE"], prompt, 0o600)
    argv = argv_for(project, agent, prompt if delivery == "arg" else None, extra)
    started = time.time()
    record = {"agent": agent.name, "kind": agent.kind, "iteration": iteration, "phase": phase,
              "started": started, "ended": None, "exit": None, "pid": None}
    write_run(project, agent, record)
    _log(project, agent, "iteration %d phase %s start delivery=%s" % (iteration, phase or "-", delivery))
    fg = _Foreground()
    if delivery == "keys" and prompt is not None and not os.environ.get("TMUX_PANE"):
        raise OrchestratorError("prompt_delivery = \"keys\" needs the agent to run in a tmux pane")
    stdin = subprocess.PIPE if delivery == "stdin" and prompt is not None else None
    try:
        proc = subprocess.Popen(argv, cwd=project.root, env=env, stdin=stdin, preexec_fn=fg.child_setup)
    except OSError as exc:
        code = 127
        last = "cannot start %s: %s" % (argv[0], exc.strerror or exc)
        _log(project, agent, "iteration %d %s" % (iteration, last))
    else:
        record["pid"] = proc.pid
        write_run(project, agent, record)
        fg.give(proc.pid)
        if agent.kind != "loop" and project.profile_of(agent).resume.model == "subcommand":
            import threading

            threading.Thread(target=record_conversation, args=(project, agent, started, proc), daemon=True).start()
        if prompt is not None:
            _deliver(project, agent, proc, prompt, iteration)
        code = _wait(proc, fg)
        last = _keep_screen(project, agent, iteration, code, argv[0])
    ended = time.time()
    record.update(ended=ended, exit=code)
    write_run(project, agent, record)
    _log(project, agent, "iteration %d phase %s end exit=%d seconds=%.1f%s"
         % (iteration, phase or "-", code, ended - started, " last: " + last if last else ""))
    from .watchdog import event

    event(project, agent.name, "exited", last or "-", "exit %d" % code, exit=code, iteration=iteration)
    return code


SCREEN_LINES = 200  # the scrollback kept with a program's last screen


def last_line(screen: str) -> str:
    """The last non-blank line of a screen, without its surrounding blanks."""
    return next((line.strip() for line in reversed(screen.splitlines()) if line.strip()), "")


def _keep_screen(project: Project, agent: Agent, iteration: int, code: int, program: str) -> str:
    """Keep the pane's screen and scrollback now that the program ended (the runner owns
    the pane) in ``<log_dir>/<agent>.screen``, under a header line (time, iteration, exit
    code, program); its last non-blank line. Nothing outside tmux (no ``TMUX_PANE``), and a
    screen that cannot be read is a log line, never the end of the loop."""
    pane = os.environ.get("TMUX_PANE")
    if not pane:
        return ""
    try:
        screen = _settled_screen(_own_server(), pane)
    except TmuxError as exc:
        _log(project, agent, "iteration %d could not capture the screen: %s" % (iteration, exc))
        return ""
    header = "%s iteration %d exit=%d program=%s" % (time.strftime("%Y-%m-%dT%H:%M:%S%z"), iteration, code, program)
    atomic_write(StateLayout.of(project).screen(agent), header + "\n" + screen.rstrip("\n") + "\n", 0o600)
    return last_line(screen)


def _settled_screen(server: TmuxServer, pane: str, tries: int = 10) -> str:
    """The pane with its scrollback once two reads agree (tmux may still be drawing the
    program's last output when it has ended)."""
    screen = server.capture_history(pane, SCREEN_LINES)
    for _try in range(tries):
        time.sleep(0.05)
        again = server.capture_history(pane, SCREEN_LINES)
        if again == screen:
            break
        screen = again
    return screen


def _prompt_note(project: Project, agent: Agent, iteration: int, line: str) -> None:
    """What keys delivery waits for, in the log; a prompt given up on is an event too."""
    _log(project, agent, "iteration %d %s" % (iteration, line))
    if "not typed" in line:
        from .watchdog import event

        event(project, agent.name, "prompt", line, "not delivered", iteration=iteration)


def _deliver(project: Project, agent: Agent, proc: subprocess.Popen, prompt: str, iteration: int) -> None:
    """Hand the prompt to a started program on its stdin (a pipe) or as keys in its pane."""
    if proc.stdin is not None:
        try:
            proc.stdin.write(prompt.encode("utf-8"))
            proc.stdin.close()
        except BrokenPipeError:
            pass
    elif project.backends[agent.backend].prompt_delivery == "keys":
        try:
            _paste_when_ready(prompt, proc, profile=project.profile_of(agent),
                              log=lambda line: _prompt_note(project, agent, iteration, line))
        except (OSError, TmuxError) as exc:  # the program runs on, unprompted
            _log(project, agent, "iteration %d could not type the prompt: %s" % (iteration, exc))


def _wait(proc: subprocess.Popen, fg: _Foreground) -> int:
    """The program's exit code (128 + N for a signal); an interrupt does not end the wait."""
    while True:
        try:
            code = proc.wait()
            break
        except KeyboardInterrupt:
            continue
    fg.take_back()
    return code if code >= 0 else 128 - code


def backoff_delay(loop: LoopSettings, heal: WatchSettings, failures: int) -> float:
    """The wait after ``failures`` failed iterations in a row: ``loop_delay`` doubled for each
    failure after the first, at most ``backoff_max``, never less than ``loop_delay``."""
    doubled = loop.loop_delay * 2.0 ** min(max(failures - 1, 0), 64)
    return max(loop.loop_delay, min(heal.backoff_max, doubled))


def _update_run(project: Project, agent: Agent, **fields: object) -> None:
    """Add ``fields`` to the agent's last run record."""
    record = read_run(project, agent) or {}
    record.update(fields)
    write_run(project, agent, record)


def _failed_iteration(project: Project, agent: Agent, loop: LoopSettings, iteration: int, code: int,
                      failures: int) -> float | None:
    """Account for the ``failures``-th failed iteration in a row: the seconds to back off
    (recorded, logged, an event), or None when the loop must stop (``fatal`` recorded)."""
    from .watchdog import event

    heal = agent.healing or WatchSettings()
    if failures >= heal.fatal_after:
        reason = "%d failed iteration%s in a row (last exit %d)" % (failures, "s" if failures > 1 else "", code)
        _update_run(project, agent, fatal=reason)
        _log(project, agent, "FATAL: %s; no more iterations until reset" % reason)
        event(project, agent.name, "fatal", reason, "loop stopped until reset", failures=failures, exit=code)
        return None
    delay = backoff_delay(loop, heal, failures)
    until = time.time() + delay
    _update_run(project, agent, backoff={"failures": failures, "until": until})
    _log(project, agent, "iteration %d failed (%d in a row): next iteration in %.1fs" % (iteration, failures, delay))
    event(project, agent.name, "backoff", "iteration %d exit %d (%d failed in a row)" % (iteration, code, failures),
          "next iteration in %.1fs" % delay, failures=failures, until=round(until, 3), exit=code)
    return delay


def main(project: Project, agent: Agent) -> int:
    """The session's program for a persistent, task or loop agent."""
    from . import kickoff

    if agent.is_service:
        raise OrchestratorError("agent %r is a service; services run their own command" % agent.name)
    from .watchdog import event

    def bad_record(path: str, problem: str) -> None:
        event(project, agent.name, "error", "%s: %s" % (path, problem), "treated as empty")

    report_bad_records(bad_record)
    iteration = 0
    failures = 0  # failed iterations in a row
    code = 0
    while True:
        if agent.kind == "loop":
            while is_paused(project, agent):
                time.sleep(0.5)
        iteration += 1
        index = read_phase_index(project) if project.phases else 0
        phase = project.phases[index].name if project.phases else ""
        prompt = kickoff.render_for(project, agent, index) if agent.kickoff else None
        code = run_once(project, agent, prompt, iteration, phase)
        if agent.kind != "loop" or agent.loop is None:
            return code
        if agent.loop.max_iterations and iteration >= agent.loop.max_iterations:
            _log(project, agent, "stopping after max_iterations=%d" % agent.loop.max_iterations)
            _update_run(project, agent, finished=True)  # the watchdog leaves a finished loop alone
            return 0
        failures = failures + 1 if code != 0 else 0
        delay = _failed_iteration(project, agent, agent.loop, iteration, code, failures) if failures \
            else agent.loop.loop_delay
        if delay is None:
            return code
        time.sleep(delay)
