# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""awx/job_templates.yml: one job template per playbook, its survey from the roles'
argument specs. Fails when the committed file and the specs drift apart."""

from __future__ import annotations

import importlib.util
import os
import shutil

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_SPEC = importlib.util.spec_from_file_location("awx_job_templates", os.path.join(REPO, "scripts", "awx_job_templates.py"))
awx = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(awx)


def committed() -> str:
    with open(os.path.join(REPO, awx.OUTPUT), encoding="utf-8") as handle:
        return handle.read()


def test_committed_templates_match_the_argument_specs():
    assert committed() == awx.render(awx.derive()), "run: python scripts/awx_job_templates.py"


def test_one_template_per_playbook_and_every_required_option_asked():
    templates = {t["playbook"]: t for t in yaml.safe_load(committed())["job_templates"]}
    playbooks = sorted("playbooks/%s" % n for n in os.listdir(os.path.join(REPO, "playbooks")) if n.endswith(".yml"))
    assert sorted(templates) == playbooks
    run = {q["variable"]: q for q in templates["playbooks/run.yml"]["survey_spec"]["spec"]}
    assert run["run_state"]["type"] == "multiplechoice" and run["run_state"]["choices"] == ["started", "restarted"]
    assert run["systemd_unit"]["choices"] == ["true", "false"] and run["systemd_unit"]["default"] == "false"
    assert run["project_dir"]["required"] is False and "fleet_file" in run  # one of the two, checked by the play
    cutover = {q["variable"]: q for q in templates["playbooks/cutover.yml"]["survey_spec"]["spec"]}
    assert cutover["project_dir"]["required"] and cutover["live_config"]["required"]
    assert cutover["cutover_start_timeout"] == {**cutover["cutover_start_timeout"], "type": "integer", "default": 30}
    scaffold = {q["variable"]: q for q in templates["playbooks/scaffold.yml"]["survey_spec"]["spec"]}
    assert scaffold["engine_ref"]["default"] == "" and scaffold["engine_repo"]["required"] is False  # the own engine
    assert "C(" not in committed() and "O(" not in committed()


def test_a_changed_spec_is_caught(tmp_path):
    for folder in ("roles", "playbooks"):
        shutil.copytree(os.path.join(REPO, folder), tmp_path / folder)
    shutil.copy(os.path.join(REPO, "agents.example.toml"), tmp_path)
    path = tmp_path / "roles" / "run" / "meta" / "argument_specs.yml"
    path.write_text(path.read_text().replace("choices: [started, restarted]", "choices: [started, restarted, stopped]"))
    assert awx.render(awx.derive(str(tmp_path))) != committed()
    shutil.rmtree(tmp_path / "roles")
    shutil.copytree(os.path.join(REPO, "roles"), tmp_path / "roles")
    assert awx.render(awx.derive(str(tmp_path))) == committed()


def templates() -> dict:
    data = yaml.safe_load(committed())
    return {t["name"]: t for t in data["job_templates"] + data["workflow_job_templates"]}


def test_templates_prompt_for_diff_tags_and_take_a_credential():
    by_name = templates()
    cutover = by_name["agentloops cutover"]
    assert cutover["ask_diff_mode_on_launch"] and cutover["ask_tags_on_launch"] and cutover["ask_skip_tags_on_launch"]
    assert "section2" in cutover["description"] and "quiesce" in cutover["description"]
    assert "always" not in cutover["description"]
    assert "ask_tags_on_launch" not in by_name["agentloops run"]  # the run role's tasks are not sectioned
    assert all(t["credentials"] == [awx.CREDENTIAL] for n, t in by_name.items() if "workflow_nodes" not in t)
    run = {q["variable"]: q for q in by_name["agentloops run"]["survey_spec"]["spec"]}
    assert run["agents"]["type"] == "multiselect" and "watchdog" in run["agents"]["choices"]
    assert "default" not in run["agents"] and run["agents"]["required"] is False
    assert run["allow_partial"] == {**run["allow_partial"], "type": "multiplechoice", "default": "false"}
    teardown = {q["variable"]: q for q in by_name["agentloops teardown"]["survey_spec"]["spec"]}
    assert teardown["agents"]["type"] == "multiselect"


def test_the_workflow_chains_scaffold_run_status_with_one_survey():
    flow = templates()["agentloops scaffold-run-status"]
    nodes = {n["identifier"]: n for n in flow["workflow_nodes"]}
    assert list(nodes) == ["scaffold", "run", "status"]
    assert nodes["scaffold"]["related"]["success_nodes"] == [{"identifier": "run"}]
    assert nodes["run"]["related"]["success_nodes"] == [{"identifier": "status"}]
    assert "related" not in nodes["status"]
    assert nodes["run"]["unified_job_template"] == {"name": "agentloops run", "type": "job_template"}
    spec = {q["variable"]: q for q in flow["survey_spec"]["spec"]}
    assert len(spec) == len(flow["survey_spec"]["spec"])  # each variable asked once
    assert spec["project_dir"]["required"] is True  # scaffold requires it, run does not
    assert {"engine_repo", "agents", "run_state", "fleet_file"} <= set(spec)


SURVEY = {"extra_vars": {"target": "all"}, "survey_enabled": True, "survey_spec": {"spec": [
    {"variable": "dir", "type": "text", "required": True},
    {"variable": "note", "type": "text", "required": False},
    {"variable": "file", "type": "text", "required": False, "default": ""},
    {"variable": "mode", "type": "multiplechoice", "required": False, "choices": ["a", "b"], "default": "a"},
    {"variable": "pick", "type": "multiplechoice", "required": False, "choices": ["a", "b"]},
    {"variable": "who", "type": "multiselect", "required": False, "choices": "x\ny\nz"},
    {"variable": "some", "type": "multiselect", "required": False, "choices": ["x", "y"], "default": "x\ny"},
    {"variable": "count", "type": "integer", "required": False, "default": 30},
    {"variable": "limit", "type": "integer", "required": False},
    {"variable": "target", "type": "text", "required": False},
]}}


def test_launch_extra_vars_injects_defaults_and_blanks_as_awx_does():
    assert awx.launch_extra_vars(SURVEY, {"dir": "/p"}) == {
        "target": "", "dir": "/p", "note": "", "file": "", "mode": "a", "pick": "", "who": [],
        "some": ["x", "y"], "count": 30}
    nulls = awx.launch_extra_vars(SURVEY, {"dir": "/p"}, blank=None)
    assert nulls == {"target": None, "dir": "/p", "note": None, "file": None, "mode": "a", "pick": None, "who": None,
                     "some": ["x", "y"], "count": 30}
    answered = awx.launch_extra_vars(SURVEY, {"dir": "/p", "who": ["z", "x"], "count": 5, "limit": 2, "target": "web",
                                              "pick": "b"})
    assert answered["who"] == ["z", "x"] and answered["count"] == 5 and answered["limit"] == 2
    assert answered["target"] == "web" and answered["pick"] == "b"  # a survey answer wins over the template's vars
    assert awx.launch_extra_vars({"extra_vars": {"a": 1}, "survey_enabled": False, "survey_spec": {}}) == {"a": 1}


def test_launch_extra_vars_refuses_what_awx_refuses():
    import pytest

    for answers, message in [({}, "dir: the survey requires"), ({"dir": "/p", "mode": "c"}, "not one of"),
                             ({"dir": "/p", "who": "x"}, "not a list"), ({"dir": "/p", "who": ["w"]}, "not a list"),
                             ({"dir": "/p", "count": "5"}, "not an integer"), ({"dir": "/p", "count": True}, "integer"),
                             ({"dir": 3}, "not text"), ({"dir": "/p", "other": 1}, "not asked by the survey: other")]:
        with pytest.raises(ValueError, match=message):
            awx.launch_extra_vars(SURVEY, answers)
