# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence of a live system, taken read-only, and the comparison of two such snapshots.

A snapshot is plain data (JSON-safe), so a playbook can keep it on the controller and
compare a later one against it in the same run:

- files: sha256, size and mode of given files and of every file under given folders; a
  symlink is followed and recorded with its link text and resolved target (re-pointing it,
  or changing its target, is a change);
- projects (``configs``, agents.toml paths): of each, the config itself, every file of its
  ``state_dir`` (but the parsed-config cache of status, ``early.is_cache``: derived from the
  config), the engine's files in its ``log_dir`` (``events.jsonl``, ``NAME.log``,
  ``NAME.screen``), its agents' kickoff templates, the ``agents.py`` launcher beside it (or
  in ``engine/``), and its watchdog processes (pids with start times, from /proc: a
  foreground watchdog has no session);
- tmux: per server, every session (name, id, creation time) and its panes (id, pid, current
  command), from one ``list-panes -a`` call per server;
- watchdog_sessions: per session prefix, how many ``<prefix>watchdog`` sessions exist;
- state: the text of the state files (``phase-idx``, ``*.resume-id``) under given state folders.

A snapshot taken ``since`` an earlier one also holds the events each project logged in
between and, for the logs the engine appends to, the checksum of what was there before.

``compare`` lists every difference. ``judge`` splits them: a change the live system made
by itself during the check (its watchdog healed an agent, its runner started an iteration,
an operator ran ``phase set``) comes with the matching events; a change without a matching
event is one the check touched. A pane's current command is recorded but not compared: a
live agent changes it by itself (``claude`` running ``git``).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections.abc import Sequence

from .errors import OrchestratorError
from .layout import ENGINE_LOCK, GUARD_LOCK, PHASE_FILE, PROJECT_ID, RESUME_SUFFIX, SERVER_FILE, WATCHDOG_LOCK, WRITE_ERROR
from .tmux import TmuxServer, resolve_socket

STATE_FILES = (PHASE_FILE,)
STATE_SUFFIXES = (RESUME_SUFFIX,)
# The per-agent state files the live system rewrites by itself, and what explains a change:
# "events" (an event of that agent in events.jsonl) or "activity" (an event, or new lines in
# its log: the runner starts an iteration without an event). Markers an operator writes
# (``.stopped``, ``.paused``) and files not named here are never explained.
AGENT_STATE = {".watch.json": "events", ".run.json": "activity", ".kickoff.md": "activity",
               RESUME_SUFFIX: "activity", ".env": "activity"}
EVENTS_READ_MAX = 4 << 20  # of the events logged between two snapshots, at most the last 4 MB are read
EVIDENCE_SHOWN = 3


def _mode(st: os.stat_result) -> str:
    return "%o" % stat.S_IMODE(st.st_mode)


def _file_entry(path: str, head: int | None = None) -> tuple[dict, str | None]:
    """What a file is (a symlink followed: its link text and resolved target too), and the
    sha256 of its first ``head`` bytes when asked (a log the live system appends to)."""
    entry: dict = {}
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        entry.update(link=os.readlink(path), target=os.path.realpath(path))
        try:
            st = os.stat(path)
        except FileNotFoundError:
            entry["dangling"] = True
            return entry, None
    if stat.S_ISDIR(st.st_mode):  # a symlinked folder: recorded, not walked
        entry.update(type="dir", mode=_mode(st))
        return entry, None
    if not stat.S_ISREG(st.st_mode):  # a FIFO or socket would block or fail if opened
        entry.update(type="fifo" if stat.S_ISFIFO(st.st_mode) else "special", mode=_mode(st))
        return entry, None
    digest = hashlib.sha256()
    head_digest = None
    read = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            if head is not None and head_digest is None and read + len(block) >= head:
                digest.update(block[:head - read])
                head_digest = digest.hexdigest()
                digest.update(block[head - read:])
            else:
                digest.update(block)
            read += len(block)
    if head is not None and head_digest is None and read >= head:
        head_digest = digest.hexdigest()  # head == 0 on an empty file
    entry.update(sha256=digest.hexdigest(), size=read, mode=_mode(st))
    return entry, head_digest


def _walk(folder: str) -> list:
    """Every file under ``folder`` but the parsed-config caches (``early.is_cache``)."""
    from .early import is_cache

    out = []
    for base, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(names) + [d for d in dirs if os.path.islink(os.path.join(base, d))]:
            if not is_cache(os.path.join(base, name)):
                out.append(os.path.join(base, name))
    return out


