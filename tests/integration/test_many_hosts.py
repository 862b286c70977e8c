# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several inventory hosts in one play, as AWX runs them (ansible-runner, no repository
ansible.cfg): local connections, each host with its own project folder and its own private
tmux server (host vars), the demo backend. run.yml starts every host's projects at once,
status.yml and fleet.yml end with one table for the whole inventory, set_stats reaches the
job's artifacts, teardown.yml stops all, and a host that fails hides no other's rows."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import ansible_runner
import pytest
import yaml

from conftest import PrivateTmux
from helpers import runner_data_dir
from test_playbooks import REPO

HOSTS = ("h0", "h1", "h2")
# h0: worker and helper run, spare (disabled) stays stopped; h1: worker only; h2: two workers.
AGENTS = {
    "h0": '[agents.worker]\nkind = "persistent"\nbackend = "demo"\nmodel = "m"\nwatch = "heal"\n\n'
          '[agents.helper]\nkind = "service"\ncommand = "exec sleep 100000"\n\n'
          '[agents.spare]\nkind = "persistent"\nbackend = "demo"\nenabled = false\n',
    "h1": '[agents.worker]\nkind = "persistent"\nbackend = "demo"\nmodel = "m"\nwatch = "heal"\n',
    "h2": '[agents.one]\nkind = "persistent"\nbackend = "demo"\nmodel = "m"\nwatch = "none"\n\n'
          '[agents.two]\nkind = "persistent"\nbackend = "demo"\nmodel = "m"\nwatch = "none"\n',
}


@pytest.fixture
def hosts(tmp_path):
    """Per host: its project (name p-<host>), its fleet file, its private tmux server."""
    (tmp_path / "s").mkdir()
    out = {}
    for host in HOSTS:
        project = tmp_path / host / "project"
        project.mkdir(parents=True)
        server = PrivateTmux(str(tmp_path / "s" / ("%s.sock" % host)))
        (project / "agents.toml").write_text('[project]\nname = "p-%s"\nsession_prefix = "%s-"\n\n%s'
                                             % (host, host, AGENTS[host]))
        fleet = tmp_path / host / "fleet.toml"
        fleet.write_text('schema = 1\n\n[projects.p-%s]\ndir = "%s"\nengine = "agent-orchestrator@v0.1.0"\n'
                         'enabled = true\n' % (host, project))
        out[host] = {"project_dir": str(project), "tmux_socket": server.socket, "fleet_file": str(fleet), "tmux": server}
    yield out
    for info in out.values():
        info["tmux"].kill_server()


def inventory(hosts, broken=(), fleet=False):
    """A YAML inventory of the hosts (a broken one's project_dir has no agents.toml); with
    ``fleet``, each host's fleet_file instead of its project_dir."""
    entries = {}
    for host, info in hosts.items():
        entries[host] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                         "tmux_socket": info["tmux_socket"]}
        if fleet:
            entries[host]["fleet_file"] = info["fleet_file"]
        else:
            entries[host]["project_dir"] = info["project_dir"] + ("-missing" if host in broken else "")
    return yaml.safe_dump({"all": {"hosts": entries}})


def runner(tmp_path, name, playbook, hosts, broken=(), extravars=None, fleet=False):
    """One playbook over every host from a fresh private data dir, forks = hosts."""
    pdd = tmp_path / ("pdd-%s" % name)
    runner_data_dir(pdd, dict({"target": "all"}, **(extravars or {})), inventory(hosts, broken, fleet), "hosts.yml")
    result = ansible_runner.run(private_data_dir=str(pdd), playbook=playbook, quiet=True, forks=len(hosts))
    return result, re.sub(r"\x1b\[[0-9;]*m", "", result.stdout.read())  # runner's output is colored


def artifact(result, key):
    stats = [e for e in result.events if e.get("event") == "playbook_on_stats"][-1]["event_data"]
    return stats["artifact_data"][key]


def host_results_per_task(result):
    """[(task name, [hosts whose result came before the next task started])] in event order."""
    out = []
    for event in result.events:
        data = event.get("event_data", {})
        if event.get("event") == "playbook_on_task_start":
            out.append((data.get("task"), []))
        elif event.get("event") in ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"):
            out[-1][1].append(data.get("host"))
    return out


def rows(view):
    return {(row["host"], row["project"]): row for row in view["rows"]}


