# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small helpers the tests share."""

from __future__ import annotations

import os
import sys
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def engine_cli(project, *args):
    """``agents.py ARGS`` of this checkout, run in the project's folder (as an operator runs it)."""
    import subprocess

    return subprocess.run([sys.executable, os.path.join(REPO, "agents.py"), *args], cwd=project, capture_output=True,
                          text=True, check=False, timeout=60)


def engine_events(project):
    """The watchdog's events of a project whose log_dir is the default ``.ao-state``."""
    import json

    path = project / ".ao-state" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(predicate, timeout=10.0, step=0.05):
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def phased_agents(name: str, extra: str = "") -> str:
    """An agents.toml with two phases (build, ship) and a demo worker, plus ``extra`` tables."""
    return ('[project]\nname = "%s"\nsession_prefix = "%s-"\n\n'
            '[[phases]]\nname = "build"\nplan = "plan-build.md"\n\n'
            '[[phases]]\nname = "ship"\nplan = "plan-ship.md"\n\n'
            '[agents.worker]\nkind = "persistent"\nbackend = "demo"\nmodel = "demo-1"\nwatch = "heal"\n'
            % (name, name)) + extra


# A program that leaves processes behind when its session is killed, as agent CLIs do: a
# daemon that double-forks and setsid's away (codex's app-server), a nohup'd child, and a
# nohup'd child that dropped the agent's identity from its environment (found by parent
# pid only). Each writes its pid to a file in the folder given; then it waits.
_DAEMON = ("import os, signal, sys, time\nif os.fork():\n    sys.exit(0)\nos.setsid()\nif os.fork():\n"
           "    os._exit(0)\nsignal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
           "open(sys.argv[1] + '.tmp', 'w').write(str(os.getpid()))\nos.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
           "time.sleep(1000)\n")
LEFTOVERS = ("daemon", "child", "scrubbed")


def write_spawner(folder, python: str) -> str:
    """Write the spawner script into ``folder``; the shell text that runs it."""
    import shlex

    folder = str(folder)
    with open(os.path.join(folder, "daemon.py"), "w") as handle:
        handle.write(_DAEMON)
    script = os.path.join(folder, "spawner.sh")
    with open(script, "w") as handle:
        handle.write(
            "d=%s\n%s \"$d/daemon.py\" \"$d/daemon.pid\"\n"
            "nohup sleep 1001 >/dev/null 2>&1 &\necho $! > \"$d/child.tmp\"; mv \"$d/child.tmp\" \"$d/child.pid\"\n"
            "env -u AGENTLOOPS_AGENT -u AGENTLOOPS_CONFIG nohup sleep 1002 >/dev/null 2>&1 &\n"
            "echo $! > \"$d/scrubbed.tmp\"; mv \"$d/scrubbed.tmp\" \"$d/scrubbed.pid\"\n"
            "exec sleep 100000\n" % (shlex.quote(folder), shlex.quote(python)))
    return "exec sh %s" % shlex.quote(script)


def spawned(folder) -> dict:
    """What the spawner left (name -> (pid, start time)), once all three pid files are there."""
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import procs

    names = LEFTOVERS
    assert wait_for(lambda: all(os.path.exists(os.path.join(str(folder), n + ".pid")) for n in names))
    out = {}
    for name in names:
        with open(os.path.join(str(folder), name + ".pid")) as handle:
            pid = int(handle.read())
        stat = procs.read_stat(pid)
        assert stat is not None, "%s (pid %d) is not running" % (name, pid)
        out[name] = (pid, stat.start)
    return out


def running(pid: int, start: int) -> bool:
    """Whether the process found as (pid, start time) still runs (a zombie does not)."""
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import procs

    stat = procs.read_stat(pid)
    return stat is not None and stat.start == start and stat.state not in ("Z", "X")


def end_spawned(found: dict) -> None:
    """Clean up after a test: kill what is left of ``spawned`` processes (by pid, checked)."""
    import signal

    for pid, start in found.values():
        if running(pid, start):
            os.kill(pid, signal.SIGKILL)


def runner_data_dir(pdd, extravars: dict, inventory: str, inventory_name: str = "hosts") -> None:
    """An ansible-runner private data dir as AWX gives one: ``env/extravars`` only (no prompt,
    no terminal), this checkout's collection and build folders by environment, ``inventory``
    written as ``inventory/<inventory_name>``."""
    for folder in ("env", "inventory", "project"):
        (pdd / folder).mkdir(parents=True)
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    (pdd / "env" / "envvars").write_text(yaml.safe_dump({
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".build", "collections"),
        "ANSIBLE_HOME": os.path.join(REPO, ".build", "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": os.path.join(REPO, ".build", "ansible-home", "tmp"),
        "ANSIBLE_REMOTE_TEMP": os.path.join(REPO, ".build", "ansible-home", "tmp"),
        "ANSIBLE_FORCE_COLOR": "0",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    }))
    (pdd / "env" / "settings").write_text(yaml.safe_dump({"idle_timeout": 120, "job_timeout": 300}))
    (pdd / "inventory" / inventory_name).write_text(inventory)
