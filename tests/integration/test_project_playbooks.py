# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Projects and the fleet through the playbooks: the seed's D1 flow, update, fleet-wide runs."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
import sys

from test_playbooks import PLAYBOOK, REPO, playbook

DEMO_AGENTS = """\
[project]
name = "scratch-e2e"
session_prefix = "poe2e-scratch-"

[agents.worker]
kind = "persistent"
backend = "demo"
model = "demo-1"
watch = "heal"
"""

LIVE_AGENTS = """\
[project]
session_prefix = "cc-ci-"
tmux_socket = "{socket}"

[agents.orchestrator]
kind = "persistent"
backend = "demo"

[agents.builder]
kind = "persistent"
backend = "demo"
"""


def checksums(folder):
    out = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if not stat.S_ISREG(os.lstat(path).st_mode):  # a keeper's FIFO would block a read, its symlink is /bin/sh
                continue
            with open(path, "rb") as handle:
                out[os.path.relpath(path, folder)] = hashlib.sha256(handle.read()).hexdigest()
    return out


def flat(text):
    """Text with its whitespace runs made one space: Ansible folds long messages."""
    return " ".join(text.split())


def engine_status(project_dir):
    proc = subprocess.run([sys.executable, "engine/agents.py", "status"], cwd=project_dir, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_seed_d1_scaffold_run_teardown_while_live_project_is_untouched(tmp_path, engine_repo, tmux):
    # a "live" project on the same tmux server, started by hand
    live = tmp_path / "live"
    live.mkdir()
    (live / "agents.toml").write_text(LIVE_AGENTS.format(socket=tmux.socket))
    tmux.new("cc-ci-orchestrator")
    tmux.new("cc-ci-builder")
    live_sessions, live_files = tmux.identities(), checksums(live)

    agents_config = tmp_path / "demo-agents.toml"
    agents_config.write_text(DEMO_AGENTS)
    fleet_file = str(tmp_path / "fleet.toml")
    project_dir = str(tmp_path / "poe2e-scratch")
    common = {"project_dir": project_dir, "tmux_socket": tmux.socket}

    proc, recap = playbook("scaffold", "--check", "--diff", engine_repo=engine_repo, engine_ref="v0.1.0",
                           agents_config=str(agents_config), fleet_file=fleet_file, **common)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '+session_prefix = "poe2e-scratch-"' in proc.stdout
    assert not os.path.exists(project_dir) and not os.path.exists(fleet_file)

    proc, recap = playbook("scaffold", engine_repo=engine_repo, engine_ref="v0.1.0", agents_config=str(agents_config),
                           fleet_file=fleet_file, **common)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap["changed"] == 2
    assert "engine agent-orchestrator@v0.1.0" in proc.stdout
    assert "tracked .gitignore .gitmodules agents.toml engine" in proc.stdout
    proc, recap = playbook("scaffold", engine_repo=engine_repo, engine_ref="v0.1.0", agents_config=str(agents_config),
                           fleet_file=fleet_file, **common)
    assert recap["changed"] == 0, "a second scaffold changes nothing"

    status = engine_status(project_dir)
    assert re.search(r"worker\s+persistent\s+demo\s+demo-1\s+heal\s+stopped", status)

    proc, recap = playbook("run", **common)
    assert recap["changed"] == 1
    status = engine_status(project_dir)
    assert re.search(r"worker\s+persistent\s+demo\s+demo-1\s+heal\s+RUNNING \[sleep\]", status), status
    assert "poe2e-scratch-worker" in tmux.sessions()

    proc, recap = playbook("teardown", "--check", remove_project="true", fleet_file=fleet_file, **common)
    assert proc.returncode == 0, proc.stdout
    assert os.path.isdir(project_dir) and "poe2e-scratch-worker" in tmux.sessions()

    proc, recap = playbook("teardown", remove_project="true", fleet_file=fleet_file, **common)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "poe2e-scratch-worker" not in tmux.sessions()
    assert not os.path.exists(project_dir)
    assert "[projects." not in open(fleet_file).read()

    # the live project never noticed
    assert tmux.identities() == live_sessions
    assert checksums(live) == live_files


def test_update_moves_the_pin_and_the_fleet_entry(tmp_path, engine_repo, tmux, git_run):
    fleet_file = str(tmp_path / "fleet.toml")
    project_dir = str(tmp_path / "p")
    proc, _recap = playbook("scaffold", project_dir=project_dir, engine_repo=engine_repo, engine_ref="v0.1.0",
                            tmux_socket=tmux.socket, fleet_file=fleet_file, fleet_enabled="false")
    assert proc.returncode == 0, proc.stdout
    old = git_run("rev-parse", "v0.1.0^{commit}", cwd=engine_repo)
    git_run("commit", "-q", "--allow-empty", "-m", "next", cwd=engine_repo)
    git_run("tag", "v0.2.0", cwd=engine_repo)
    new = git_run("rev-parse", "HEAD", cwd=engine_repo)
    try:
        proc, recap = playbook("update", "--check", project_dir=project_dir, engine_ref="v0.2.0", fleet_file=fleet_file)
        assert proc.returncode == 0, proc.stdout
        assert "engine v0.1.0 %s -> v0.2.0 %s" % (old[:12], new[:12]) in proc.stdout
        assert git_run("rev-parse", "HEAD:engine", cwd=project_dir) == old
        proc, recap = playbook("update", project_dir=project_dir, engine_ref="v0.2.0", fleet_file=fleet_file)
        assert recap["changed"] == 2
        assert git_run("rev-parse", "HEAD:engine", cwd=project_dir) == new
        assert 'engine = "agent-orchestrator@v0.2.0"' in open(fleet_file).read()
        proc, recap = playbook("update", project_dir=project_dir, engine_ref="v0.2.0", fleet_file=fleet_file)
        assert recap["changed"] == 0 and "(already pinned)" in proc.stdout
    finally:
        git_run("tag", "-d", "v0.2.0", cwd=engine_repo)
        git_run("reset", "-q", "--hard", "v0.1.0", cwd=engine_repo)


def test_fleet_wide_run_and_teardown_never_touch_disabled_projects(tmp_path, engine_repo, tmux):
    fleet_file = str(tmp_path / "fleet.toml")
    for name, enabled in (("on", "true"), ("off", "false")):
        agents = tmp_path / ("%s.toml" % name)
        agents.write_text('[agents.worker]\nkind = "persistent"\nbackend = "demo"\n')
        proc, _recap = playbook("scaffold", project_dir=str(tmp_path / name), engine_repo=engine_repo,
                                engine_ref="v0.1.0", agents_config=str(agents), tmux_socket=tmux.socket,
                                fleet_file=fleet_file, fleet_enabled=enabled)
        assert proc.returncode == 0, proc.stdout
    proc, recap = playbook("run", fleet_file=fleet_file)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert set(tmux.sessions()) == {"on-worker"}
    tmux.new("off-worker")  # started by hand: fleet-wide teardown must leave it alone too
    proc, recap = playbook("teardown", fleet_file=fleet_file)
    assert proc.returncode == 0
    assert set(tmux.sessions()) == {"off-worker"}
    proc, _recap = playbook("run")
    assert proc.returncode != 0 and "give project_dir (one project) or fleet_file" in proc.stdout


def test_run_writes_a_verified_systemd_unit_and_says_when_systemd_is_not_running(tmp_path, engine_repo, tmux):
    project_dir = str(tmp_path / "svc")
    agents = tmp_path / "a.toml"
    agents.write_text('[agents.worker]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal"\n'
                      '[agents.watchdog]\nkind = "service"\nbuiltin = "watchdog"\n')
    proc, _recap = playbook("scaffold", project_dir=project_dir, engine_repo=engine_repo, engine_ref="v0.1.0",
                            agents_config=str(agents), tmux_socket=tmux.socket)
    assert proc.returncode == 0, proc.stdout
    units = tmp_path / "units"
    units.mkdir()
    proc, recap = playbook("run", project_dir=project_dir, systemd_unit="true", systemd_unit_dir=str(units))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (unit_file,) = list(units.glob("agentloops-svc-*-watchdog.service"))
    unit = unit_file.read_text()
    assert "KillMode=process" in unit
    assert "ExecStart=/usr/bin/python3 %s/engine/agents.py --config %s/agents.toml watchdog" % (
        project_dir, project_dir) in unit
    assert "Restart=always" in unit
    if os.path.exists("/usr/bin/systemd-analyze"):
        assert "TASK [agentloops.orchestrator.run : Verify the unit]" in proc.stdout
        assert "skipping: [localhost]" not in proc.stdout.split("Verify the unit")[1].split("TASK")[0]
    if not os.path.isdir("/run/systemd/system"):
        assert "systemd is not running on this host" in proc.stdout
    assert {"svc-worker", "svc-watchdog"} <= set(tmux.sessions())
    proc, recap = playbook("run", project_dir=project_dir, systemd_unit="true", systemd_unit_dir=str(units))
    assert recap["changed"] == 0
    # an overridden server reaches the unit too, so its watchdog watches the same sessions
    proc, recap = playbook("run", project_dir=project_dir, systemd_unit="true", systemd_unit_dir=str(units),
                           tmux_socket=tmux.socket)
    assert recap["changed"] == 1 and "--tmux-socket %s watchdog" % tmux.socket in unit_file.read_text()
    proc, recap = playbook("teardown", project_dir=project_dir, systemd_unit_dir=str(units), remove_project="true")
    assert proc.returncode == 0, proc.stdout
    assert not unit_file.exists() and not os.path.exists(project_dir)


def test_scaffold_update_and_teardown_without_a_fleet(tmp_path, engine_repo, tmux):
    project_dir = str(tmp_path / "solo")
    proc, recap = playbook("scaffold", project_dir=project_dir, engine_repo=engine_repo, engine_ref="v0.1.0",
                           tmux_socket=tmux.socket)
    assert proc.returncode == 0 and recap["changed"] == 1, proc.stdout
    proc, recap = playbook("update", project_dir=project_dir, engine_ref="v0.1.0")
    assert proc.returncode == 0 and recap["changed"] == 0, proc.stdout
    proc, recap = playbook("teardown", project_dir=project_dir, remove_project="true")
    assert proc.returncode == 0, proc.stdout
    assert not os.path.exists(project_dir)
    proc, recap = playbook("teardown", project_dir=project_dir, remove_project="true")
    assert proc.returncode == 0 and recap["changed"] == 0 and recap["failed"] == 0, proc.stdout
    assert flat("%s does not exist: nothing to stop or remove" % project_dir) in flat(proc.stdout)
    assert "nothing to do" in proc.stdout and "errors=" not in proc.stdout, "nothing left is no error: " + proc.stdout


def test_teardown_keeps_work_git_does_not_hold_and_stops_nothing_then_forced_removes(tmp_path, engine_repo, tmux,
                                                                                     git_run):
    agents_config = tmp_path / "demo-agents.toml"
    agents_config.write_text(DEMO_AGENTS + '\n[agents.watchdog]\nkind = "service"\nbuiltin = "watchdog"\n')
    fleet_file = str(tmp_path / "fleet.toml")
    project_dir = tmp_path / "poe2e-scratch"
    common = {"project_dir": str(project_dir), "tmux_socket": tmux.socket}
    proc, _recap = playbook("scaffold", engine_repo=engine_repo, engine_ref="v0.1.0", agents_config=str(agents_config),
                            fleet_file=fleet_file, **common)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc, _recap = playbook("run", **common)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    running = tmux.identities()
    assert {"poe2e-scratch-worker", "poe2e-scratch-watchdog"} <= set(running)
    # an operator's work: an untracked note, a staged plan, an edited agents.toml
    (project_dir / "NOTES.md").write_text("my notes\n")
    (project_dir / "plan.md").write_text("my plan\n")
    git_run("add", "plan.md", cwd=project_dir)
    with open(project_dir / "agents.toml", "a") as handle:
        handle.write("# tuned by hand\n")

    def operator_files():  # not what the live agents and git itself write meanwhile
        return {path: digest for path, digest in checksums(project_dir).items()
                if path.split(os.sep, 1)[0] not in (".git", "state", ".ao-state") and "__pycache__" not in path}

    work = operator_files()
    assert {"NOTES.md", "plan.md", "agents.toml"} <= set(work)

    for extra in (("--check",), ()):
        proc, recap = playbook("teardown", *extra, remove_project="true", fleet_file=fleet_file, **common)
        assert proc.returncode != 0 and recap["failed"] == 1, proc.stdout
        assert flat("refusing to remove %s: git does not hold this work, it would be lost:  M agents.toml; A  plan.md; "
                    "?? NOTES.md; commit it or move it away first, or force the removal (force_remove=true)"
                    % project_dir) in flat(proc.stdout), proc.stdout
        assert "Stop the project's agents" not in proc.stdout  # refused before anything stops
        assert tmux.identities() == running
        assert operator_files() == work
        assert git_run("diff", "--cached", "--name-only", cwd=project_dir) == "plan.md"
        assert "[projects.poe2e-scratch]" in open(fleet_file).read()

    proc, recap = playbook("teardown", remove_project="true", force_remove="true", fleet_file=fleet_file, **common)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert flat("discarded with %s:  M agents.toml; A  plan.md; ?? NOTES.md" % project_dir) in flat(proc.stdout)
    assert not project_dir.exists()
    assert not any(name.startswith("poe2e-scratch-") for name in tmux.sessions())
    assert "[projects." not in open(fleet_file).read()


def test_two_concurrent_run_playbooks_end_with_one_watchdog(tmp_path, engine_repo, tmux):
    from helpers import wait_for

    from ansible_collections.agentloops.orchestrator.plugins.module_utils import config, procs

    project_dir = str(tmp_path / "twice")
    agents = tmp_path / "a.toml"
    agents.write_text('[agents.worker]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal"\n'
                      '[agents.watchdog]\nkind = "service"\nbuiltin = "watchdog"\n')
    proc, _recap = playbook("scaffold", project_dir=project_dir, engine_repo=engine_repo, engine_ref="v0.1.0",
                            agents_config=str(agents), tmux_socket=tmux.socket)
    assert proc.returncode == 0, proc.stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_HOME"] = os.path.join(REPO, ".build", "ansible-home")
    runs = [subprocess.Popen([PLAYBOOK, "playbooks/run.yml", "-e", "project_dir=" + project_dir], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _run in range(2)]
    outputs = [r.communicate(timeout=300)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    project = config.load(os.path.join(project_dir, "agents.toml"))
    assert wait_for(lambda: len(procs.watchdog_pids(project)) == 1)
    assert sorted(n for n in tmux.sessions() if n.startswith("twice-")) == ["twice-watchdog", "twice-worker"]
    playbook("teardown", project_dir=project_dir)
