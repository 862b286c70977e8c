# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``agents.py status`` from its cached view of the validated project (quick.py) prints what
the engine's path prints, byte for byte, in every state status shows; and it is light (no
engine import). Real tmux, a real project folder, ``agents.py`` as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENTS = os.path.join(REPO, "agents.py")
# Imported only by the engine's path: the quick path never loads them.
HEAVY = ("agentloops_engine.config", "agentloops_engine.cli", "dataclasses", "argparse", "tomllib", "typing")

CONFIG = """
[project]
name = "quick"
session_prefix = "q-"
tmux_socket = "{socket}"

[[phases]]
name = "one"
plan = "one.md"

[[phases]]
name = "two"
plan = "two.md"

[agents.worker]
kind = "persistent"
backend = "demo"
model = "demo-1"
watch = "heal"

[agents.helper]
kind = "service"
command = "exec sleep 100000"

[agents.looper]
kind = "loop"
backend = "demo"
watch = "none"

[agents.spare]
kind = "persistent"
backend = "demo"
enabled = false

[agents.watchdog]
kind = "service"
builtin = "watchdog"
"""


def _run(cwd, *args, env=None):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=60, check=False, env=env)


def _split(stderr):
    imports = [line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")]
    return imports, "".join(line + "\n" for line in stderr.splitlines() if not line.startswith("import time:"))


def both(cwd, env=None):
    """Status by the quick path (asserted: none of the engine is imported) and by the engine's
    (``--config`` given: early.py, hence quick.py, leave it alone); their outputs."""
    quick = _run(cwd, "-X", "importtime", AGENTS, "status", env=env)
    imports, quick_err = _split(quick.stderr)
    assert "agentloops_engine.quick" in imports, quick.stderr
    heavy = [name for name in imports if name in HEAVY]
    assert not heavy, "the quick path imported %s" % heavy
    full = _run(cwd, AGENTS, "--config", "agents.toml", "status", env=env)
    assert (quick.returncode, quick.stdout, quick_err) == (full.returncode, full.stdout, full.stderr)
    return full


def test_the_quick_path_prints_what_the_engine_prints_in_every_state(tmp_path, tmux):
    project = tmp_path / "p"
    project.mkdir()
    (project / "agents.toml").write_text(textwrap.dedent(CONFIG.format(socket=tmux.socket)))
    up = _run(project, AGENTS, "up", "worker", "helper")
    assert up.returncode == 0, up.stderr
    first = _run(project, AGENTS, "status")  # validates, and caches the view
    assert first.returncode == 0, first.stderr
    assert (project / "state" / ".agents.toml.parsed").is_file()
    out = both(project)
    assert out.stdout == first.stdout
    assert out.stdout.splitlines()[:3] == [
        "phase: one [1/2] plan=one.md (in progress)",
        "AGENT     KIND        BACKEND  MODEL   WATCH  STATE",
        "worker    persistent  demo     demo-1  heal   RUNNING [sleep]"]
    assert out.stdout.endswith("watchdog  service     -        -       -      stopped\n"), out.stdout

    # what the watchdog publishes: the agent's state, in the same one tmux read
    now = int(time.time())
    tmux.run("set-option", "-t", "=q-worker:", "@agentloops_state", "idle %d %d" % (now - 125, now))
    assert "RUNNING [sleep] idle 2m" in both(project).stdout

    # records: a loop that gave up (the runner's), a BACKOFF with restarts (the watchdog's)
    state = project / "state"
    (state / "looper.run.json").write_text(json.dumps({"iteration": 3, "phase": "one", "fatal": "3 failures"}))
    tmux.run("kill-session", "-t", "=q-worker")  # dead, not stopped on purpose
    (state / "worker.watch.json").write_text(json.dumps({"state": "BACKOFF", "restarts": 2}))
    lines = both(project).stdout.splitlines()
    assert "BACKOFF restarts=2" in lines[2] and "FATAL" in lines[4], lines

    # an agent stopped on purpose, a session another project owns, an orphan of ours, a write failure
    assert _run(project, AGENTS, "down", "helper").returncode == 0
    tmux.new("q-spare")
    tmux.run("set-option", "-t", "=q-spare:", "@agentloops_config", str(tmp_path / "other" / "agents.toml"))
    tmux.new("q-gone")
    tmux.run("set-option", "-t", "=q-gone:", "@agentloops_config", str(project / "agents.toml"))
    (state / "watchdog.error").write_text("cannot write /x: disk full\n")
    out = both(project).stdout
    assert out.startswith("watchdog: cannot write /x: disk full\n"), out
    assert "conflict (owned by %s)" % (tmp_path / "other" / "agents.toml") in out
    assert out.endswith("orphan  q-gone  (no longer in agents.toml)\n"), out

    # a corrupt phase index: the table, the error on stderr, exit 1 (both ways)
    (state / "phase-idx").write_text("x1\n")
    out = both(project)
    assert out.returncode == 1 and "phase index must be a whole number" in out.stderr
    (state / "phase-idx").write_text("1\n")
    assert both(project).stdout.startswith("watchdog: cannot write /x: disk full\nphase: two [2/2] plan=two.md")


def test_a_changed_input_of_validation_is_a_miss_then_a_new_view(tmp_path, tmux):
    project = tmp_path / "p"
    project.mkdir()
    (project / "agents.toml").write_text(textwrap.dedent(CONFIG.format(socket=tmux.socket)))
    assert _run(project, AGENTS, "up", "worker").returncode == 0  # (the cache lives in state/, which up makes)
    _run(project, AGENTS, "status")
    both(project)
    env = dict(os.environ, HOME=str(tmp_path))  # another $HOME (~ in paths): validated again, then cached
    miss = _run(project, "-X", "importtime", AGENTS, "status", env=env)
    assert "agentloops_engine.config" in _split(miss.stderr)[0]
    both(project, env)
    # an edit of agents.toml: validated again (the text is the cache's key), shown as edited
    (project / "agents.toml").write_text(textwrap.dedent(CONFIG.format(socket=tmux.socket)).replace(
        "enabled = false", "enabled = true"))
    edited = _run(project, "-X", "importtime", AGENTS, "status")
    assert "agentloops_engine.config" in _split(edited.stderr)[0]
    assert "spare     persistent  demo     -       none   stopped\n" in both(project).stdout
    # an edit that breaks it: the engine's path says so (and the quick path never shows the old view)
    (project / "agents.toml").write_text(textwrap.dedent(CONFIG.format(socket=tmux.socket)).replace(
        'backend = "demo"\nmodel', 'backend = "nope"\nmodel'))
    bad = _run(project, AGENTS, "status")
    assert bad.returncode == 2 and "unknown backend 'nope'" in bad.stderr and bad.stdout == ""
