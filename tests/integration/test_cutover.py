# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cutover playbook for real against a hand-run live system on a private tmux server:
the re-pointed launcher (no arguments, its interpreter, a symlinked launcher), and the
--check no-touch proof while the live system heals by itself or something touches it."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys

import pytest
from helpers import wait_for
from test_playbooks import PLAYBOOK, REPO, playbook

from ansible_collections.agentloops.orchestrator.plugins.module_utils import procs

LIVE = """\
[project]
name = "cc-ci"
session_prefix = "cc-ci-"
tmux_socket = "{socket}"
log_dir = "logs"

[[phases]]
name = "build"
plan = "plan-build.md"

[[phases]]
name = "ship"
plan = "plan-ship.md"

[agents.worker]
kind = "persistent"
backend = "demo"
model = "demo-1"
watch = "heal"

[agents.watchdog]
kind = "service"
builtin = "watchdog"
"""

# A Python launcher of the live system, without a .py suffix, on this venv's interpreter (a
# bare python3 may lack libtmux): run without arguments it runs `up`, as a unit's ExecStart does.
LAUNCHER = """#!{python}
import os
import sys

ARGS = [{engine!r}, "--config", {config!r}] + (sys.argv[1:] or ["up"])
os.execv(sys.executable, [sys.executable] + ARGS)
"""


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture
def world(tmp_path, tmux, engine_repo):
    """A live cc-ci system started by hand (its agents.py a symlink to the engine, phase ship,
    a worker and its watchdog in tmux) and the staged project scaffolded from its agents.toml."""
    live = tmp_path / "srv" / "live"
    live.mkdir(parents=True)
    (live / "agents.toml").write_text(LIVE.format(socket=tmux.socket))
    (live / "agents.py").symlink_to(os.path.join(engine_repo, "agents.py"))
    (tmp_path / "srv" / "bin").mkdir()
    real = tmp_path / "srv" / "bin" / "launch-real"
    real.write_text(LAUNCHER.format(python=sys.executable, engine=str(live / "agents.py"),
                                    config=str(live / "agents.toml")))
    real.chmod(0o755)
    (live / "launch").symlink_to("../bin/launch-real")
    for args in (["phase", "set", "ship"], ["up"]):
        proc = subprocess.run([str(live / "launch")] + args, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert wait_for(lambda: len(procs.watchdogs_of(str(live / "agents.toml"))) == 1, timeout=20)
    project = tmp_path / "loops" / "cc-ci"
    proc, _recap = playbook("scaffold", project_dir=str(project), engine_repo=engine_repo, engine_ref="v0.1.0",
                            agents_config=str(live / "agents.toml"), project_name="cc-ci", session_prefix="cc-ci-")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    common = {"project_dir": str(project), "live_config": str(live / "agents.toml"),
              "live_launcher": str(live / "launch"), "evidence_dir": str(tmp_path / "evidence")}
    yield live, project, common
    for config in (live / "agents.toml", project / "agents.toml"):  # a foreground watchdog would outlive tmux
        for pid in procs.watchdogs_of(str(config)):
            os.kill(pid, 9)


def test_the_re_pointed_symlinked_launcher_starts_the_project_without_arguments(world, tmp_path):
    live, project, common = world
    real = tmp_path / "srv" / "bin" / "launch-real"
    real_sum = sha256(real)
    proc, recap = playbook("cutover", cutover_confirm="cc-ci", **common)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr
    # the link is replaced by the re-pointed launcher; its target is left as it was
    assert not os.path.islink(live / "launch") and sha256(real) == real_sum
    assert os.readlink(live / "launch.preproject") == "../bin/launch-real"
    text = (live / "launch").read_text()
    assert text.splitlines()[0] == "#!" + sys.executable, "the live launcher's interpreter is kept"
    assert str(project / "engine" / "agents.py") in text
    # §6 ran it, without arguments: it ran `up` and started the managed project
    assert re.search(r"§6 Start the managed project with the re-pointed launcher.*?changed: \[localhost\]",
                     proc.stdout, re.S)
    assert "starting cc-ci-worker" in proc.stdout
    assert len(procs.watchdogs_of(str(project / "agents.toml"))) == 1
    assert procs.watchdogs_of(str(live / "agents.toml")) == []
    again = subprocess.run([str(live / "launch")], capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    assert again.returncode == 0, again.stdout + again.stderr  # `up`, not the usage (exit 2)
    assert "usage" not in again.stdout + again.stderr
    status = subprocess.run([str(live / "launch"), "status"], capture_output=True, text=True, check=True).stdout
    assert re.search(r"worker .*RUNNING", status), status

    proc, recap = playbook("cutover", cutover_confirm="cc-ci", **common)
    assert proc.returncode == 0 and recap["changed"] == 0, proc.stdout[-4000:]
    assert os.readlink(live / "launch.preproject") == "../bin/launch-real", "the rollback copy is made once"

    proc, recap = playbook("rollback", cutover_confirm="cc-ci", **common)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr
    assert os.readlink(live / "launch") == "../bin/launch-real" and sha256(real) == real_sum
    assert wait_for(lambda: len(procs.watchdogs_of(str(live / "agents.toml"))) == 1, timeout=20)
    assert procs.watchdogs_of(str(project / "agents.toml")) == []


def check_run_while(common, act):
    """The cutover with --check; ``act()`` runs once the evidence before §1 is taken."""
    args = [PLAYBOOK, "playbooks/cutover.yml", "--check", "--diff"]
    for key, value in common.items():
        args += ["-e", "%s=%s" % (key, value)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOME=os.path.join(REPO, ".build", "ansible-home"),
               PYTHONUNBUFFERED="1")
    env["ANSIBLE_LOCAL_TEMP"] = env["ANSIBLE_REMOTE_TEMP"] = os.path.join(env["ANSIBLE_HOME"], "tmp")
    with subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                          stdin=subprocess.DEVNULL) as play:
        out = []
        acted = False
        for line in play.stdout:
            out.append(line)
            if not acted and "§1 Show the staged and the live tables" in line:
                act()
                acted = True
        play.wait(timeout=300)
    assert acted, "".join(out)
    return play.returncode, "".join(out)


def test_check_tells_a_heal_of_the_live_system_from_a_touch(world, tmux):
    live, _project, common = world
    old = tmux.identities()["cc-ci-worker"]

    def crash():  # the live watchdog heals it, with its event, while the check runs
        tmux.run("kill-session", "-t", "=cc-ci-worker")
        assert wait_for(lambda: tmux.identities().get("cc-ci-worker", old) != old, timeout=20)

    rc, out = check_run_while(common, crash)
    assert rc == 0, out[-6000:]
    flat = " ".join(out.split())
    assert "no-touch: " in flat and "changed during the check by the live system itself" in flat
    report = last_report(common)
    assert report["touched"] == [] and report["untouched"] is True, report["touched"]
    assert any(line.startswith("session cc-ci-worker ") and " worker heal: session gone (restarted)" in line
               for line in report["changed_during"]), report["changed_during"]

    marker = live / "state" / "worker.stopped"
    rc, out = check_run_while(common, lambda: marker.write_text("stopped by an operator\n"))
    assert rc != 0, out[-6000:]
    assert "--check touched the live system" in " ".join(out.split())
    assert "file %s: new" % marker in last_report(common)["touched"]


def last_report(common):
    folder = common["evidence_dir"]
    name = max((n for n in os.listdir(folder) if n.endswith("-check.json")),
               key=lambda n: os.stat(os.path.join(folder, n)).st_mtime_ns)
    with open(os.path.join(folder, name), encoding="utf-8") as handle:
        return json.load(handle)
