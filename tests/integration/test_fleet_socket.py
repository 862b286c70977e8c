# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet entry that names its project's tmux server, through the playbooks: agents run on
a private named server (``-L``, under the test session's throwaway TMUX_TMPDIR) that the
project's own agents.toml does not name, and ``fleet.yml`` counts them only once the entry
says where they are."""

from __future__ import annotations

import os
import re

from test_playbooks import playbook
from test_tmux_socket import named, project, session_names


def flat(text):
    """The output with its whitespace runs made one space: the yaml callback folds a long list item."""
    return " ".join(text.split())


TWO_AGENTS = """
[agents.second]
kind = "service"
command = "exec sleep 100000"
"""


def test_fleet_status_reads_the_entrys_named_server(tmp_path):
    name = "s2fleet%d" % os.getpid()
    folder = project(tmp_path / "p", "", name="fsock")  # agents.toml: the default server (a private one)
    with open(folder / "agents.toml", "a") as handle:
        handle.write(TWO_AGENTS)
    fleet_file = str(tmp_path / "fleet.toml")
    try:
        proc, recap = playbook("run", project_dir=str(folder), tmux_socket=name)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert session_names(lambda *a: named(name, *a)) == {"t-fsock-helper", "t-fsock-second"}
        assert session_names(lambda *a: named("default", *a)) == set()

        proc, recap = playbook("fleet", fleet_file=fleet_file, fleet_action="add", project_name="fsock",
                               project_dir=str(folder), engine="agent-orchestrator@v0.1.0", tmux_socket="")
        assert proc.returncode == 0 and recap["changed"] == 1, proc.stdout + proc.stderr
        assert "tmux_socket" not in open(fleet_file).read(), "a blank tmux_socket is not given"
        proc, recap = playbook("fleet", fleet_file=fleet_file)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert re.search(r"fsock \[enabled\] \S+ %s running=0 stopped=2" % re.escape(str(folder)), flat(proc.stdout)), \
            "without the entry's socket, status reads the agents.toml server: " + proc.stdout

        proc, recap = playbook("fleet", "--check", "--diff", fleet_file=fleet_file, fleet_action="add",
                               project_name="fsock", tmux_socket=name)
        assert proc.returncode == 0 and recap["changed"] == 1, proc.stdout + proc.stderr
        assert '+tmux_socket = "%s"' % name in proc.stdout
        assert "tmux_socket" not in open(fleet_file).read(), "--check writes nothing"

        proc, recap = playbook("fleet", fleet_file=fleet_file, fleet_action="add", project_name="fsock",
                               tmux_socket=name)
        assert proc.returncode == 0 and recap["changed"] == 1, proc.stdout + proc.stderr
        written = open(fleet_file).read()
        assert 'tmux_socket = "%s"' % name in written
        proc, recap = playbook("fleet", fleet_file=fleet_file, fleet_action="add", project_name="fsock",
                               tmux_socket=name)
        assert recap["changed"] == 0 and open(fleet_file).read() == written, "adding it again changes nothing"

        proc, recap = playbook("fleet", fleet_file=fleet_file)
        assert proc.returncode == 0 and recap["changed"] == 0, proc.stdout + proc.stderr
        assert re.search(r"fsock \[enabled\] \S+ %s tmux_socket=%s running=2 stopped=0"
                         % (re.escape(str(folder)), name), flat(proc.stdout)), proc.stdout
        assert session_names(lambda *a: named(name, *a)) == {"t-fsock-helper", "t-fsock-second"}, "only read"

        # project_dir with the fleet file: the entry's server, with no -e tmux_socket (its
        # agents.toml names another server, where a stop would find nothing and say done).
        proc, recap = playbook("status", project_dir=str(folder), fleet_file=fleet_file)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert re.search(r"fsock\s+2\s+0\s+0\s+0\s+0\s+0", proc.stdout), proc.stdout
        proc, recap = playbook("teardown", project_dir=str(folder), fleet_file=fleet_file)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert session_names(lambda *a: named(name, *a)) == set(), proc.stdout
    finally:
        named(name, "kill-server")
