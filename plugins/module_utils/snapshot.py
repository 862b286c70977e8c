# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence of a live system, taken read-only, and the comparison of two such snapshots.

A snapshot is plain data (JSON-safe), so a playbook can keep it on the controller and
compare a later one against it in the same run:

- files: sha256, size and mode of given files and of every file under given folders
  (symlinks are recorded by their target, never followed);
- tmux: per server, every session (name, id, creation time) and its panes (id, pid, current
  command), from one ``list-panes -a`` call per server;
- watchdogs: per session prefix, how many ``<prefix>watchdog`` sessions exist;
- state: the text of the state files (``phase-idx``, ``*.resume-id``) under given state folders.

Two snapshots are the same when files, sessions (ids, creation times), panes (ids, pids),
watchdog counts and state are. A pane's current command is recorded but not compared: a live
agent changes it by itself (``claude`` running ``git``), not because anyone touched it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Sequence

from .errors import OrchestratorError
from .layout import PHASE_FILE, RESUME_SUFFIX
from .tmux import TmuxServer, resolve_socket

STATE_FILES = (PHASE_FILE,)
STATE_SUFFIXES = (RESUME_SUFFIX,)


def _file_entry(path: str) -> dict:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return {"link": os.readlink(path), "mode": "%o" % stat.S_IMODE(st.st_mode)}
    if not stat.S_ISREG(st.st_mode):  # a FIFO or socket would block or fail if opened
        return {"type": "fifo" if stat.S_ISFIFO(st.st_mode) else "special", "mode": "%o" % stat.S_IMODE(st.st_mode)}
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "size": st.st_size, "mode": "%o" % stat.S_IMODE(st.st_mode)}


def _walk(folder: str) -> list:
    out = []
    for base, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(names) + [d for d in dirs if os.path.islink(os.path.join(base, d))]:
            out.append(os.path.join(base, name))
    return out


def take(files: Sequence[str] = (), folders: Sequence[str] = (), servers: Sequence[str] = (),
         prefixes: Sequence[str] = (), state_dirs: Sequence[str] = ()) -> dict:
    """A snapshot; reads only. Missing files and folders are recorded as missing."""
    return {"taken": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": _files(files, folders),
            **_tmux(servers, prefixes), "state": _state(state_dirs)}


def _files(files: Sequence[str], folders: Sequence[str]) -> dict:
    out: dict = {}
    paths = [os.path.abspath(p) for p in files]
    for folder in folders:
        folder = os.path.abspath(folder)
        if os.path.isdir(folder):
            paths.extend(_walk(folder))
        else:
            out[folder + "/"] = {"missing": True}
    for path in paths:
        try:
            out[path] = _file_entry(path)
        except FileNotFoundError:
            out[path] = {"missing": True}
        except OSError as exc:
            raise OrchestratorError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    return out


def _tmux(servers: Sequence[str], prefixes: Sequence[str]) -> dict:
    """``tmux``: every server's sessions and panes; ``watchdogs``: the count per prefix."""
    tmux: dict = {}
    watchdogs: dict = {}
    for socket in (resolve_socket(s) for s in servers):
        server = TmuxServer(socket)
        sessions = server.sessions()
        tmux[socket] = {name: {"id": s.id, "created": s.created,
                               "panes": [{"id": p.id, "pid": p.pid, "command": p.current_command}
                                         for p in s.panes]}
                        for name, s in sorted(sessions.items())}
        for prefix in prefixes:
            count = sum(1 for name in sessions if name == prefix + "watchdog")
            watchdogs["%s@%s" % (prefix, server.describe())] = count
    return {"tmux": tmux, "watchdogs": watchdogs}


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


def compare(before: dict, after: dict) -> list:
    """Readable differences between two snapshots (empty when nothing was touched)."""
    diffs = []
    for key, label in (("files", "file"), ("state", "state file")):
        b, a = before.get(key, {}), after.get(key, {})
        for path in sorted(set(b) | set(a)):
            if path not in a:
                diffs.append("%s %s: gone" % (label, path))
            elif path not in b:
                diffs.append("%s %s: new" % (label, path))
            elif b[path] != a[path]:
                diffs.append("%s %s: changed (%s -> %s)" % (label, path, _short(b[path]), _short(a[path])))
    for server in sorted(set(before.get("tmux", {})) | set(after.get("tmux", {}))):
        b = _comparable_tmux(before.get("tmux", {}).get(server, {}))
        a = _comparable_tmux(after.get("tmux", {}).get(server, {}))
        where = TmuxServer(server).describe()
        for name in sorted(set(b) | set(a)):
            if name not in a:
                diffs.append("session %s on %s: gone" % (name, where))
            elif name not in b:
                diffs.append("session %s on %s: new" % (name, where))
            elif b[name] != a[name]:
                change = "%s -> %s" % (b[name], a[name])
                diffs.append("session %s on %s: changed (id, created, panes %s)" % (name, where, change))
    for key in sorted(set(before.get("watchdogs", {})) | set(after.get("watchdogs", {}))):
        b, a = before.get("watchdogs", {}).get(key), after.get("watchdogs", {}).get(key)
        if b != a:
            diffs.append("watchdogs %s: %s -> %s" % (key, b, a))
    return diffs


def _short(entry) -> str:
    if isinstance(entry, dict):
        if entry.get("missing"):
            return "missing"
        if "sha256" in entry:
            return "sha256 %s… %s bytes mode %s" % (entry["sha256"][:12], entry["size"], entry["mode"])
        return ", ".join("%s=%s" % kv for kv in sorted(entry.items()))
    text = str(entry).strip()
    return repr(text[:40])


def summary(snap: dict) -> str:
    sessions = sum(len(s) for s in snap.get("tmux", {}).values())
    watchdogs = sum(snap.get("watchdogs", {}).values())
    plural = "" if watchdogs == 1 else "s"
    return "%d files, %d sessions, %d watchdog%s" % (len(snap.get("files", {})), sessions, watchdogs, plural)
