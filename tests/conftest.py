# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures. Every tmux server a test uses is private: a socket path inside the
test's own temp dir, killed (by that socket) when the test ends. No test reads or touches
the default tmux server."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import json
import textwrap
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, ".build", "collections")
if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "agentloops", "orchestrator")):
    raise RuntimeError("run `make setup` first: %s does not link the collection" % COLLECTIONS)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


@pytest.fixture(autouse=True, scope="session")
def _no_default_tmux_server(tmp_path_factory):
    """A safety net under the private sockets: were any code under test to reach for the
    "default" tmux server, it would find a throwaway one in a temp dir, never the user's."""
    saved = {k: os.environ.get(k) for k in ("TMUX_TMPDIR", "TMUX", "TMUX_PANE")}
    throwaway = str(tmp_path_factory.mktemp("tmux-default"))
    os.environ["TMUX_TMPDIR"] = throwaway
    os.environ.pop("TMUX", None)
    os.environ.pop("TMUX_PANE", None)
    yield
    socket = os.path.join(throwaway, "tmux-%d" % os.getuid(), "default")
    if os.path.exists(socket):
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True, check=False)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


class PrivateTmux:
    """A tmux server on a socket path of the test's own."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-S", self.socket] + list(args), capture_output=True, text=True,
                              check=check, stdin=subprocess.DEVNULL)

    def sessions(self) -> dict:
        """name -> (id, created, first pane pid, current command)"""
        proc = self.run("list-panes", "-a", "-F",
                        "#{session_name}\t#{session_id}\t#{session_created}\t#{pane_pid}\t#{pane_current_command}",
                        check=False)
        if proc.returncode != 0:
            return {}
        out = {}
        for line in proc.stdout.splitlines():
            name, sid, created, pid, cmd = line.split("\t")
            out.setdefault(name, (sid, int(created), int(pid), cmd))
        return out

    def identities(self) -> dict:
        """name -> (session id, creation time, pane pid): what must not change for a
        session we must not touch (its current command may still be settling)."""
        return {name: info[:3] for name, info in self.sessions().items()}

    def new(self, name: str, command: str = "sleep 100000") -> None:
        """Start a session and wait until its program runs (until then tmux reports its
        own name as the pane's command)."""
        self.run("new-session", "-d", "-s", name, command)
        program = command.split()[0]
        deadline = time.monotonic() + 5
        while self.sessions().get(name, (0, 0, 0, ""))[3] != program and time.monotonic() < deadline:
            time.sleep(0.02)

    def kill_server(self) -> None:
        if os.path.exists(self.socket):
            self.run("kill-server", check=False)


@pytest.fixture
def tmux(tmp_path):
    # Short path: unix socket paths are limited to ~107 bytes.
    sock_dir = tmp_path / "s"
    sock_dir.mkdir()
    server = PrivateTmux(str(sock_dir / "tmux.sock"))
    yield server
    server.kill_server()


DEMO_CONFIG = """
[project]
name = "scratch"
session_prefix = "t-scratch-"
tmux_socket = "{socket}"

[agents.worker]
kind = "persistent"
backend = "demo"
model = "demo-1"
watch = "heal"

[agents.helper]
kind = "service"
command = "exec sleep 100000"

[agents.spare]
kind = "persistent"
backend = "demo"
enabled = false

[agents.watchdog]
kind = "service"
builtin = "watchdog"
"""


@pytest.fixture
def demo_project(tmp_path, tmux):
    """A project folder with four agents (one disabled, one builtin) on the private server."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "agents.toml").write_text(textwrap.dedent(DEMO_CONFIG.format(socket=tmux.socket)))
    return project


def _git(*args, cwd=None):
    return subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@localhost", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="session")
def engine_repo(tmp_path_factory):
    """An engine repository made from this checkout's files as they are now (tracked and
    untracked, not ignored), tagged v0.1.0 — what projects pin in the tests."""
    import shutil

    repo = tmp_path_factory.mktemp("engines") / "agent-orchestrator"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = os.path.join(REPO, rel)
        if os.path.isfile(src) and not os.path.islink(src):
            os.makedirs(os.path.dirname(os.path.join(repo, rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(repo, rel))
    _git("init", "-q", "-b", "main", str(repo))
    _git("add", "-A", cwd=repo)
    _git("commit", "-q", "-m", "engine", cwd=repo)
    _git("tag", "v0.1.0", cwd=repo)
    return str(repo)


@pytest.fixture
def git_run():
    return _git


@pytest.fixture
def run_module(capsys):
    """Run a module's main() with args (``_ansible_check_mode``/``_ansible_diff`` allowed);
    return its JSON result (failures included)."""
    from ansible.module_utils.testing import patch_module_args

    def _run(module, args):
        with patch_module_args(args):
            with pytest.raises(SystemExit) as info:
                module.main()
        result = json.loads(capsys.readouterr().out)
        assert (info.value.code != 0) == bool(result.get("failed")), result
        return result

    return _run


@pytest.fixture
def early_state_cleared():
    """early.py's process state (the early read, what ``start`` read) empty before and after
    the test; the cyclic collector back on if ``start`` turned it off (a status process runs
    without it, pytest's does not)."""
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import early

    early._early.clear()
    early._parsed.clear()
    collecting = gc.isenabled()
    yield
    early._early.clear()
    early._parsed.clear()
    if collecting:
        gc.enable()
