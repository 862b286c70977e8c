# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which tmux server the engine uses, for real: never one it does not safely own (another
user's socket, a file where the socket should be, a folder anyone may write to), and never
the default one because a value was left blank (AWX sends "" for an empty survey field).

Every server here is private: a socket path in the test's temp dir, or a name under the
session's throwaway TMUX_TMPDIR (tests/conftest.py), so "the default server" is a private
one too."""

from __future__ import annotations

import os
import re
import socket as socket_mod
import subprocess
import textwrap

import pytest
from test_cli import agents_py
from test_playbooks import playbook

ONE_AGENT = """
[project]
name = "{name}"
session_prefix = "t-{name}-"
tmux_socket = "{socket}"

[agents.helper]
kind = "service"
command = "exec sleep 100000"
"""

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="giving a socket to another user needs root")


def project(folder, socket: str, name: str = "sock"):
    folder.mkdir(exist_ok=True)
    (folder / "agents.toml").write_text(textwrap.dedent(ONE_AGENT.format(name=name, socket=socket)))
    return folder


def named(name: str, *args: str) -> subprocess.CompletedProcess:
    """tmux on a named server (``-L``) under the test session's TMUX_TMPDIR."""
    return subprocess.run(["tmux", "-L", name, *args], capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL)


def end_server_at(path) -> None:
    """Kill a server a failing engine would have started at ``path`` (by that socket)."""
    if os.path.exists(path) and not os.path.isfile(path):
        subprocess.run(["tmux", "-S", str(path), "kill-server"], capture_output=True, check=False,
                       stdin=subprocess.DEVNULL)


def session_names(run) -> set:
    proc = run("list-sessions", "-F", "#{session_name}")
    return set(proc.stdout.split()) if proc.returncode == 0 else set()


@root_only
def test_up_refuses_another_users_server_and_starts_nothing(tmp_path, tmux):
    tmux.new("theirs")
    os.chown(tmux.socket, 65534, 65534)
    try:
        proc = agents_py(project(tmp_path / "p", tmux.socket), "up")
        assert proc.returncode != 0, proc.stdout + proc.stderr
        assert re.search(r"refusing tmux socket %s: it is owned by uid 65534\b" % re.escape(tmux.socket), proc.stderr)
        assert set(tmux.sessions()) == {"theirs"}, "nothing started in someone else's server"
        status = agents_py(tmp_path / "p", "status")
        assert status.returncode != 0 and "owned by uid 65534" in status.stderr, "nor read as if it were ours"
    finally:
        os.chown(tmux.socket, 0, 0)


def test_up_refuses_a_file_at_the_socket_path_and_leaves_it(tmp_path):
    path = tmp_path / "s" / "tmux.sock"
    path.parent.mkdir()
    path.write_text("an operator's notes\n")
    try:
        proc = agents_py(project(tmp_path / "p", str(path)), "up")
        assert proc.returncode != 0
        assert "refusing tmux socket %s: it exists and is not a socket (a file)" % path in proc.stderr
        assert path.read_text() == "an operator's notes\n", "the file is not replaced by a server"
    finally:
        end_server_at(path)


def test_up_refuses_a_socket_in_a_folder_anyone_may_write(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # not sticky: anyone may replace a socket here
    with socket_mod.socket(socket_mod.AF_UNIX) as planted:
        planted.bind(str(shared / "tmux.sock"))
    try:
        proc = agents_py(project(tmp_path / "p", str(shared / "tmux.sock")), "up")
        assert proc.returncode != 0
        assert "its folder %s (mode 0777) is writable by others without the sticky bit" % shared in proc.stderr
        assert subprocess.run(["tmux", "-S", str(shared / "tmux.sock"), "has-session"], capture_output=True,
                              check=False, stdin=subprocess.DEVNULL).returncode != 0, "no server was started there"
    finally:
        end_server_at(shared / "tmux.sock")


def test_a_blank_tmux_socket_is_the_configs_server_never_the_default_one(tmp_path):
    name = "s2blank%d" % os.getpid()
    folder = project(tmp_path / "p", name, name="blank")
    try:
        # A same-named session on the default server (a private one: TMUX_TMPDIR), which a
        # blank value must never reach.
        named("default", "new-session", "-d", "-s", "t-blank-helper", "sleep 100000")
        assert session_names(lambda *a: named("default", *a)) == {"t-blank-helper"}

        assert agents_py(folder, "up").returncode == 0
        assert session_names(lambda *a: named(name, *a)) == {"t-blank-helper"}

        proc, recap = playbook("status", project_dir=str(folder), tmux_socket="")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert re.search(r"helper\s+service.*RUNNING", proc.stdout), proc.stdout

        proc = agents_py(folder, "--tmux-socket", "", "status")
        assert proc.returncode == 0 and re.search(r"helper\s+service.*RUNNING", proc.stdout), proc.stdout

        proc, recap = playbook("teardown", project_dir=str(folder), tmux_socket="", fleet_file="")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert recap["changed"] == 1
        assert session_names(lambda *a: named(name, *a)) == set(), "the project's agents are stopped"
        assert session_names(lambda *a: named("default", *a)) == {"t-blank-helper"}, \
            "the default server's same-named session is left alone"

        proc = agents_py(folder, "--tmux-socket", "", "status")
        assert re.search(r"helper\s+service.*stopped", proc.stdout), proc.stdout
        proc = agents_py(folder, "--tmux-socket", "default", "status")  # the explicit choice of the default server
        assert re.search(r"helper\s+service.*RUNNING", proc.stdout), proc.stdout + proc.stderr
    finally:
        named(name, "kill-server")
        named("default", "kill-session", "-t", "=t-blank-helper")


def test_run_with_a_blank_fleet_file_and_socket_runs_the_one_project(tmp_path):
    name = "s2run%d" % os.getpid()
    folder = project(tmp_path / "p", name, name="one")
    try:
        proc, recap = playbook("run", project_dir=str(folder), fleet_file="", tmux_socket="", agents_file="")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert recap["changed"] == 1 and session_names(lambda *a: named(name, *a)) == {"t-one-helper"}
        assert session_names(lambda *a: named("default", *a)) == set()
    finally:
        named(name, "kill-server")


def test_a_blank_project_dir_is_an_error_not_the_collections_folder():
    proc, recap = playbook("status", project_dir="")
    assert proc.returncode != 0
    # status.yml asks for what it needs before any module runs (it also takes a fleet_file now).
    assert "give project_dir (one project) or fleet_file" in proc.stdout + proc.stderr
