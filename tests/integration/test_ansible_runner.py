# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every playbook under ansible-runner, as AWX runs them: a private data dir whose env/
holds the extravars and nothing else to answer. A playbook that prompted would get no answer
and hit runner's idle timeout (env/settings), so each run ending "successful" shows none does."""

from __future__ import annotations

import json
import os
import sys

import ansible_runner
from helpers import phased_agents, runner_data_dir

PHASED_AGENTS = phased_agents("runner-e2e")


def runner(tmp_path, name, playbook, extravars, check=False):
    """Run one playbook from a fresh private data dir; returns (runner, stdout)."""
    pdd = tmp_path / ("pdd-%s" % name)
    runner_data_dir(pdd, extravars, "localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    result = ansible_runner.run(private_data_dir=str(pdd), playbook=playbook, quiet=True,
                                cmdline="--check --diff" if check else None)
    stdout = result.stdout.read()
    return result, stdout


def test_every_playbook_under_ansible_runner(tmp_path, engine_repo, tmux):
    project = str(tmp_path / "runner-e2e")
    agents = tmp_path / "agents.toml"
    agents.write_text(PHASED_AGENTS)
    fleet = str(tmp_path / "fleet.toml")
    common = {"project_dir": project, "tmux_socket": tmux.socket}
    steps = [
        ("scaffold", dict(common, engine_repo=str(engine_repo), engine_ref="v0.1.0", agents_config=str(agents),
                          fleet_file=fleet)),
        ("run", common),
        ("status", common),
        ("phase", dict(common, phase="ship")),
        ("fleet", {"fleet_file": fleet}),
    ]
    for name, extravars in steps:
        result, stdout = runner(tmp_path, name, "agentloops.orchestrator.%s" % name, extravars)
        assert result.status == "successful" and result.rc == 0, "%s\n%s" % (name, stdout)
        assert result.stats["failures"] == {} and result.stats["dark"] == {}
    assert set(tmux.sessions()) == {"runner-e2e-worker"}
    assert open(os.path.join(project, "state", "phase-idx"), encoding="utf-8").read() == "1\n"
    assert "runner-e2e [enabled]" in stdout

    # The cutover's check run, with the running project as the "live" side (its sessions are
    # the project's own, so §2 plans to stop them): a plan that proves no-touch.
    ids = tmux.identities()
    result, stdout = runner(tmp_path, "cutover", "agentloops.orchestrator.cutover",
                            dict(common, live_config=os.path.join(project, "agents.toml"),
                                 evidence_dir=str(tmp_path / "ev")), check=True)
    assert result.status == "successful", stdout
    assert "no-touch: " in stdout and " — unchanged" in stdout
    assert tmux.identities() == ids
    artifact = [e for e in result.events if e.get("event") == "playbook_on_stats"][-1]["event_data"]["artifact_data"]
    assert artifact["agentloops_evidence"]["unchanged"] is True
    evidence = [n for n in os.listdir(tmp_path / "ev") if n.endswith("-check.json")]
    assert len(evidence) == 1
    with open(tmp_path / "ev" / evidence[0], encoding="utf-8") as handle:
        assert json.load(handle)["unchanged"] is True

    result, stdout = runner(tmp_path, "teardown", "agentloops.orchestrator.teardown", common)
    assert result.status == "successful", stdout
    assert tmux.sessions() == {}