def take(files: Sequence[str] = (), folders: Sequence[str] = (), servers: Sequence[str] = (),
         prefixes: Sequence[str] = (), state_dirs: Sequence[str] = (), configs: Sequence[str] = (),
         since: dict | None = None) -> dict:
    """A snapshot; reads only. Missing files and folders are recorded as missing. ``configs``
    are the agents.toml of the projects covered whole (see the module's docstring);
    ``since``, an earlier snapshot: the events logged since, and what was appended since."""
    projects: dict = {}
    paths = [os.path.abspath(p) for p in files]
    folders = list(folders)
    for config in configs:
        info, more, walked = _project(config)
        projects[os.path.abspath(config)] = info
        paths.extend(more)
        folders.extend(walked)
    heads = {}
    for path, entry in ((since or {}).get("files") or {}).items():
        if isinstance(entry, dict) and "sha256" in entry:
            heads[path] = entry["size"]
    files_out, appended = _files(paths, folders, heads)
    snap = {"taken": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": files_out,
            **_tmux(servers, prefixes), "state": _state(state_dirs), "projects": projects,
            "watchdogs": {config: len(info.get("watchdog_pids", [])) for config, info in projects.items()}}
    if since is not None:
        snap["appended"] = appended
        snap["events"] = {config: _events_since(info, since, files_out, appended)
                          for config, info in projects.items() if "events" in info}
    return snap


def _project(config: str) -> tuple[dict, list, list]:
    """One project's part of a snapshot: what it is, the files and the folders covered."""
    from .config import load
    from .kickoff import template_path
    from .layout import StateLayout
    from .procs import read_stat, watchdogs_of

    path = os.path.abspath(config)
    pids = []
    for pid in watchdogs_of(path):
        found = read_stat(pid)
        if found is not None:
            pids.append("%d@%d" % (pid, found.start))
    try:
        project = load(path)
    except OrchestratorError as exc:  # recorded; its file is still compared
        return {"error": (str(exc).splitlines() or ["invalid"])[0], "watchdog_pids": sorted(pids)}, [path], []
    layout = StateLayout.of(project)
    names = sorted(a.name for a in project.agents)
    optional = [layout.events] + [layout.log(n) for n in names] + [layout.screen(n) for n in names]
    for agent in project.agents:
        if agent.kickoff:
            try:
                optional.append(template_path(project, agent))
            except OrchestratorError:
                pass
    optional += [os.path.join(project.root, "agents.py"), os.path.join(project.root, "engine", "agents.py")]
    info = {"root": project.root, "state_dir": os.path.abspath(project.state_dir),
            "log_dir": os.path.abspath(project.log_dir), "events": os.path.abspath(layout.events),
            "prefix": project.session_prefix, "agents": names, "watchdog_pids": sorted(pids)}
    return info, [path] + [os.path.abspath(p) for p in optional if os.path.lexists(p)], [info["state_dir"]]


def _files(files: Sequence[str], folders: Sequence[str], heads: dict) -> tuple[dict, dict]:
    out: dict = {}
    appended: dict = {}
    paths = list(files)
    for folder in folders:
        folder = os.path.abspath(folder)
        if os.path.isdir(folder):
            paths.extend(_walk(folder))
        else:
            out[folder + "/"] = {"missing": True}
    for path in dict.fromkeys(paths):
        try:
            out[path], head = _file_entry(path, heads.get(path))
        except FileNotFoundError:
            out[path] = {"missing": True}
            continue
        except OSError as exc:
            raise OrchestratorError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
        if head is not None:
            appended[path] = head
    return out, appended


def _events_since(info: dict, since: dict, files: dict, appended: dict) -> list:
    """The events a project logged after ``since`` was taken (read from where the log ended
    then, or from its start when it was replaced meanwhile), at most the last 4 MB."""
    path = info["events"]
    entry = files.get(path) or {}
    if "sha256" not in entry:
        return []
    old = (since.get("files") or {}).get(path) or {}
    start = old.get("size", 0) if appended.get(path) == old.get("sha256") else 0
    start = max(start, entry["size"] - EVENTS_READ_MAX)
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            data = handle.read(entry["size"] - start)
    except OSError as exc:
        raise OrchestratorError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    out = []
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append({k: str(record.get(k, "")) for k in ("ts", "agent", "event", "reason", "outcome")})
    return out


def _tmux(servers: Sequence[str], prefixes: Sequence[str]) -> dict:
    """``tmux``: every server's sessions and panes; ``watchdog_sessions``: the count per prefix."""
    tmux: dict = {}
    counts: dict = {}
    for socket in (resolve_socket(s) for s in servers):
        server = TmuxServer(socket)
        sessions = server.sessions()
        tmux[socket] = {name: {"id": s.id, "created": s.created,
                               "panes": [{"id": p.id, "pid": p.pid, "command": p.current_command}
                                         for p in s.panes]}
                        for name, s in sorted(sessions.items())}
        for prefix in prefixes:
            count = sum(1 for name in sessions if name == prefix + "watchdog")
            counts["%s@%s" % (prefix, server.describe())] = count
    return {"tmux": tmux, "watchdog_sessions": counts}


