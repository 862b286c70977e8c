# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Session lifecycle: plan what ``up``/``down``/restart would do, then do exactly that.

Planning reads one snapshot of the server and writes nothing, so check mode is the plan
itself. Only ``<prefix><agent>`` sessions of the project's own config are ever touched.

Who owns a session: its tags. A session the engine starts carries ``@agentloops_config``
(the config's real path, readable by people and by older engines) and ``@agentloops_project``
(the project id of ``state/project-id``, made once at the first start). The id is the
identity: it stays when the project folder moves or agents.toml becomes a symlink, where the
path does not; the path is still honoured, for sessions of older engines. A session tagged
by another project is a conflict (never touched, ``up`` fails); one tagged by this project
whose agent left agents.toml is an orphan (listed by status, stopped by ``down``); an
untagged one (a hand-run system's) counts as running for ``up`` and status, but ``down``
and restarts leave it alone unless asked to adopt it (``down --adopt``).

What an agent's terminal gets: a ``window_size`` window (default 200x50), the project folder
as its working directory and PWD, TERM, TMUX and TMUX_PANE as tmux sets them in the pane
(TERM is the server's ``default-terminal``), and of the caller's environment only the
allow-list ``CALLER_ENV`` — PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TZ,
TMPDIR and TMUX_TMPDIR — plus the names of its ``pass_env``; then the ``AGENTLOOPS_*``
identity and its ``env`` table. Nothing else of the caller (an AWX job's secrets, TERM,
COLORTERM) reaches the agent or its ``state/<agent>.env`` file.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import stat
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .bookkeeping import clear_fatal, clear_watch, owner_of, read_project_id, set_stopped
from .config import Agent, Project
from .errors import ConfigError, OrchestratorError, TmuxError
from .fsutil import atomic_write, locked, read_state_bytes, read_state_text
from .layout import StateLayout, engine_script_for, no_engine_reason
from .status import orphans
from .tmux import PROGRAM_OPTION, PROJECT_OPTION, NewSession, Owner, Session, TmuxServer

START, STOP, RESTART, NONE, SKIP = "start", "stop", "restart", "none", "skip"
STATES = ("started", "stopped", "restarted")
_SHELL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# The caller's variables every agent gets (a trailing * is a prefix): the rest of the
# caller's environment (an AWX job's injected secrets, TERM, COLORTERM, ...) reaches an agent
# only when its ``pass_env`` names it. TMUX_TMPDIR is tmux's address, not a secret: it names
# the default server the agents' own tmux calls (runner, watchdog) must reach.
CALLER_ENV = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_*", "TZ", "TMPDIR",
              "TMUX_TMPDIR")
_CALLER_NAMES = frozenset(n for n in CALLER_ENV if not n.endswith("*"))
_CALLER_PREFIXES = tuple(n[:-1] for n in CALLER_ENV if n.endswith("*"))
# What an agent's process keeps of its pane's environment: what tmux sets there itself. The
# rest of the pane's environment is the tmux server's global one (the environment of whoever
# started the server, secrets included), so the session starts its shell afresh (env -i).
PANE_ENV = ("TERM", "TMUX", "TMUX_PANE")


@dataclass(slots=True)
class Action:
    """What the engine does (or would do) to one agent's session."""

    agent: Agent
    session: str
    verb: str
    reason: str = ""
    session_id: str = ""
    ended: int = 0  # leftover processes ended after its session was killed
    conflict: str = ""  # the config (or project id) of another project owning the session
    orphan: bool = False  # a session of this project whose agent left agents.toml
    failure: str = ""  # it died within confirm_seconds of its start: its exit and last screen (see confirm)
    cannot_start: bool = False  # a skip because this engine cannot start it (``reason`` says why), not by intent

    @property
    def changes(self) -> bool:
        return self.verb in (START, STOP, RESTART)

    def as_dict(self) -> dict:
        return {"agent": self.agent.name, "session": self.session, "action": self.verb,
                "reason": self.reason, "ended": self.ended, "conflict": self.conflict, "orphan": self.orphan,
                "cannot_start": self.cannot_start}


def needs_runner(project: Project, agent: Agent) -> bool:
    """Whether the agent runs under the engine's runner (loops, tasks, kickoffs, prompt
    delivery, resume) rather than as its plain command."""
    if agent.is_service:
        return False
    backend = project.backends[agent.backend]
    return (agent.kind in ("loop", "task") or bool(agent.kickoff) or bool(backend.resume_arg)
            or backend.prompt_delivery in ("stdin", "keys") or backend.profile_name != "generic")


def needs_engine(project: Project, agent: Agent) -> bool:
    """Whether only an engine checkout can start the agent: a builtin service, or an agent
    that runs under the runner (``needs_runner``)."""
    return bool(agent.builtin) or needs_runner(project, agent)


def unsupported_reason(project: Project, agent: Agent, engine_script: str = "") -> str:
    """Why this engine cannot start the agent ("" when it can): a builtin service or an agent
    that needs the runner, with no agents.py to run them (``layout.engine_script_for``)."""
    return no_engine_reason(project.root, agent, needs_engine(project, agent), engine_script)


def cannot_start(actions: list) -> list:
    """The actions of agents that were to start but cannot (``Action.cannot_start``)."""
    return [a for a in actions if a.cannot_start]


def cannot_start_lines(actions: list) -> list:
    """One line per agent that cannot start: ``<agent>: <why>``."""
    return ["%s: %s" % (a.agent.name, a.reason) for a in cannot_start(actions)]


def startable(agents: list) -> list:
    """Start order: config order, with the builtin watchdog last (it watches the others)."""
    return sorted(agents, key=lambda a: a.builtin == "watchdog")


def ensure_project_id(project: Project) -> str:
    """The project's id, made (and kept in ``state/project-id``) on first use; the caller
    holds the project's lock. A copy of a project that keeps its state folder keeps its id:
    a session is still told apart by its config path while that config exists."""
    import uuid

    value = read_project_id(project)
    if not value:
        value = uuid.uuid4().hex
        atomic_write(StateLayout.of(project).project_id, value + "\n")
    return value


def _orphan_action(project: Project, sess: Session) -> Action:
    prefix = project.session_prefix
    name = sess.name[len(prefix):] if prefix and sess.name.startswith(prefix) else sess.name
    return Action(Agent(name=name, kind="service"), sess.name, STOP, "no longer in agents.toml", sess.id,
                  orphan=True)


def plan(project: Project, live: dict, agents: list, state: str, engine_script: str = "",
         adopt: bool = False, stop_orphans: bool = False) -> list:
    """Actions that bring ``agents`` to ``state`` given ``live`` sessions (by name);
    ``engine_script`` is the caller's agents.py, if any (see ``engine_script_for``).

    A session of the same name that another config's engine started is never stopped,
    restarted or counted as running (a skip whose ``conflict`` names its owner): two projects
    that share a prefix cannot act on each other's agents. An untagged session (a hand-run
    system's) counts as running for ``started``; it is stopped or restarted only with
    ``adopt``. With ``stop_orphans`` (``stopped``), the project's orphans are stopped too.
    An enabled agent this engine cannot start (``unsupported_reason``) is a skip marked
    ``cannot_start``: a real problem, which ``engine.converge`` fails on unless a partial start
    is asked for; a disabled agent, a conflict or an untagged session are skips by intent.
    """
    if state not in STATES:
        raise ValueError("state must be one of %s" % ", ".join(STATES))
    actions = []
    owner = owner_of(project)
    for agent in (startable(agents) if state != "stopped" else agents):
        name = project.session_name(agent)
        sess = live.get(name)
        sid = sess.id if sess else ""
        if sess is not None and sess.foreign_to(owner):
            actions.append(Action(agent, name, SKIP, "session %s belongs to %s" % (name, sess.described_owner), "",
                                  conflict=sess.described_owner))
            continue
        if sess is not None and not sess.tagged and not adopt and state != "started":
            actions.append(Action(agent, name, SKIP, "session %s was not started by an engine (a hand-run one?): "
                                  "left alone; adopt it to %s it (down --adopt, adopt_untagged)"
                                  % (name, "stop" if state == "stopped" else "restart"), sid))
            continue
        if state == "stopped":
            actions.append(Action(agent, name, STOP if sess else NONE, "" if sess else "not running", sid))
            continue
        if not agent.enabled:
            actions.append(Action(agent, name, SKIP, "disabled in config", sid))
            continue
        why = unsupported_reason(project, agent, engine_script)
        if state == "started" and sess and ended(sess):  # its keeper waits: started afresh
            actions.append(Action(agent, name, SKIP if why else RESTART, why or "its agent ended", sid,
                                  cannot_start=bool(why)))
        elif state == "started" and sess:  # running: whoever started it (the CLI can run what a module cannot)
            actions.append(Action(agent, name, NONE, "already running", sid))
        elif why:
            actions.append(Action(agent, name, SKIP, why, sid, cannot_start=True))
        else:
            actions.append(Action(agent, name, RESTART if sess else START, "", sid))
    if state == "stopped" and stop_orphans:
        actions += [_orphan_action(project, sess) for sess in orphans(project, live, owner)]
    check_kickoffs(project, [a.agent for a in actions if a.verb in (START, RESTART)])
    return actions


def ended(sess: Session) -> bool:
    """Whether the agent of an engine's session ended, its keeper waiting (``keeper_command``);
    not one stopped by SIGSTOP, whose keeper waits too (/proc says it is there)."""
    pane = sess.first_pane
    if not (sess.tagged and pane is not None and pane.waiting):
        return False
    from .procs import waiting_agent  # deferred: only a waiting keeper needs /proc

    return waiting_agent(pane.pid) is None


def check_kickoffs(project: Project, agents: list) -> None:
    """Render the kickoff of every agent about to start; any failure stops the whole run
    before anything starts (an agent whose prompt cannot be made would die at once). Every
    broken kickoff is reported, one line per agent, so one run shows all there is to fix."""
    from .kickoff import KickoffError, render_for

    problems = []
    for agent in agents:
        if agent.kickoff:
            try:
                render_for(project, agent)
            except (KickoffError, ConfigError) as exc:  # ConfigError: unreadable, not UTF-8, a BOM
                problems.append("%s: %s" % (agent.name, str(exc).replace("\n", "; ")))
    if problems:
        raise KickoffError("%d kickoff(s) cannot be rendered, nothing started:\n  %s"
                           % (len(problems), "\n  ".join(problems)))


def command_for(project: Project, agent: Agent, server: TmuxServer | None = None, engine_script: str = "") -> str:
    """The shell command of an agent's session.

    A backend's ``bin`` is shell text (the demo backend is ``echo ... ; exec sleep``);
    every argument after it is quoted, so config values are data, not code. Agents that
    need the runner run ``agents.py run-agent NAME`` of the project's engine.
    """
    if agent.is_service and not agent.builtin:
        return agent.command
    if agent.builtin or needs_runner(project, agent):
        argv = [sys.executable, engine_script_for(project.root, engine_script), "--config", project.config_path]
        if server is not None:
            argv += ["--tmux-socket", server.socket]
        command = [agent.builtin] if agent.builtin else ["run-agent", agent.name]
        return "exec " + shlex.join(argv + command)
    backend = project.backends[agent.backend]
    argv = backend_args(project, agent)
    return backend.bin + ("" if not argv else " " + shlex.join(argv))


def backend_args(project: Project, agent: Agent) -> list:
    """The arguments after the backend's ``bin``: its ``args``, the agent's ``args``, then the model."""
    backend = project.backends[agent.backend]
    args = list(backend.args) + list(agent.args)
    if backend.model_arg and agent.model:
        args += [backend.model_arg, agent.model]
    return args


def caller_names(project: Project, agent: Agent) -> tuple[str, ...]:
    """The names of the caller's variables ``agent`` gets besides ``CALLER_ENV``: its
    ``pass_env``; for the builtin watchdog, every agent's (it restarts them as ``up`` does,
    from its own environment)."""
    if agent.builtin != "watchdog":
        return agent.pass_env
    return tuple(dict.fromkeys(n for a in (agent,) + project.agents for n in a.pass_env))


def expand_home(value: str, home: str) -> str:
    """``value`` with a leading ``~`` or ``~/`` made ``home``; ``~user`` as the system says."""
    if value == "~" or value.startswith("~/"):
        return home + value[1:]
    return os.path.expanduser(value) if value.startswith("~") else value


def environment_for(project: Project, agent: Agent, base: Mapping[str, str] | None = None,
                    server: TmuxServer | None = None) -> dict[str, str]:
    """The whole environment of an agent's process, but for what tmux sets in its pane
    (``PANE_ENV``: TERM is the server's ``default-terminal``, never the caller's).

    Of the caller's environment (``base``, default ``os.environ``) only ``CALLER_ENV`` and
    the names of ``caller_names`` (``pass_env``) are passed; then the project's identity
    (``AGENTLOOPS_*``), the agent's ``env`` table, and PWD, the project folder. A leading
    ``~`` in an ``env`` value is the HOME of that table when it sets one, else the caller's.
    """
    caller: Mapping[str, str] = os.environ if base is None else base
    env = {k: v for k, v in caller.items() if k in _CALLER_NAMES or k.startswith(_CALLER_PREFIXES)}
    env.update((k, caller[k]) for k in caller_names(project, agent) if k in caller)
    env.update({
        "AGENTLOOPS_PROJECT": project.name,
        "AGENTLOOPS_AGENT": agent.name,
        "AGENTLOOPS_CONFIG": project.config_path,
        "AGENTLOOPS_STATE_DIR": project.state_dir,
        "AGENTLOOPS_LOG_DIR": project.log_dir,
    })
    if server is not None:
        env["AGENTLOOPS_TMUX_ARGS"] = shlex.join(server.socket_args)
    home = caller.get("HOME") or os.path.expanduser("~")
    if "HOME" in agent.env:
        home = expand_home(agent.env["HOME"], home)
    for key, value in agent.env.items():
        env[key] = home if key == "HOME" else expand_home(value, home)
    env["PWD"] = project.root
    return env


def record_intent(project: Project, actions: list, desired: str) -> None:
    """Remember what the operator asked for, so the watchdog never fights it: agents
    stopped on purpose get a marker (written before their sessions are killed); agents
    started or restarted on purpose lose it, and their watchdog bookkeeping (BACKOFF,
    FATAL) starts afresh, as does a loop that gave up (its own FATAL)."""
    for action in actions:
        if action.orphan:
            continue
        if desired == "stopped":
            set_stopped(project, action.agent, True)
        elif action.verb in (START, RESTART, NONE):
            set_stopped(project, action.agent, False)
            if action.verb != NONE:
                clear_watch(project, action.agent)
                clear_fatal(project, action.agent)


def start_session(project: Project, server: TmuxServer, agent: Agent, engine_script: str = "",
                  owner: Owner | None = None, remain: bool = False) -> str:
    """Start one agent's session (the caller holds the project's lock); its id. What it
    gets is ``new_session``'s; ``start_sessions`` starts many at once the same way.
    ``remain``: its pane stays when its program ends (``remain-on-exit``, until ``confirm``
    reads its last screen)."""
    (result,) = server.start_many([new_session(project, server, agent, engine_script, start_owner(project, owner),
                                               remain)])
    if isinstance(result, TmuxError):
        raise result
    return result


def start_sessions(project: Project, server: TmuxServer, agents: list, engine_script: str = "",
                   owner: Owner | None = None, remain: bool = False) -> list[str | OrchestratorError]:
    """Start the agents' sessions as ``start_session`` does, in as few tmux calls as their
    size allows (``TmuxServer.start_many``); the caller holds the project's lock. For each
    agent, in order, its session id or the error that kept it from starting (its env file
    not written; a session of its name made meanwhile by someone else: ``TmuxSessionExists``);
    the others start anyway. ``remain``: the panes of the agents whose start is confirmed
    (``confirmed``) stay when their program ends."""
    try:
        owner = start_owner(project, owner)
    except OrchestratorError as exc:  # no project id: none of them can be tagged
        return [exc for _agent in agents]
    results: list[str | OrchestratorError | None] = []
    specs, where = [], []
    for agent in agents:
        try:
            specs.append(new_session(project, server, agent, engine_script, owner, remain and confirmed(agent)))
        except OrchestratorError as exc:
            results.append(exc)
            continue
        except OSError as exc:
            results.append(OrchestratorError("cannot start %s: %s" % (project.session_name(agent), exc)))
            continue
        where.append(len(results))
        results.append(None)
    for index, result in zip(where, server.start_many(specs) if specs else []):
        results[index] = result
    return [r if r is not None else OrchestratorError("not started") for r in results]


def start_owner(project: Project, owner: Owner | None = None) -> Owner:
    """The owner a start tags its sessions with: ``owner``, else the project's, with its
    project id (made if needed: the caller holds the project's lock)."""
    if owner is None or not owner.project_id:
        owner = owner_of(project)
        if not owner.project_id:
            owner = Owner(owner.configs, ensure_project_id(project))
    return owner


def new_session(project: Project, server: TmuxServer, agent: Agent, engine_script: str, owner: Owner,
                remain: bool) -> NewSession:
    """What an agent's session is started with, its env file written first (the one place
    for it, single starts and batches alike).

    The environment goes through a 0600 file in ``state/`` that the session sources, not
    through tmux's command line (readable by anyone in /proc, and logged by libtmux): only
    the ``AGENTLOOPS_*`` identity travels as ``-e`` too (for ``show-environment``). The
    session's shell starts again with nothing but ``PANE_ENV`` and sources the file, so the
    agent's environment is exactly the file's (see ``environment_for``) plus ``PANE_ENV``.
    The session is tagged with ``owner`` (its config and project id) and the agent's program
    (``program_option``); ``remain`` keeps its pane when its program ends.
    """
    env = environment_for(project, agent, server=server)
    identity = {k: v for k, v in env.items() if k.startswith("AGENTLOOPS_")}
    command = _launch(project, server, agent, engine_script, env)
    width, height = project.window_size
    options = dict(program_option(project, agent), **{PROJECT_OPTION: owner.project_id})
    return NewSession(project.session_name(agent), command, project.root, identity, owner.config,
                      width=width, height=height, options=options,
                      window_options={"remain-on-exit": "on"} if remain else None)


def _launch(project: Project, server: TmuxServer, agent: Agent, engine_script: str, env: dict,
            again: bool = False) -> str:
    """Write the agent's env file (and its keeper's files) for ``env``; the session's command.
    ``again``: for a run again under the keeper that waits (its command file only: a FIFO
    made afresh would be one its keeper does not wait on)."""
    lines = ["export %s=%s" % (k, shlex.quote(v)) for k, v in sorted(env.items()) if _SHELL_NAME.match(k)]
    layout = StateLayout.of(project)
    path = layout.env(agent)
    write_env_file(path, "\n".join(lines) + "\n")
    command = command_for(project, agent, server, engine_script)
    if again:
        write_env_file(layout.command(agent), command + "\n")
        return ""
    return keeper_command(layout, agent, command) if keeps(agent) else session_command(path, command)


def in_place(project: Project, agent: Agent, sess: Session) -> bool:
    """Whether the agent can run again in ``sess``: its keeper waits, and agents.toml still
    gives it a keeper and the program its session is tagged with (else a new session, as
    ``up`` starts one, carries what changed)."""
    return ended(sess) and keeps(agent) and \
        sess.program == program_option(project, agent).get(PROGRAM_OPTION, "")


def run_again(project: Project, server: TmuxServer, agent: Agent, sess: Session, engine_script: str = "") -> str:
    """Run the agent again in its session ``sess``, whose keeper waits (``ended``): its files
    written (``prepare_again``), then its keeper told ``run``; no tmux call. The session's id.
    The caller holds the project's lock."""
    prepare_again(project, server, agent, sess, engine_script)
    return wake(project, agent, sess)


def wake(project: Project, agent: Agent, sess: Session) -> str:
    """Tell the keeper of ``sess`` to run its agent again (its files already written:
    ``prepare_again``). The session's id; an error when no keeper waits any more."""
    if not tell_keeper(StateLayout.of(project), agent, "run"):
        raise OrchestratorError("cannot restart %s in its pane: its keeper no longer waits" % sess.name)
    return sess.id


def prepare_again(project: Project, server: TmuxServer, agent: Agent, sess: Session, engine_script: str = "") -> str:
    """What a run of the agent again in ``sess`` needs before its keeper is told: its env and
    command files written as a start writes them (what agents.toml and the caller's
    environment say now). The session's id."""
    try:
        _launch(project, server, agent, engine_script, environment_for(project, agent, server=server), again=True)
    except OSError as exc:
        raise OrchestratorError("cannot restart %s: %s" % (sess.name, exc)) from None
    return sess.id


def write_env_file(path: str, text: str) -> None:
    """Write an agent's env file (0600), unless it holds ``text`` already, 0600 and ours: a
    restart of an unchanged agent (a heal, an ``up`` after ``down``) costs a read, not a
    write and its fsync."""
    data = text.encode("utf-8")
    try:
        info = os.lstat(path)
        same = stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600 and \
            info.st_uid == os.geteuid() and read_state_bytes(path) == data
    except (OSError, OrchestratorError):  # none yet, or not one to trust: written afresh
        same = False
    if not same:
        atomic_write(path, data, 0o600)


def program_option(project: Project, agent: Agent) -> dict[str, str]:
    """The session's ``@agentloops_program`` (``codex codex node``: the profile's program,
    then the pane commands that are it), when the agent's profile names its program."""
    if agent.is_service:
        return {}
    profile = project.profile_of(agent)
    if not profile.program:
        return {}
    return {PROGRAM_OPTION: " ".join((profile.program,) + tuple(profile.commands or (profile.program,)))}


def session_command(env_file: str, command: str) -> str:
    """The shell text a session runs: ``command`` in a shell started afresh (``$SHELL``, the
    one tmux runs: its ``default-shell``) with only ``PANE_ENV`` of the pane and the
    variables of ``env_file``."""
    inner = ". %s; %s" % (shlex.quote(env_file), command)
    return 'exec %s "$SHELL" -c %s' % (_AFRESH, shlex.quote(inner))


_AFRESH = "/usr/bin/env -i " + " ".join('%s="$%s"' % (k, k) for k in PANE_ENV)  # a shell started with PANE_ENV only


def keeps(agent: Agent) -> bool:
    """Whether the agent's session runs it under a keeper (``keeper_command``): a persistent
    agent the watchdog heals, so that a heal restarts it in its pane, without a new session;
    only where dash is (``keeper_shell``): elsewhere its session runs it as any other."""
    return agent.kind == "persistent" and agent.watch in ("heal", "heal+stall") and not agent.is_service and \
        bool(keeper_shell())


_DASH: list[str] = []  # keeper_shell's answer, once found


def keeper_shell() -> str:
    """The shell a keeper runs in: dash, whose job control the keeper's script is written for
    (bash as /bin/sh leaves its loops on a stopped job; busybox picks its applet by the name the
    keeper runs under); "" when this host has none."""
    if not _DASH:
        import shutil

        found = [p for p in ("/bin/dash", "/usr/bin/dash", shutil.which("dash") or "") if p and os.access(p, os.X_OK)]
        _DASH.append(os.path.realpath(found[0]) if found else "")
    return _DASH[0]


def keeper_command(layout: StateLayout, agent: Agent, command: str) -> str:
    """The shell text of a session whose agent a keeper runs: the keeper's script
    (``KEEPER_SCRIPT``, in ``state/agentloops-keeper.sh``) run by dash (``keeper_shell``) under the name
    ``tmuxproc.KEEPER`` (which tmux then shows while it waits), with the agent's name. It
    runs the agent as ``session_command`` does, its env file and command file
    (``NAME.command``, so a restart runs what agents.toml says then) sourced at each run, in
    a process group of its own in the foreground of the pane (job control: Ctrl-C and the
    pane's current command are the agent's, as without a keeper). When the agent ends, the
    keeper says so on the pane (``KEEPER_SAYS`` and its exit status) and waits on its FIFO
    (``NAME.keeper``) for the watchdog's word: ``run`` runs the agent again in the same pane
    (the terminal reset), anything else (another word, the FIFO gone, a Ctrl-C) ends the keeper
    with the agent's exit status, and with it the session. Nothing else writes to the FIFO:
    without a watchdog the keeper waits, and the agent shows as ended (status ``EXITED``;
    ``up`` starts it afresh). Writes the command file, the FIFO, the script and the symlink
    when they are not as needed."""
    write_env_file(layout.command(agent), command + "\n")
    ensure_fifo(layout.keeper(agent))
    write_env_file(layout.keeper_script, KEEPER_SCRIPT)
    ensure_symlink(layout.keeper_shell, keeper_shell())
    argv = (layout.keeper_shell, layout.keeper_script, agent.name)
    return 'exec %s SHELL="$SHELL" %s' % (_AFRESH, shlex.join(argv))


KEEPER_SAYS = "[agentloops] the agent ended, waiting for the watchdog: exit status"  # then the status
KEEPER_STOPPED = "[agentloops] the agent was stopped (SIGSTOP): it stays so until continued"
# The keeper, run by dash as ``state/agentloops-keeper state/agentloops-keeper.sh NAME`` (see
# keeper_command): read by each keeper as it starts (a new version is a new file: a running
# keeper keeps its own). Its environment is PANE_ENV once SHELL is unset: the agent's shell
# starts as session_command's does, with ``. ENV_FILE; COMMAND`` ("$0" is the agent's files'
# common prefix, so its command sees no positional argument, and a last command without
# ``exec`` is exec'd as before). An agent stopped from its terminal (Ctrl-Z: status 148-150)
# goes on in the foreground, as without a keeper (a stop signal from its terminal reached
# nobody then); one stopped by SIGSTOP (147) stays stopped, its keeper polling it each second
# (``NAME.jobs``: what dash's jobs says of it) until it is continued or ended. The suffixes of
# its files are layout.py's (``StateLayout.env``, ``command``, ``keeper``, ``jobs``).
KEEPER_SCRIPT = r"""# agentloops keeper of one agent of this state folder (the engine writes this file)
set -m
trap : INT QUIT
agent=${0%/*}/$1
sh=$SHELL
unset SHELL

# The agent stopped by SIGSTOP: it stays so. Continued, it gets the foreground back (its read
# of the terminal in the background stops it again, SIGTTIN: dash's jobs says so); ended, its
# status is this function's.
stopped() {
    while :; do
        sleep 1 &  # in the background: the keeper keeps the terminal meanwhile
        wait $! || :  # a Ctrl-C (trapped) only cuts the second short
        jobs >/dev/null 2>&1  # the sleep's job freed: the agent's stays %1
        read -r pid rest < "/proc/$$/task/$$/children" 2>/dev/null || pid=
        st=
        [ "$pid" ] && read -r st < "/proc/$pid/stat" 2>/dev/null
        case $st in
            "" | *") Z "*)
                wait %1 2>/dev/null
                return ;;
            *") T "*)
                jobs > "$agent.jobs" 2>/dev/null
                tty=
                while read -r j; do
                    case $j in *"(tty"*) tty=1 ;; esac
                done < "$agent.jobs"
                if [ "$tty" ]; then
                    fg %1 >/dev/null 2>&1
                    return
                fi ;;
            *)
                fg %1 >/dev/null 2>&1
                return ;;
        esac
    done
}

go=run
first=1
while [ "$go" = run ]; do
    [ "$first" ] || printf '\033c'  # what the last run left set (alternate screen, mouse modes) reset
    jobs >/dev/null 2>&1  # every finished job freed: the agent is job %1
    first=
    cmd=
    while IFS= read -r line || [ "$line" ]; do
        cmd="$cmd$line
"
    done < "$agent.command"
    "$sh" -c ". \"\$0.env\"; $cmd" "$agent"
    code=$?
    while :; do
        while [ "$code" -ge 148 ] && [ "$code" -le 150 ]; do
            fg >/dev/null 2>&1
            code=$?
        done
        [ "$code" = 147 ] || break
        printf '\n%s\n' '@STOPPED@'
        stopped
        code=$?
    done
    printf '\n%s %s\n' '@SAYS@' "$code"
    go=
    read -r go < "$agent.keeper" 2>/dev/null
done
exit "$code"
""".replace("@STOPPED@", KEEPER_STOPPED).replace("@SAYS@", KEEPER_SAYS)


def tell_keeper(layout: StateLayout, agent: Agent, word: str) -> bool:
    """Give the keeper of ``agent``'s session its word (``run``; any other ends it, see
    ``keeper_command``). False when no keeper waits on its FIFO now (none reads it: it is
    running the agent, starting it, or gone), so nothing was said."""
    try:
        fd = os.open(layout.keeper(agent), os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:  # ENXIO: no reader; ENOENT, ELOOP: no FIFO of ours
        return False
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        os.write(fd, word.encode("ascii") + b"\n")
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def ensure_fifo(path: str) -> None:
    """A FIFO (0600, ours) at ``path``, made afresh unless one is there."""
    try:
        info = os.lstat(path)
        if stat.S_ISFIFO(info.st_mode) and info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) == 0o600:
            return
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise OrchestratorError("cannot make %s: %s" % (path, exc.strerror or exc)) from None
    try:
        os.mkfifo(path, 0o600)
        os.chmod(path, 0o600)  # whatever the umask
    except OSError as exc:
        raise OrchestratorError("cannot make %s: %s" % (path, exc.strerror or exc)) from None


def ensure_symlink(path: str, target: str) -> None:
    """A symlink at ``path`` to ``target``, put in place atomically unless it is there."""
    try:
        if os.readlink(path) == target:
            return
    except OSError:
        pass
    temp = "%s.%d.tmp" % (path, os.getpid())
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        os.symlink(target, temp)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise OrchestratorError("cannot make %s: %s" % (path, exc.strerror or exc)) from None


@contextlib.contextmanager
def _hangup_ignored(ignore: bool) -> Iterator[None]:
    """SIGHUP ignored meanwhile when ``ignore``: an agent ending itself from its own pane
    gets the hangup of its terminal when its session is killed, and must finish anyway."""
    import signal  # deferred: signal builds its enums on import, and most commands never signal

    previous = None
    if ignore:
        try:
            previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
        except ValueError:  # not the main thread: signals are not ours to handle
            pass
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGHUP, previous)


def end_agent(project: Project, server: TmuxServer, agent: Agent, session: Session | None,
              processes: dict | None = None, keeper: int = 0) -> int:
    """Kill the agent's ``session`` (if any), then every process of the agent still alive:
    what it spawned in another process group or session (a daemon that called setsid, a
    ``nohup`` child) outlives tmux's hangup. Its processes are collected before the kill
    (the pane's descendants and those carrying its identity, see ``procs.agent_processes``)
    and again after it (forks meanwhile); how many leftovers had to be ended (SIGTERM, then
    SIGKILL after a grace). The caller holds the project's lock. ``processes``: a read of
    /proc (``procs.read_table``) to use for the first collection, shared by a mass heal;
    without a session to kill, that collection is the only one needed. ``keeper``: the pid of
    the keeper whose agent is to run again in its session, which is kept: what is left in its
    terminal's session but the keeper (what a hangup of that terminal would have reached) is
    ended too."""
    from .procs import agent_processes, end_processes, kept_agent  # deferred: only ending an agent needs them

    # the pane processes, and the agent a keeper runs (it carries the agent's identity, its keeper does not)
    roots = [p for pane in session.panes for p in (pane.pid, kept_agent(pane.pid)) if p] if session else []

    found = agent_processes(project.config_path, agent.name, roots, processes=processes)
    if keeper:
        found.update(_left_in_terminal(agent, keeper, processes))
    myself = os.environ.get("AGENTLOOPS_AGENT") == agent.name and \
        os.environ.get("AGENTLOOPS_CONFIG") == project.config_path
    with _hangup_ignored(myself):
        if session is not None:
            server.kill(session.id)
            found.update(agent_processes(project.config_path, agent.name))
        return end_processes(found)


def _left_in_terminal(agent: Agent, keeper: int, processes: dict | None) -> dict:
    """What is left in the terminal session of ``keeper`` (its pid is the session's id) but the
    keeper, this process and its ancestors, and any process of another agent's identity: what a
    hangup of the pane would have reached. By pid, with its start time."""
    from .procs import AGENT_VAR, ancestors, read_table

    table = read_table() if processes is None else processes
    spared = {keeper, os.getpid()} | ancestors(os.getpid())
    wanted = os.fsencode(agent.name)
    return {pid: st.start for pid, (st, env) in table.items()
            if st.sid == keeper and pid not in spared and st.state not in ("Z", "X")
            and env.get(AGENT_VAR, wanted) == wanted}


def execute(project: Project, server: TmuxServer, actions: list, report=None, desired: str = "",
            engine_script: str = "", confirm_seconds: float = 0.0) -> list:
    """Carry out ``actions`` under the project's lock; ``report(action)`` is called before
    each change (the CLI prints from it). Returns the actions that changed something.

    The live sessions are read again under the lock, so two concurrent runs do not both
    start the same agent. With ``desired``, the operator's intent is recorded first. The
    sessions to stop (and restart) are ended first, then every start is made at once
    (``start_sessions``: a few tmux calls for any number of agents). With
    ``confirm_seconds``, what was started is confirmed that long after (``confirm``). A
    start tmux refused (a session of that name made meanwhile by someone else) is raised
    after the others started and were confirmed (``start_errors``).
    """
    done, starting, refused = [], [], []
    with locked(StateLayout.of(project).engine_lock):
        if desired:
            record_intent(project, actions, desired)
        live = server.sessions()
        owner = owner_of(project)
        if any(a.verb in (START, RESTART) for a in actions):
            owner = Owner(owner.configs, ensure_project_id(project))
            record_server(project, server)
        for action in actions:
            if not action.changes:
                continue
            sess = live.get(action.session)
            if sess is not None and sess.foreign_to(owner):  # another engine started it meanwhile
                continue
            if action.verb == STOP and not sess:
                continue
            if action.verb == START and sess:
                continue
            if report is not None:
                report(action)
            if action.verb in (STOP, RESTART) and sess:
                action.ended = end_agent(project, server, action.agent, sess)
            if action.verb in (START, RESTART):
                starting.append(action)
            done.append(action)
        results = start_sessions(project, server, [a.agent for a in starting], engine_script, owner,
                                 remain=confirm_seconds > 0) if starting else []
        for action, result in zip(starting, results):
            if isinstance(result, OrchestratorError):
                refused.append((action.session, result))
                done.remove(action)
            else:
                action.session_id = result
        if desired == "stopped":
            done += _end_leftovers(project, server, [a for a in actions if a.verb == NONE])
        elif confirm_seconds > 0:
            confirm(project, server, [a for a in done if a.session_id and confirmed(a.agent)], confirm_seconds)
    if refused:
        raise start_errors(refused, [a.failure for a in done if a.failure])
    return done


def start_errors(refused: list, failures: list | None = None) -> OrchestratorError:
    """One error for the starts that failed, ``(session, error)`` each (of the first one's
    kind when tmux refused it, each on a line; one line when all failed alike, as when the
    server cannot be reached), with the ``failures`` of the others (``confirm``) after them:
    what a run that started the rest says."""
    errors = [e for _name, e in refused]
    if len(errors) > 1 and len({(type(e), getattr(e, "detail", "") or str(e)) for e in errors}) == 1:
        lines = ["%s (the same for %s)" % (errors[0], ", ".join(n for n, _e in refused[1:]))]
    else:
        lines = [str(e) for e in errors]
    lines += list(failures or [])
    if len(lines) == 1 and len(errors) == 1:
        return errors[0]
    text = "%d start(s) failed:\n%s" % (len(errors), "\n".join(lines))
    if isinstance(errors[0], TmuxError):
        error = type(errors[0])(text)
        error.detail, error.output = errors[0].detail, errors[0].output
        return error
    return OrchestratorError(text)


def record_server(project: Project, server: TmuxServer) -> None:
    """Remember the tmux server the project's agents run on (``state/server``), so that
    ``up`` on another server can tell they already run (see ``running_elsewhere``)."""
    if read_server(project) != _server_name(server):
        atomic_write(StateLayout.of(project).server, _server_name(server) + "\n")


def _server_name(server: TmuxServer) -> str:
    """A server as ``state/server`` records it: the real path of its socket file (so one
    server has one name, whether reached by name or by path, and a name under another
    ``TMUX_TMPDIR`` is another server)."""
    return _socket_file(server.socket)


def _socket_file(socket: str) -> str:
    from .tmux import socket_path

    return os.path.realpath(socket_path(socket))


def read_server(project: Project) -> str:
    """The tmux server (its socket's path) the project's agents last started on ("": none)."""
    try:
        return (read_state_text(StateLayout.of(project).server) or "").strip()
    except OrchestratorError:  # a symlink, unreadable, not UTF-8: nothing recorded
        return ""


def running_elsewhere(project: Project, server: TmuxServer) -> tuple[str, list]:
    """``(server, sessions)``: the other tmux server the project's agents were started on
    and those of its sessions that still run there (none: an empty list; no other server
    recorded: ``("", [])``)."""
    recorded = read_server(project)
    if not recorded or _socket_file(recorded) == _server_name(server):
        return "", []
    from .errors import TmuxError

    other = TmuxServer(_socket_file(recorded), tmux_bin=server.tmux_bin)
    try:
        live = other.sessions()
    except TmuxError:
        return "", []
    owner = owner_of(project)
    own = {project.session_name(a) for a in project.agents}
    return recorded, sorted(n for n, s in live.items() if n in own and s.tagged and s.owned_by(owner))


def confirmed(agent: Agent) -> bool:
    """Whether a start of the agent is confirmed: a task's end, whatever its exit, is its
    result (``DONE (exit N)``), not a failed start."""
    return agent.kind != "task"


_TMUX_DEAD = re.compile(r"^Pane is dead( \(.*\))?$")
ALREADY_WATCHED = 3  # the exit status of a watchdog that finds another one watching: not a failure


def confirm(project: Project, server: TmuxServer, actions: list, seconds: float, sleep=None) -> list:
    """Supervisord's ``startsecs``: wait ``seconds`` once for all the sessions just started
    (with ``remain-on-exit``, under the project's lock: no heal takes them meanwhile), then in
    one read of the server find those whose program ended. Each such action gets its
    ``failure`` (exit status and the last lines of its screen, read from the dead pane, else
    the runner's ``<log_dir>/<agent>.screen``), and its session is ended as ``down`` ends one;
    the others go on without ``remain-on-exit``. Returns the failed actions."""
    import time

    if not actions:
        return []
    (sleep or time.sleep)(seconds)
    by_id = {sess.id: sess for sess in server.sessions().values()}
    if any(_dead_without_status(by_id.get(a.session_id)) for a in actions):  # tmux saw the pty close first
        (sleep or time.sleep)(0.2)
        by_id = {sess.id: sess for sess in server.sessions().values()}
    failed, alive = [], []
    for action in actions:
        sess = by_id.get(action.session_id)
        pane = sess.first_pane if sess is not None else None
        if sess is not None and pane is not None and not pane.dead:
            alive.append(sess.id)
            continue
        status = pane.dead_status if pane is not None else None
        screen = ""
        if pane is not None:
            with contextlib.suppress(OrchestratorError):
                screen = server.capture_history(pane.id, 200)
        if sess is not None:
            action.ended = end_agent(project, server, action.agent, sess)
        if action.agent.builtin == "watchdog" and status == ALREADY_WATCHED:
            continue  # another watchdog (a foreground one) watches the project: it is watched
        action.failure = _failure(project, action.agent, seconds, status, screen, pane is not None)
        failed.append(action)
    if alive:
        with contextlib.suppress(OrchestratorError):
            server.run_commands("cannot turn remain-on-exit off",
                                [["set-option", "-w", "-t", sid + ":", "remain-on-exit", "off"] for sid in alive])
    return failed


def _dead_without_status(sess: Session | None) -> bool:
    pane = sess.first_pane if sess is not None else None
    return pane is not None and pane.dead and pane.dead_status is None and not pane.waiting


def _failure(project: Project, agent: Agent, seconds: float, status: int | None, screen: str,
             pane: bool = True) -> str:
    """What ``up`` says of an agent that died within ``seconds`` of its start."""
    if not screen.strip():
        with contextlib.suppress(OrchestratorError):  # a symlink or a FIFO there is not the runner's
            screen = read_state_text(StateLayout.of(project).screen(agent)) or ""
    lines = [line.rstrip() for line in screen.splitlines() if line.strip()]
    if lines and _TMUX_DEAD.match(lines[-1]):  # what tmux writes into a pane that remains
        lines.pop()
    if lines and lines[-1].startswith(KEEPER_SAYS):  # what a keeper writes when its agent ended
        code = lines.pop()[len(KEEPER_SAYS):].strip()
        status = int(code) if status is None and code.isdigit() else status
    lines = lines[-10:]
    how = "exit %d" % status if status is not None else "its program ended" if pane else "its session is gone"
    shown = "\n".join("    " + line for line in lines) if lines else "    (nothing on its screen)"
    return "%s died within %gs of its start (%s); its last screen:\n%s" % (
        project.session_name(agent), seconds, how, shown)


def _end_leftovers(project: Project, server: TmuxServer, actions: list) -> list:
    """Agents asked to stop that have no session may still have processes (a daemon of an
    agent that crashed): end them too (one read of /proc for all). The actions that ended any."""
    if not actions:
        return []
    from .procs import read_table

    processes = read_table()
    out = []
    for action in actions:
        action.ended = end_agent(project, server, action.agent, None, processes)
        if action.ended:
            out.append(action)
    return out
