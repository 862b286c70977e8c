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
    path = tmp_path / "roles" / "run" / "meta" / "argument_specs.yml"
    path.write_text(path.read_text().replace("choices: [started, restarted]", "choices: [started, restarted, stopped]"))
    assert awx.render(awx.derive(str(tmp_path))) != committed()
    shutil.rmtree(tmp_path / "roles")
    shutil.copytree(os.path.join(REPO, "roles"), tmp_path / "roles")
    assert awx.render(awx.derive(str(tmp_path))) == committed()
