# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Galaxy round trip: build the collection tarball, install it into a temp collections path,
and run its playbooks by FQCN from there, with nothing of this checkout on Ansible's paths:
the README's own commands (its galaxy-path block), then the same with an explicit engine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile

from test_playbooks import REPO
from test_project_playbooks import DEMO_AGENTS

BIN = os.path.dirname(sys.executable)


def run(args, cwd, env):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=300, check=False)


def readme_galaxy_path():
    """The commands of the README's galaxy-path block, as written."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    block = re.search(r"<!-- galaxy-path:[^>]*-->\n```sh\n(.*?)\n```", text, re.S)
    assert block, "README.md has no galaxy-path block"
    return block.group(1).splitlines()


def isolated(tmp_path):
    """An environment with nothing of this checkout on Ansible's paths: its own ansible.cfg,
    collections path, inventory and HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    home = tmp_path / "home"
    home.mkdir()
    env.update(ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOME=str(tmp_path / "ansible-home"), HOME=str(home),
               ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), PATH=BIN + os.pathsep + env.get("PATH", ""))
    (tmp_path / "ansible.cfg").write_text(
        "[defaults]\ninventory = %s/hosts.yml\ncollections_path = %s/collections\n" % (tmp_path, tmp_path))
    (tmp_path / "hosts.yml").write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: %s\n" % sys.executable)
    return env, home


def build_and_install(tmp_path, env, build, install):
    """The README's build and install lines: the build of this checkout into tmp_path (the one
    parameter: where the sources are), the install as written, into the configured path."""
    assert build == "ansible-galaxy collection build" and install.startswith("ansible-galaxy collection install ")
    built = run(build.split() + [REPO, "--output-path", str(tmp_path)], str(tmp_path), env)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = tmp_path / install.split()[-1]
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    for unwanted in (".venv", ".build", ".git", "tests/output", ".pytest_cache", ".hypothesis"):
        assert not [n for n in names if n == unwanted or n.startswith(unwanted + "/")], unwanted
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    for wanted in ("MANIFEST.json", "plugins/modules/agent_session.py", "roles/cutover/tasks/main.yml",
                   "playbooks/scaffold.yml", "docs/cutover-runbook.md", "meta/runtime.yml", "agents.py",
                   "kickoffs/builder.md", "profiles/claude.toml", "agents.example.toml", "LICENSE"):
        assert wanted in names
    installed = run(["bash", "-c", install], str(tmp_path), env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    listed = run(["ansible-galaxy", "collection", "list", "agentloops.orchestrator"], str(tmp_path), env)
    assert str(tmp_path / "collections") in listed.stdout and REPO not in listed.stdout, listed.stdout


def rows(status_output):
    """AGENT -> STATE of the status table in a playbook's output (one string with its newlines
    escaped, as the default callback prints it, or a list of lines)."""
    lines = [line.strip().strip('",') for line in status_output.replace("\\n", "\n").splitlines()]
    head = next(i for i, line in enumerate(lines) if line.startswith("AGENT "))
    at = lines[head].index("STATE")
    out = {}
    for line in lines[head + 1:]:
        if not line or line.startswith(("PLAY", "TASK", "]", "}")):
            break
        out[line.split()[0]] = line[at:]
    return out


def test_readme_galaxy_path_from_the_tarball_alone(tmp_path, tmux, git_run):
    """The README's commands as written (its $HOME), on a private tmux server (-e tmux_socket
    added to each playbook): scaffold on the collection's own engine, every enabled agent of
    the default agents.toml starts (on the demo backend), status shows them, teardown stops them."""
    env, home = isolated(tmp_path)
    lines = readme_galaxy_path()
    build_and_install(tmp_path, env, lines[0], lines[1])
    project = home / "loops" / "first"
    outputs = {}
    for line in lines[2:]:
        assert "$HOME/loops/first" in line, line
        if line.startswith("ansible-playbook "):
            line += " -e tmux_socket=%s" % tmux.socket
        proc = run(["bash", "-c", line], str(tmp_path), env)
        assert proc.returncode == 0, "%s\n%s%s" % (line, proc.stdout, proc.stderr)
        step = line.split()[1].rsplit(".", 1)[-1] if line.startswith("ansible-playbook ") else line.split()[0]
        outputs[step] = proc.stdout
        if step == "run":
            enabled = {"first-" + a for a in ("orchestrator", "builder", "adversary", "cleanlogs", "watchdog")}
            assert set(tmux.sessions()) == enabled, (tmux.sessions(), proc.stdout)
    assert list(outputs) == ["scaffold", "sed", "run", "status", "teardown"]
    store = home / ".agentloops" / "agent-orchestrator"
    assert git_run("rev-parse", "HEAD:engine", cwd=str(project)) == git_run("rev-parse", "v0.1.0^{commit}", cwd=str(store))
    assert "agent-orchestrator@v0.1.0" in outputs["scaffold"]
    states = rows(outputs["status"])
    assert list(states) == ["orchestrator", "builder", "adversary", "assistant", "upgrader", "report", "cleanlogs",
                            "watchdog"], outputs["status"]
    for agent in ("orchestrator", "builder", "adversary", "cleanlogs", "watchdog"):
        assert states[agent].startswith("RUNNING"), (agent, outputs["status"])
    for agent in ("assistant", "upgrader", "report"):
        assert states[agent] == "stopped (disabled)", (agent, outputs["status"])
    assert tmux.sessions() == {}
    assert (project / "engine" / "agents.py").is_file() and (project / "engine" / "kickoffs" / "builder.md").is_file()


def test_build_install_and_run_by_fqcn_with_an_engine_repo(tmp_path, engine_repo, tmux):
    env, _home = isolated(tmp_path)
    lines = readme_galaxy_path()
    build_and_install(tmp_path, env, lines[0], lines[1])
    project = tmp_path / "scratch"
    agents_config = tmp_path / "demo-agents.toml"
    agents_config.write_text(DEMO_AGENTS)
    common = ["-e", "project_dir=%s" % project, "-e", "tmux_socket=%s" % tmux.socket]
    steps = [
        ["agentloops.orchestrator.scaffold", "-e", "engine_repo=%s" % engine_repo, "-e", "engine_ref=v0.1.0",
         "-e", "agents_config=%s" % agents_config],
        ["agentloops.orchestrator.run"],
        ["agentloops.orchestrator.status"],
        ["agentloops.orchestrator.teardown"],
    ]
    outputs = []
    for step in steps:
        proc = run(["ansible-playbook", *step, *common], str(tmp_path), env)
        assert proc.returncode == 0, "%s\n%s%s" % (step[0], proc.stdout, proc.stderr)
        outputs.append(proc.stdout)
        if step[0].endswith(".run"):
            assert "scratch-worker" in " ".join(tmux.sessions())
    assert "RUNNING" in outputs[2] and tmux.sessions() == {}
    assert (project / "engine" / "agents.py").is_file()
    assert not (tmp_path / "home" / ".agentloops" / "agent-orchestrator").exists()  # an engine_repo needs no store