def test_many_hosts_run_status_fleet_teardown_in_one_play(tmp_path, hosts):
    result, stdout = runner(tmp_path, "run", "agentloops.orchestrator.run", hosts)
    assert result.status == "successful", stdout
    for host, expected in (("h0", {"h0-worker", "h0-helper"}), ("h1", {"h1-worker"}), ("h2", {"h2-one", "h2-two"})):
        assert set(hosts[host]["tmux"].sessions()) == expected, host

    # In parallel, by behaviour: each task of the role started once, and every host's result
    # came before the next task started (an include looped per host starts the role's tasks
    # once per host, each with one host's result, the others' hosts waiting).
    per_task = host_results_per_task(result)
    starts = [hosts_ for task, hosts_ in per_task if task == "Start the projects' agents"]
    assert len(starts) == 1 and sorted(starts[0]) == list(HOSTS), per_task
    reads = [hosts_ for task, hosts_ in per_task if task == "Read the projects' status"]
    assert len(reads) == 1 and sorted(reads[0]) == list(HOSTS)
    assert sorted(result.stats["changed"]) == list(HOSTS)

    run = artifact(result, "agentloops_run")
    assert rows(run)[("h0", "project")]["started"] == ["worker", "helper"] and rows(run)[("h0", "project")]["skipped"] == ["spare"]
    assert rows(run)[("h2", "project")]["started"] == ["one", "two"]
    assert run["totals"]["started"] == 5 and run["totals"]["errors"] == 0

    # Readable without this repository's ansible.cfg: the status table one row per line.
    assert re.search(r'^\s+"worker\s+persistent\s+demo\s+m\s+heal\s+RUNNING \[sleep\]",?$', stdout, re.M), stdout
    assert "\\n" not in stdout

    result, stdout = runner(tmp_path, "status", "agentloops.orchestrator.status", hosts)
    assert result.status == "successful", stdout
    fleet = artifact(result, "agentloops_fleet")
    counts = {key: {k: row[k] for k in ("running", "stopped", "blocked", "stalled", "backoff", "fatal")}
              for key, row in rows(fleet).items()}
    zero = dict.fromkeys(("blocked", "stalled", "backoff", "fatal"), 0)
    assert counts == {("h0", "p-h0"): dict(zero, running=2, stopped=1), ("h1", "p-h1"): dict(zero, running=1, stopped=0),
                      ("h2", "p-h2"): dict(zero, running=2, stopped=0)}
    assert fleet["totals"]["running"] == 5 and fleet["totals"]["hosts"] == 3
    # The one table, computed once: a header, a row per host and project, the totals.
    table = re.findall(r'^\s+"((?:HOST|h\d|total)\s.*?)",?$', stdout, re.M)
    assert table[0].split() == ["HOST", "PROJECT", "RUNNING", "BLOCKED", "STALLED", "BACKOFF", "FATAL", "STOPPED"]
    assert [line.split()[:3] for line in table[1:4]] == [["h0", "p-h0", "2"], ["h1", "p-h1", "1"], ["h2", "p-h2", "2"]]
    assert table[4].startswith("total")

    result, stdout = runner(tmp_path, "fleet", "agentloops.orchestrator.fleet", hosts, fleet=True)
    assert result.status == "successful", stdout
    assert rows(artifact(result, "agentloops_fleet"))[("h0", "p-h0")]["running"] == 2
    assert "p-h1 [enabled]" in stdout

    result, stdout = runner(tmp_path, "teardown", "agentloops.orchestrator.teardown", hosts)
    assert result.status == "successful", stdout
    assert all(info["tmux"].sessions() == {} for info in hosts.values())
    teardown = artifact(result, "agentloops_teardown")
    assert rows(teardown)[("h0", "project")]["stopped"] == ["worker", "helper"]
    assert teardown["totals"]["stopped"] == 5


def test_a_failed_host_hides_no_other_hosts_rows(tmp_path, hosts):
    result, stdout = runner(tmp_path, "run", "agentloops.orchestrator.run", hosts, broken=("h1",))
    assert result.status == "failed"
    assert set(result.stats["failures"]) == {"h1"}
    assert set(hosts["h0"]["tmux"].sessions()) == {"h0-worker", "h0-helper"} and hosts["h1"]["tmux"].sessions() == {}
    run = rows(artifact(result, "agentloops_run"))
    assert run[("h1", "project-missing")]["error"].startswith("failed: ")
    assert run[("h2", "project")]["started"] == ["one", "two"]

    result, stdout = runner(tmp_path, "status", "agentloops.orchestrator.status", hosts, broken=("h1",))
    fleet = artifact(result, "agentloops_fleet")
    assert [(row["host"], row["error"] is None) for row in fleet["rows"]] == [("h0", True), ("h1", False), ("h2", True)]
    assert rows(fleet)[("h0", "p-h0")]["running"] == 2
    assert re.search(r'"h1\s+project-missing\s+failed: ', stdout), stdout


def test_the_tables_read_one_row_per_line_with_no_ansible_cfg(tmp_path, hosts):
    """ansible-playbook with an empty config and the default callback (not this
    repository's yaml one): the table is a list, one row per line."""
    empty = tmp_path / "empty.cfg"
    empty.write_text("")
    (tmp_path / "inv.yml").write_text(inventory({"h0": hosts["h0"]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(empty), ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".build", "collections"),
               ANSIBLE_HOME=os.path.join(REPO, ".build", "ansible-home"), ANSIBLE_FORCE_COLOR="0")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(tmp_path / "inv.yml"),
           "-e", "target=all", "agentloops.orchestrator.run"]
    proc = subprocess.run(cmd, cwd=str(tmp_path), capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r'^\s+"worker\s+persistent\s+demo\s+m\s+heal\s+RUNNING \[sleep\]",$', proc.stdout, re.M), proc.stdout
    assert re.search(r'^\s+"h0\s+project\s+started: worker, helper; skipped: spare",$', proc.stdout, re.M), proc.stdout
    assert "\\n" not in proc.stdout
    # The runtime role's install path is one include: no step of it is printed on a ready host.
    assert "Install the engine's libraries into a venv" not in proc.stdout
