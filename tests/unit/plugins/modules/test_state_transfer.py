# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""state_transfer and the core it calls (carryover.carry_over): a cutover's ``reuse`` step."""

from __future__ import annotations

import os

from ansible_collections.agentloops.orchestrator.plugins.module_utils import carryover, config
from ansible_collections.agentloops.orchestrator.plugins.modules import state_transfer

PHASES = '[[phases]]\nname = "one"\nplan = "1.md"\n[[phases]]\nname = "two"\nplan = "2.md"\n'
AGENTS = ('[backends.demo]\nbin = "sleep 1"\nprompt_delivery = "exec"\n'
          '[agents.builder]\nkind = "persistent"\nbackend = "demo"\n'
          '[agents.adversary]\nkind = "persistent"\nbackend = "demo"\n')


def make(root, phases=PHASES, agents=AGENTS):
    root.mkdir(parents=True, exist_ok=True)
    (root / "agents.toml").write_text('[project]\nname = "cc-ci"\nsession_prefix = "cc-ci-"\n' + phases + agents)
    return root


def test_reuse_carries_phase_and_resume_ids_check_first(run_module, tmp_path):
    live, staged = make(tmp_path / "live"), make(tmp_path / "staged")
    (live / "state").mkdir()
    (live / "state" / "phase-idx").write_text("1\n")
    (live / "state" / "builder.resume-id").write_text("5b7c1f9e-0000-4000-8000-000000000001\n")
    (live / "state" / "ghost.resume-id").write_text("not an agent of the staged config\n")
    args = {"project_dir": str(staged), "from_config": str(live / "agents.toml")}
    planned = run_module(state_transfer, dict(args, _ansible_check_mode=True, _ansible_diff=True))
    assert planned["changed"] and [os.path.basename(f["file"]) for f in planned["files"]] == [
        "phase-idx", "builder.resume-id"]
    assert planned["diff"][0] == {"before": "", "after": "1\n", "before_header": str(staged / "state" / "phase-idx"),
                                  "after_header": str(staged / "state" / "phase-idx")}
    assert not (staged / "state").exists()
    done = run_module(state_transfer, args)
    assert done["changed"]
    assert (staged / "state" / "phase-idx").read_text() == "1\n"
    resume = staged / "state" / "builder.resume-id"
    assert resume.read_text() == "5b7c1f9e-0000-4000-8000-000000000001\n"
    assert oct(resume.stat().st_mode & 0o777) == "0o600"
    assert not (staged / "state" / "ghost.resume-id").exists()
    assert run_module(state_transfer, args)["changed"] is False
    assert (live / "state" / "phase-idx").read_text() == "1\n"


def test_a_phase_with_another_name_is_refused_and_nothing_written(run_module, tmp_path):
    live = make(tmp_path / "live")
    staged = make(tmp_path / "staged", phases=PHASES.replace('"two"', '"deux"'))
    (live / "state").mkdir()
    (live / "state" / "phase-idx").write_text("1\n")
    (live / "state" / "builder.resume-id").write_text("abc\n")
    result = run_module(state_transfer, {"project_dir": str(staged), "from_config": str(live / "agents.toml")})
    assert result["failed"] and "phase 1 is 'two' there, but 'deux' in" in result["msg"]
    assert not (staged / "state").exists()


def test_no_state_and_same_state_dir_change_nothing(tmp_path):
    live, staged = make(tmp_path / "live"), make(tmp_path / "staged")
    assert carryover.carry_over(config.load(str(live / "agents.toml")), config.load(str(staged / "agents.toml"))) == []
    project = config.load(str(live / "agents.toml"))
    assert carryover.carry_over(project, project) == []


def test_unknown_source_config_is_a_clean_error(run_module, tmp_path):
    staged = make(tmp_path / "staged")
    result = run_module(state_transfer, {"project_dir": str(staged), "from_config": str(tmp_path / "nope.toml")})
    assert result["failed"] and "nope.toml" in result["msg"]
