# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks as an operator runs them: from the repository root, `-e` only."""

from __future__ import annotations

import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def playbook(name, *extra, **evars):
    args = [PLAYBOOK, "playbooks/%s.yml" % name, *extra]
    for key, value in evars.items():
        args += ["-e", "%s=%s" % (key, value)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_HOME"] = os.path.join(REPO, ".build", "ansible-home")  # keep Ansible's files in the build tree
    env["ANSIBLE_LOCAL_TEMP"] = env["ANSIBLE_REMOTE_TEMP"] = os.path.join(env["ANSIBLE_HOME"], "tmp")
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                          timeout=300, check=False)
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    return proc, (dict(zip(("ok", "changed", "unreachable", "failed"), map(int, recap.groups()))) if recap else None)


def test_run_check_run_again_status_teardown(demo_project, tmux):
    common = {"project_dir": str(demo_project), "tmux_socket": tmux.socket}
    run_args = dict(common, allow_partial="true")  # a module cannot start the builtin watchdog without engine/

    proc, recap = playbook("run", "--check", "--diff", **run_args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap["changed"] == 1
    assert "+t-scratch-worker" in proc.stdout
    assert tmux.sessions() == {}, "--check must start nothing"

    proc, recap = playbook("run", **run_args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap["changed"] == 1 and recap["failed"] == 0
    assert set(tmux.sessions()) == {"t-scratch-worker", "t-scratch-helper"}
    ids = tmux.identities()

    proc, recap = playbook("run", **run_args)
    assert proc.returncode == 0
    assert recap["changed"] == 0, "a second run changes nothing"
    assert tmux.identities() == ids

    proc, recap = playbook("status", **common)
    assert proc.returncode == 0
    assert recap["changed"] == 0
    assert re.search(r"worker\s+persistent\s+demo\s+demo-1\s+heal\s+RUNNING \[sleep\]", proc.stdout)

    proc, recap = playbook("teardown", "--check", **common)
    assert recap["changed"] == 1 and tmux.identities() == ids

    proc, recap = playbook("teardown", **common)
    assert proc.returncode == 0 and recap["changed"] == 1
    assert tmux.sessions() == {}
    assert re.search(r"worker\s+persistent\s+demo\s+demo-1\s+heal\s+stopped", proc.stdout)

    proc, recap = playbook("teardown", **common)
    assert recap["changed"] == 0


def test_bad_config_fails_the_play_and_starts_nothing(demo_project, tmux):
    (demo_project / "agents.toml").write_text('[agents."a b"]\nkind = "service"\ncommand = "sleep 9"\n')
    proc, recap = playbook("run", project_dir=str(demo_project), tmux_socket=tmux.socket)
    assert proc.returncode != 0
    assert recap["failed"] == 1
    assert "agents.toml:1:1: agents.\"a b\": agent names may hold only" in proc.stdout
    assert tmux.sessions() == {}


def test_role_argument_spec_rejects_missing_project_dir():
    proc, recap = playbook("run")
    assert proc.returncode != 0
    assert "project_dir" in proc.stdout + proc.stderr


def test_fleet_playbook_add_status_disable_validate(tmp_path, demo_project, tmux):
    fleet_file = str(tmp_path / "fleet.toml")
    proc, recap = playbook("fleet", fleet_file=fleet_file, fleet_action="add", project_name="scratch",
                           project_dir=str(demo_project), engine="agent-orchestrator@v0.1.0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap["changed"] == 1
    proc, recap = playbook("fleet", fleet_file=fleet_file, fleet_action="add", project_name="cc-ci",
                           project_dir="/home/loops/poe2e/cc-ci", engine="agent-orchestrator@v0.1.0",
                           fleet_enabled="false")
    assert recap["changed"] == 1
    proc, recap = playbook("fleet", fleet_file=fleet_file)
    assert recap["changed"] == 0
    assert "fleet: OK — 2 project(s), schema v1" in proc.stdout
    assert "cc-ci [disabled] agent-orchestrator@v0.1.0 /home/loops/poe2e/cc-ci\n" in proc.stdout
    # One list item per line; the yaml callback of this repository's ansible.cfg may fold a long one.
    assert "scratch [enabled] agent-orchestrator@v0.1.0 %s running=0 stopped=4" % demo_project in " ".join(proc.stdout.split())
    assert "total=2 enabled=1 disabled=1" in proc.stdout
    proc, recap = playbook("fleet", "--check", fleet_file=fleet_file, fleet_action="disable", project_name="scratch")
    assert recap["changed"] == 1
    assert "scratch [enabled]" in playbook("fleet", fleet_file=fleet_file)[0].stdout
    proc, recap = playbook("fleet", fleet_file=fleet_file, fleet_action="disable", project_name="scratch")
    assert recap["changed"] == 1
    proc, recap = playbook("fleet", fleet_file=fleet_file, fleet_action="validate")
    assert proc.returncode == 0 and "fleet: OK — 2 project(s), schema v1" in proc.stdout
    assert "total=2 enabled=0 disabled=2" not in proc.stdout  # validate prints only the verdict
    with open(fleet_file, "a") as handle:
        handle.write('[projects.bad]\ndir = "relative"\nengine = "x@1"\n')
    proc, recap = playbook("fleet", fleet_file=fleet_file, fleet_action="validate")
    assert proc.returncode != 0 and recap["failed"] == 1
    assert "fleet.toml:15:1: projects.bad.dir: must be an absolute path" in proc.stdout
    proc, recap = playbook("fleet", fleet_file=fleet_file, fleet_action="enable")
    assert proc.returncode != 0 and "needs fleet_project" in proc.stdout


def test_phase_playbook(tmp_path):
    (tmp_path / "agents.toml").write_text("".join('[[phases]]\nname = "p%d"\nplan = "p%d.md"\n' % (i, i)
                                                  for i in range(3)))
    proc, recap = playbook("phase", "--check", "--diff", project_dir=str(tmp_path), phase="p2")
    assert proc.returncode == 0 and recap["changed"] == 1
    assert "+phase: p2 [3/3] plan=p2.md (in progress)" in proc.stdout
    assert not (tmp_path / "state").exists()
    proc, recap = playbook("phase", project_dir=str(tmp_path), phase="2")
    assert recap["changed"] == 1 and "phase: p2 [3/3] plan=p2.md (in progress)" in proc.stdout
    proc, recap = playbook("phase", project_dir=str(tmp_path), phase="p2")
    assert recap["changed"] == 0
    proc, recap = playbook("phase", project_dir=str(tmp_path), phase="p9")
    assert proc.returncode != 0 and "unknown phase 'p9'" in proc.stdout
    proc, recap = playbook("phase", project_dir=str(tmp_path))
    assert recap["changed"] == 0 and "phase: p2 [3/3]" in proc.stdout
    assert (tmp_path / "state" / "phase-idx").read_text() == "2\n"