def _state(state_dirs: Sequence[str]) -> dict:
    out: dict = {}
    for folder in state_dirs:
        folder = os.path.abspath(folder)
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            out[folder + "/"] = None
            continue
        for name in names:
            if name in STATE_FILES or name.endswith(STATE_SUFFIXES):
                path = os.path.join(folder, name)
                try:
                    with open(path, encoding="utf-8", errors="replace") as handle:
                        out[path] = handle.read()
                except OSError as exc:
                    raise OrchestratorError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    return out


def _comparable_tmux(sessions: dict) -> dict:
    return {name: (s["id"], s["created"], tuple((p["id"], p["pid"]) for p in s["panes"]))
            for name, s in sessions.items()}


def _differences(before: dict, after: dict) -> list:
    """Every difference as (text, what, key): what is file, session, watchdogs or
    watchdog_sessions; key the path, (server, session name), config or prefix@server."""
    diffs = []
    for key, label in (("files", "file"), ("state", "state file")):
        b, a = before.get(key, {}), after.get(key, {})
        for path in sorted(set(b) | set(a)):
            if path not in a:
                diffs.append(("%s %s: gone" % (label, path), "file", path))
            elif path not in b:
                diffs.append(("%s %s: new" % (label, path), "file", path))
            elif b[path] != a[path]:
                diffs.append(("%s %s: changed (%s -> %s)" % (label, path, _short(b[path]), _short(a[path])),
                              "file", path))
    for server in sorted(set(before.get("tmux", {})) | set(after.get("tmux", {}))):
        b = _comparable_tmux(before.get("tmux", {}).get(server, {}))
        a = _comparable_tmux(after.get("tmux", {}).get(server, {}))
        where = TmuxServer(server).describe()
        for name in sorted(set(b) | set(a)):
            if name not in a:
                diffs.append(("session %s on %s: gone" % (name, where), "session", name))
            elif name not in b:
                diffs.append(("session %s on %s: new" % (name, where), "session", name))
            elif b[name] != a[name]:
                change = "%s -> %s" % (b[name], a[name])
                diffs.append(("session %s on %s: changed (id, created, panes %s)" % (name, where, change),
                              "session", name))
    for key in sorted(set(before.get("watchdog_sessions", {})) | set(after.get("watchdog_sessions", {}))):
        b, a = before.get("watchdog_sessions", {}).get(key), after.get("watchdog_sessions", {}).get(key)
        if b != a:
            diffs.append(("watchdog sessions %s: %s -> %s" % (key, b, a), "watchdog_sessions", key))
    bp, ap = before.get("projects", {}), after.get("projects", {})
    for config in sorted(set(bp) | set(ap)):
        b, a = (bp.get(config) or {}).get("watchdog_pids"), (ap.get(config) or {}).get("watchdog_pids")
        if b is None or a is None or b == a:
            continue
        if len(b) != len(a):
            diffs.append(("watchdog processes of %s: %d -> %d (pid@start %s -> %s)" % (
                config, len(b), len(a), " ".join(b) or "none", " ".join(a) or "none"), "watchdogs", config))
        else:
            diffs.append(("watchdog processes of %s: replaced (pid@start %s -> %s)" % (
                config, " ".join(b), " ".join(a)), "watchdogs", config))
    return diffs


def compare(before: dict, after: dict) -> list:
    """Readable differences between two snapshots (empty when nothing was touched)."""
    return [text for text, _what, _key in _differences(before, after)]


def judge(before: dict, after: dict) -> dict:
    """The differences split in two: ``live``, what the live system changed by itself
    during the check, each with its matching events; ``touched``, the rest (no event
    explains them: the check, or someone unseen, touched the live system). ``after`` must
    have been taken ``since`` ``before`` (else no change has events)."""
    evidence = _Evidence(before, after)
    touched, live = [], []
    for text, what, key in _differences(before, after):
        found = list(dict.fromkeys(evidence.explain(what, key)))
        if found:
            more = " and %d more" % (len(found) - EVIDENCE_SHOWN) if len(found) > EVIDENCE_SHOWN else ""
            live.append("%s; changed during the check: %s%s" % (text, "; ".join(found[:EVIDENCE_SHOWN]), more))
        else:
            touched.append(text)
    return {"touched": touched, "live": live}


def _line(record: dict) -> str:
    return "%s %s %s: %s (%s)" % (record["ts"], record["agent"], record["event"], record["reason"], record["outcome"])


