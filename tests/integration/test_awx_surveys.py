# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each job template of awx/job_templates.yml, launched as AWX launches it: its playbook under
ansible-runner, with the extra vars AWX builds from the template's survey
(scripts/awx_job_templates.py launch_extra_vars): defaults injected and the blanks as '' (the UI),
as null (the API of AWX 24), and a realistic answered set. Each does what its template says, on
a demo-backend project whose agents.toml names a private tmux server: a blank tmux_socket is
not the default server, a blank fleet_file is a single-project run, a blank phase only shows."""

from __future__ import annotations

import importlib.util
import os
import sys

import ansible_runner
import pytest
import yaml

from helpers import runner_data_dir
from test_playbooks import REPO

_SPEC = importlib.util.spec_from_file_location("awx_job_templates", os.path.join(REPO, "scripts", "awx_job_templates.py"))
awx = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(awx)

with open(os.path.join(REPO, awx.OUTPUT), encoding="utf-8") as _handle:
    _DATA = yaml.safe_load(_handle)
TEMPLATES = {t["name"]: t for t in _DATA["job_templates"] + _DATA["workflow_job_templates"]}
BLANKS = {"blanks": "", "nulls": None, "answered": ""}

# Agent names the template's multiselect offers (the shipped example's), so the answered set can pick one.
AGENTS = """[project]
name = "{name}"
session_prefix = "{name}-"
tmux_socket = "{socket}"

[[phases]]
name = "build"
plan = "plan-build.md"

[[phases]]
name = "ship"
plan = "plan-ship.md"

[agents.orchestrator]
kind = "persistent"
backend = "demo"
model = "demo-1"
watch = "heal"

[agents.cleanlogs]
kind = "service"
command = "exec sleep 100000"
"""


def launch(tmp_path, template: dict, extravars: dict, cmdline: str | None = None, playbook: str | None = None):
    """Run a template's playbook from a fresh private data dir as AWX does; (runner, stdout)."""
    pdd = tmp_path / ("pdd-%d" % len(os.listdir(tmp_path)))
    runner_data_dir(pdd, extravars, "localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    # AWX runs the playbook from its project (a checkout of this repository), by its path.
    result = ansible_runner.run(private_data_dir=str(pdd), playbook=os.path.join(REPO, playbook or template["playbook"]),
                                quiet=True, cmdline=cmdline)
    stdout = result.stdout.read()
    assert result.status == "successful" and result.rc == 0, "%s %s\n%s" % (template["name"], extravars, stdout)
    assert result.stats["failures"] == {} and result.stats["dark"] == {}
    return result, stdout


def extra(name: str, answers: dict, mode: str) -> dict:
    return awx.launch_extra_vars(TEMPLATES[name], answers, blank=BLANKS[mode])


@pytest.mark.parametrize("mode", sorted(BLANKS))
def test_each_template_as_awx_launches_it(tmp_path, engine_repo, tmux, mode):
    name = "awx-%s" % mode[:4]
    project = str(tmp_path / name)
    config = tmp_path / "agents.toml"
    config.write_text(AGENTS.format(name=name, socket=tmux.socket))
    fleet, scaffold_fleet = str(tmp_path / "fleet.toml"), str(tmp_path / "scaffold-fleet.toml")
    answered = mode == "answered"

    # The workflow: scaffold -> run -> status, each node's job with the workflow's survey vars (answered,
    # the fleet_file both scaffold and run get: run starts the enabled projects of that fleet).
    answers = {"project_dir": project, "engine_repo": engine_repo, "agents_config": str(config)}
    if answered:
        answers.update(engine_ref="v0.1.0", tmux_socket=tmux.socket, fleet_file=scaffold_fleet, fleet_enabled="true",
                       agents=["orchestrator"], run_state="started", systemd_unit="false", allow_partial="false")
    flow = TEMPLATES["agentloops scaffold-run-status"]
    flow_vars = awx.launch_extra_vars(flow, answers, blank=BLANKS[mode])
    assert flow_vars["target"] == "all"
    outputs = {}
    for node in flow["workflow_nodes"]:
        step = TEMPLATES[node["unified_job_template"]["name"]]
        outputs[node["identifier"]] = launch(tmp_path, step, flow_vars)[1]
    assert os.path.isfile(os.path.join(project, "engine", "agents.py"))
    expected = {"%s-orchestrator" % name} if answered else {"%s-orchestrator" % name, "%s-cleanlogs" % name}
    assert set(tmux.sessions()) == expected  # on the config's private server: a blank socket is not the default one
    assert "orchestrator" in outputs["status"] and "RUNNING" in outputs["status"]
    assert os.path.exists(scaffold_fleet) == answered  # a blank fleet_file registers nowhere
    if answered:
        assert "enabled = true" in open(scaffold_fleet, encoding="utf-8").read()

    # phase: a blank phase shows the phase; an answered one sets it.
    phase_file = os.path.join(project, "state", "phase-idx")
    before = open(phase_file, encoding="utf-8").read() if os.path.exists(phase_file) else None
    answers = {"project_dir": project, **({"phase": "ship"} if answered else {})}
    stdout = launch(tmp_path, TEMPLATES["agentloops phase"], extra("agentloops phase", answers, mode))[1]
    after = open(phase_file, encoding="utf-8").read() if os.path.exists(phase_file) else None
    assert after == ("1\n" if answered else before), stdout

    # fleet: add the project (fleet_enabled at its default), then the default action, status, sees it run.
    answers = {"fleet_file": fleet, "fleet_action": "add", "project_name": name, "project_dir": project,
               "engine": "agent-orchestrator@v0.1.0"}
    launch(tmp_path, TEMPLATES["agentloops fleet"], extra("agentloops fleet", answers, mode))
    stdout = launch(tmp_path, TEMPLATES["agentloops fleet"], extra("agentloops fleet", {"fleet_file": fleet}, mode))[1]
    assert "%s [enabled]" % name in stdout

    # update to the pin the project has: nothing to do, and nothing blank read as a fleet file.
    launch(tmp_path, TEMPLATES["agentloops update"],
           extra("agentloops update", {"project_dir": project, "engine_ref": "v0.1.0"}, mode))

    # The cutover as its template offers it: job type check with diff (and, answered, one section by tag),
    # the running project as the live side: a plan that proves no-touch.
    ids = tmux.identities()
    answers = {"project_dir": project, "live_config": os.path.join(project, "agents.toml"),
               **({"evidence_dir": str(tmp_path / "ev"), "cutover_state": "fresh", "cutover_start_timeout": 20}
                  if answered else {})}
    cmdline = "--check --diff" + (" --tags section2" if answered else "")
    stdout = launch(tmp_path, TEMPLATES["agentloops cutover"], extra("agentloops cutover", answers, mode), cmdline)[1]
    assert "no-touch: " in stdout and " — unchanged" in stdout
    assert tmux.identities() == ids

    # teardown: answered, only the agent picked; blank, the whole project (a blank fleet_file is not a fleet).
    answers = {"project_dir": project, **({"agents": ["orchestrator"]} if answered else {})}
    launch(tmp_path, TEMPLATES["agentloops teardown"], extra("agentloops teardown", answers, mode))
    assert tmux.sessions() == {}
    assert os.path.isdir(project)  # remove_project's default 'false' kept it
