# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Galaxy round trip: build the collection tarball, install it into a temp collections path,
and run its playbooks by FQCN from there, with nothing of this checkout on Ansible's paths."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile

from test_playbooks import REPO
from test_project_playbooks import DEMO_AGENTS

BIN = os.path.dirname(sys.executable)


def run(args, cwd, env):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=300, check=False)


def test_build_install_and_run_by_fqcn(tmp_path, engine_repo, tmux):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOME=str(tmp_path / "ansible-home"),
               ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"))
    (tmp_path / "ansible.cfg").write_text(
        "[defaults]\ninventory = %s/hosts.yml\ncollections_path = %s/collections\n" % (tmp_path, tmp_path))
    (tmp_path / "hosts.yml").write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: %s\n" % sys.executable)

    built = run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", REPO, "--output-path", str(tmp_path)],
                str(tmp_path), env)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = tmp_path / "agentloops-orchestrator-0.1.0.tar.gz"
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    for unwanted in (".venv", ".build", ".git", "tests/output", ".pytest_cache", ".hypothesis"):
        assert not [n for n in names if n == unwanted or n.startswith(unwanted + "/")], unwanted
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    for wanted in ("MANIFEST.json", "plugins/modules/agent_session.py", "roles/cutover/tasks/main.yml",
                   "playbooks/scaffold.yml", "docs/cutover-runbook.md", "meta/runtime.yml"):
        assert wanted in names

    installed = run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", str(tarball), "-p",
                     str(tmp_path / "collections")], str(tmp_path), env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    listed = run([os.path.join(BIN, "ansible-galaxy"), "collection", "list", "agentloops.orchestrator"],
                 str(tmp_path), env)
    assert str(tmp_path / "collections") in listed.stdout and REPO not in listed.stdout

    project = tmp_path / "scratch"
    agents_config = tmp_path / "demo-agents.toml"
    agents_config.write_text(DEMO_AGENTS)
    common = ["-e", "project_dir=%s" % project, "-e", "tmux_socket=%s" % tmux.socket]
    playbook = os.path.join(BIN, "ansible-playbook")
    steps = [
        ["agentloops.orchestrator.scaffold", "-e", "engine_repo=%s" % engine_repo, "-e", "engine_ref=v0.1.0",
         "-e", "agents_config=%s" % agents_config],
        ["agentloops.orchestrator.run"],
        ["agentloops.orchestrator.status"],
        ["agentloops.orchestrator.teardown"],
    ]
    outputs = []
    for step in steps:
        proc = run([playbook, *step, *common], str(tmp_path), env)
        assert proc.returncode == 0, "%s\n%s%s" % (step[0], proc.stdout, proc.stderr)
        outputs.append(proc.stdout)
        if step[0].endswith(".run"):
            assert "scratch-worker" in " ".join(tmux.sessions())
    assert "RUNNING" in outputs[2] and tmux.sessions() == {}
    assert (project / "engine" / "agents.py").is_file()