class _Evidence:
    """What explains a difference: the events each project logged between the snapshots
    (and, for its agents, the lines their logs grew by)."""

    def __init__(self, before: dict, after: dict) -> None:
        self.before, self.after = before.get("files", {}), after.get("files", {})
        self.appended = after.get("appended", {})
        self.events = after.get("events", {})
        self.projects = {c: i for snap in (before, after) for c, i in snap.get("projects", {}).items()
                         if "state_dir" in i}

    def grown(self, path: str) -> int | None:
        """Bytes appended to ``path`` (its old content and mode unchanged), or None."""
        new, old = self.after.get(path) or {}, self.before.get(path)
        if "sha256" not in new:
            return None
        if old is None or old.get("missing"):
            return new["size"] or None
        if "sha256" in old and new["size"] > old["size"] and new["mode"] == old["mode"] and \
                self.appended.get(path) == old["sha256"]:
            return new["size"] - old["size"]
        return None

    def of(self, config: str, agent: str | None = None, kind: str | None = None) -> list:
        return [_line(r) for r in self.events.get(config, [])
                if (agent is None or r["agent"] == agent) and (kind is None or r["event"] == kind)]

    def activity(self, config: str, agent: str) -> list:
        out = self.of(config, agent)
        log = os.path.join(self.projects[config]["log_dir"], agent + ".log")
        grown = self.grown(log)
        return out + (["%s grew by %d bytes" % (log, grown)] if grown else [])

    def explain(self, what: str, key) -> list:
        out: list = []
        for config, info in sorted(self.projects.items()):
            if what == "file":
                out += self._file(config, info, key)
            elif what == "session" and key.startswith(info["prefix"]):
                agent = key[len(info["prefix"]):]
                out += self.of(config, "watchdog", "start") if agent == "watchdog" else self.of(config, agent)
            elif what == "watchdogs" and key == config:
                out += self.of(config, "watchdog", "start")
            elif what == "watchdog_sessions" and key.startswith(info["prefix"] + "@"):
                out += self.of(config, "watchdog", "start")
        return out

    def _file(self, config: str, info: dict, path: str) -> list:
        folder, name = os.path.split(path)
        if folder == info["log_dir"] and name.endswith((".log", ".screen")) or path == info["events"]:
            grown = self.grown(path)
            if path == info["events"]:
                return ["%d event(s) logged" % len(self.events.get(config, []))] if grown else []
            agent = name.rpartition(".")[0]
            if name.endswith(".log"):
                return ["%s grew by %d bytes" % (path, grown)] if grown else []
            return self.activity(config, agent) if agent in info["agents"] else []
        if folder != info["state_dir"]:
            return []
        if name == PHASE_FILE:
            return self.of(config, kind="phase")
        if name == WATCHDOG_LOCK:
            return self.of(config, "watchdog", "start")
        if name == GUARD_LOCK:  # the watchdog starts its guard, and again when it was killed
            return self.of(config, "watchdog", "start") + self.of(config, "watchdog", "guard")
        if name in (PROJECT_ID, SERVER_FILE):  # written by a start: up's or a heal's
            return [_line(r) for r in self.events.get(config, []) if r["event"] in ("start", "heal")]
        if name == WRITE_ERROR:  # the live watchdog could not write its log: the file says why
            return ["the live watchdog's failed write: %s" % _short(self.after.get(path) or {})]
        if name == ENGINE_LOCK or name.startswith(".") and name.endswith(".tmp"):  # a lock, a write under way
            return self.of(config) + [a for n in info["agents"] for a in self.activity(config, n)]
        for suffix, rule in AGENT_STATE.items():
            agent = name[:-len(suffix)]
            if name.endswith(suffix) and agent in info["agents"]:
                return self.of(config, agent) if rule == "events" else self.activity(config, agent)
        return []


def _short(entry) -> str:
    if isinstance(entry, dict):
        if entry.get("missing"):
            return "missing"
        link = "link %s -> %s, " % (entry["link"], entry["target"]) if "link" in entry else ""
        if entry.get("dangling"):
            return link + "dangling"
        if "sha256" in entry:
            return "%ssha256 %s… %s bytes mode %s" % (link, entry["sha256"][:12], entry["size"], entry["mode"])
        return link + ", ".join("%s=%s" % kv for kv in sorted(entry.items()) if kv[0] not in ("link", "target"))
    text = str(entry).strip()
    return repr(text[:40])


def summary(snap: dict) -> str:
    """Files, sessions and watchdogs: processes when projects are covered (a foreground
    watchdog has no session), else ``<prefix>watchdog`` sessions."""
    sessions = sum(len(s) for s in snap.get("tmux", {}).values())
    counts = snap.get("watchdogs") if snap.get("projects") else snap.get("watchdog_sessions")
    watchdogs = sum((counts or {}).values())
    plural = "" if watchdogs == 1 else "s"
    return "%d files, %d sessions, %d watchdog%s" % (len(snap.get("files", {})), sessions, watchdogs, plural)
