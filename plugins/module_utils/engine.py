# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few entry points the CLI and the modules share: open a project, read its status,
bring its sessions to a state. One place for each, so both front ends behave the same."""

from __future__ import annotations

import os

from . import config as config_mod
from . import phase, status
from .tmux import TmuxServer, resolve_socket


def open_project(config_path: str, tmux_socket: str | None = None) -> tuple:
    """Load and validate a config; return ``(project, server)``.

    ``tmux_socket`` overrides the config's ``tmux_socket`` when not None (a name or a path;
    a relative path is taken from the current directory).
    """
    project = config_mod.load(config_path)
    return project, TmuxServer(project.tmux_socket if tmux_socket is None else resolve_socket(tmux_socket))


def read_status(project, server: TmuxServer, live: dict | None = None) -> tuple:
    """``(rows, lines, phase_index)``: one tmux call (none when ``live`` sessions are
    given), nothing written."""
    live = server.sessions() if live is None else live
    row_list = status.rows(project, live)
    index = phase.read_phase_index(project) if project.phases else 0
    return row_list, status.render(project, row_list, index), index


def converge(project, server: TmuxServer, names: list | None, desired: str, check_mode: bool = False,
             report=None) -> tuple:
    """Bring the named agents (all when empty) to ``desired``.

    Returns ``(actions, before, after)`` where ``before``/``after`` are the sorted names of
    the project's sessions. In check mode ``after`` is predicted and nothing is touched.
    """
    from . import sessions  # deferred: the read path (status) does not need it

    agents = project.select(names)
    live = server.sessions()
    own = {project.session_name(a) for a in project.agents}
    before = sorted(n for n in live if n in own)
    actions = sessions.plan(project, live, agents, desired)
    if check_mode:
        after = set(before)
        for action in actions:
            if action.verb == sessions.STOP:
                after.discard(action.session)
            elif action.verb in (sessions.START, sessions.RESTART):
                after.add(action.session)
        return actions, before, sorted(after)
    done = {a.session for a in sessions.execute(project, server, actions, report=report, desired=desired)}
    for action in actions:
        if action.changes and action.session not in done:
            action.verb, action.reason = sessions.NONE, "already in the desired state"
    after = sorted(n for n in server.sessions() if n in own)
    return actions, before, after


def parity(project, other_config: str, label: str = "staged", other_label: str = "live") -> dict:
    """The parity gate of a cutover: ``project``'s AGENT/KIND/BACKEND/MODEL/WATCH columns
    against another config's (read without tmux: STATE is not compared)."""
    other = config_mod.load(other_config)
    differences, lines = status.parity(status.rows(project, {}), status.rows(other, {}), label, other_label)
    return {"match": not differences, "differences": differences, "lines": lines, "other": other.config_path}


def systemd_unit_name(project) -> str:
    """The name of the project's watchdog unit: its folder's name for people, a hash of its
    path so two projects never share a unit."""
    import hashlib
    import re

    readable = re.sub(r"[^A-Za-z0-9_-]", "-", os.path.basename(project.root))
    return "agentloops-%s-%s-watchdog.service" % (readable, hashlib.sha1(project.root.encode()).hexdigest()[:8])


def describe(project, server: TmuxServer) -> dict:
    """A project's identity and places, as data (for plays that act on two configs)."""
    return {"name": project.name, "config": project.config_path, "root": project.root,
            "session_prefix": project.session_prefix, "state_dir": project.state_dir,
            "log_dir": project.log_dir, "tmux_socket": server.socket, "systemd_unit": systemd_unit_name(project)}


def fleet_status(fleet) -> list:
    """One dict per fleet project; enabled ones carry live ``running``/``stopped`` counts
    (one tmux call per distinct server), or ``error`` when their config cannot be read.
    Disabled projects are not looked at."""
    from .errors import OrchestratorError

    servers: dict = {}
    out = []
    for entry in fleet.projects:
        row = entry.as_dict()
        row.update(running=None, stopped=None, error=None)
        if entry.enabled:
            try:
                project, server = open_project(os.path.join(entry.dir, "agents.toml"))
                if server.socket not in servers:
                    servers[server.socket] = server.sessions()
                live = servers[server.socket]
                running = sum(1 for a in project.agents if project.session_name(a) in live)
                row.update(running=running, stopped=len(project.agents) - running)
            except OrchestratorError as exc:
                row["error"] = str(exc).splitlines()[0]
        out.append(row)
    return out


def fleet_lines(fleet, rows: list) -> list:
    """``fleet status`` lines: one per project (enabled ones with live counts), then totals."""
    lines = []
    for entry, row in zip(fleet.projects, rows):
        line = entry.status_line()
        if row["running"] is not None:
            line += " running=%d stopped=%d" % (row["running"], row["stopped"])
        elif row["error"]:
            line += " (unreadable: %s)" % row["error"]
        lines.append(line)
    return lines + [fleet.totals_line()]


def running_sessions(project, tmux_socket: str | None = None) -> list:
    """What of the project still runs: its agent sessions on its tmux server (or the one
    given), and any watchdog process of its config (e.g. under systemd)."""
    from .procs import watchdog_pids

    socket = project.tmux_socket if tmux_socket is None else resolve_socket(tmux_socket)
    live = TmuxServer(socket).sessions()
    names = [project.session_name(a) for a in project.agents if project.session_name(a) in live]
    return names + ["watchdog pid %d" % pid for pid in watchdog_pids(project)]


def scaffold_project(project_dir: str, state: str = "present", check_mode: bool = False, **options) -> dict:
    """Create (``present``) or remove (``absent``) a scaffolded project.

    Returns ``changed``, the project's description and the agents.toml text before/after
    for diffs. Nothing is created or removed in check mode.
    """
    from . import scaffold

    if state == "absent":
        stopping = tuple(options.get("expect_stopped") or ()) if check_mode else ()
        path = scaffold.check_removable(project_dir, lambda p: running_sessions(p, options.get("tmux_socket")),
                                        stopping)
        if path and not check_mode:
            scaffold.remove(path)
        return {"changed": path is not None, "project_dir": os.path.normpath(project_dir), "removed": path is not None,
                "before": "present" if path else "absent", "after": "absent"}
    plan = scaffold.plan_create(project_dir, options.get("engine_repo") or "", options.get("engine_ref") or "HEAD",
                                options.get("agents_config"), options.get("project_name"),
                                options.get("session_prefix"), options.get("tmux_socket"))
    result = {"changed": not plan.exists, "before_text": plan.agents_text if plan.exists else "",
              "after_text": plan.agents_text or ""}
    if not plan.exists and not check_mode:
        scaffold.create(plan, options.get("agents_config"), options.get("tmux_socket"))
        result["after_text"] = plan.agents_text
    result.update(plan.as_dict())
    if not check_mode or plan.exists:
        result["tracked_files"] = scaffold.tracked_files(plan.project_dir)
    return result
