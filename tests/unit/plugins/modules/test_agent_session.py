# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from ansible.module_utils.common import warnings as ansible_warnings

from ansible_collections.agentloops.orchestrator.plugins.modules import agent_session, agent_session_info


@pytest.fixture(autouse=True)
def fresh_warnings():
    """A module's warnings are process-global in ansible-core: each test starts without any."""
    ansible_warnings._global_warnings.clear()


def warned(result):
    """The warnings' texts (ansible-core 2.19 returns each as a structured summary)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def test_an_agent_that_cannot_start_fails_the_task_naming_it_and_starts_nothing(run_module, demo_project, tmux):
    """No engine checkout: the builtin watchdog cannot start. The task fails (in check mode
    too: the real run would) naming it and why, in msg and in its agents entry; nothing
    starts, and the disabled agent is no failure."""
    for check in (True, False):
        result = run_module(agent_session, {"project_dir": str(demo_project), "_ansible_check_mode": check,
                                            "_ansible_diff": True})
        assert result["failed"] and result["changed"] is False
        assert result["msg"].splitlines()[0].startswith("1 agent(s) of scratch cannot start, so nothing was started")
        assert result["msg"].splitlines()[1].startswith("  watchdog: the builtin watchdog needs the engine: no engine "
                                                        "checkout at %s/engine/agents.py" % demo_project)
        agents = {a["agent"]: a for a in result["agents"]}
        assert [n for n, a in agents.items() if a["cannot_start"]] == ["watchdog"]
        assert agents["watchdog"]["reason"].startswith("the builtin watchdog needs the engine")
        assert agents["spare"]["action"] == "skip" and not agents["spare"]["cannot_start"]
        assert result["sessions_after"] == [] and result["diff"]["after"] == "(no sessions of scratch)\n"
        assert tmux.sessions() == {}
        assert not (demo_project / "state").exists(), "nothing written either"


def test_check_mode_reports_and_changes_nothing(run_module, demo_project, tmux):
    result = run_module(agent_session, {"project_dir": str(demo_project), "_ansible_check_mode": True,
                                        "_ansible_diff": True, "allow_partial": True})
    assert result["changed"] is True
    assert len(warned(result)) == 1 and warned(result)[0].startswith(
        "watchdog not started: the builtin watchdog needs the engine")
    assert {a["agent"]: a["action"] for a in result["agents"]} == {
        "worker": "start", "helper": "start", "spare": "skip", "watchdog": "skip"}
    assert result["sessions_after"] == ["t-scratch-helper", "t-scratch-worker"]
    assert result["diff"]["before"] == "(no sessions of scratch)\n"
    assert result["diff"]["after"] == "t-scratch-helper\nt-scratch-worker\n"
    assert tmux.sessions() == {}


def test_started_then_idempotent_then_stopped(run_module, demo_project, tmux):
    args = {"project_dir": str(demo_project), "allow_partial": True}
    first = run_module(agent_session, args)
    assert first["changed"] is True and "watchdog not started" in warned(first)[0]
    assert set(tmux.sessions()) == {"t-scratch-helper", "t-scratch-worker"}
    second = run_module(agent_session, args)
    assert second["changed"] is False
    assert all(a["action"] in ("none", "skip") for a in second["agents"])
    info = run_module(agent_session_info, {"project_dir": str(demo_project)})
    assert info["changed"] is False
    assert info["running"] == 2 and info["stopped"] == 2
    assert info["watchdogs"] == 0  # a module has no engine checkout to run the builtin watchdog from
    rows = {r["agent"]: r for r in info["agents"]}
    assert rows["watchdog"]["state"] == "stopped (no engine checkout: engine/agents.py is missing)"
    assert rows["watchdog"]["reason"].startswith("cannot start: the builtin watchdog needs the engine")
    assert rows["spare"]["reason"] == "disabled in config" and rows["worker"]["reason"] is None
    assert rows["worker"]["session_id"].startswith("$") and rows["worker"]["pid"] > 0
    assert info["lines"][0].startswith("AGENT")
    assert info["phase"] is None
    stopped = run_module(agent_session, {"project_dir": str(demo_project), "state": "stopped", "agents": ["worker"]})
    assert stopped["changed"] is True
    assert [a["action"] for a in stopped["agents"]] == ["stop"]
    assert set(tmux.sessions()) == {"t-scratch-helper"}


def test_config_and_socket_options(run_module, demo_project, tmp_path, tmux):
    other = str(tmp_path / "s" / "mod.sock")
    result = run_module(agent_session, {"config": str(demo_project / "agents.toml"), "tmux_socket": other,
                                        "agents": ["helper"]})
    try:
        assert result["tmux_server"] == "tmux server -S %s" % other
        assert tmux.sessions() == {}
    finally:
        import subprocess
        subprocess.run(["tmux", "-S", other, "kill-server"], capture_output=True, check=False)


def test_bad_input_fails_cleanly_and_changes_nothing(run_module, demo_project, tmux):
    tmux.new("t-scratch-worker")
    before = tmux.identities()
    unknown = run_module(agent_session, {"project_dir": str(demo_project), "agents": ["ghost"], "state": "stopped"})
    assert unknown["failed"] and "unknown agent(s) ghost" in unknown["msg"]
    (demo_project / "agents.toml").write_text('[agents.w]\nkind = "persistent"\nbackend = "demo"\nwatch = 1\n')
    bad = run_module(agent_session, {"project_dir": str(demo_project), "state": "stopped"})
    assert bad["failed"]
    assert bad["msg"].endswith("agents.toml:4:1: agents.w.watch: must be a string, not a number")
    assert bad["issues"][0]["line"] == 4 and bad["issues"][0]["key"] == "agents.w.watch"
    missing = run_module(agent_session_info, {"project_dir": str(demo_project / "nowhere")})
    assert missing["failed"] and "cannot read config" in missing["msg"]
    neither = run_module(agent_session, {})
    assert neither["failed"] and "project_dir" in neither["msg"]
    assert tmux.identities() == before


def test_info_reports_project_prefix_sessions_and_parity(run_module, demo_project, tmp_path, tmux):
    args = {"project_dir": str(demo_project)}
    run_module(agent_session, dict(args, agents=["worker"]))
    tmux.new("t-scratch-stray")  # the prefix, not in the config
    tmux.new("other-x")
    staged = tmp_path / "staged"
    staged.mkdir()
    text = (demo_project / "agents.toml").read_text()
    (staged / "agents.toml").write_text(text)
    info = run_module(agent_session_info, dict(args, parity_with=str(staged / "agents.toml")))
    assert info["prefix_sessions"] == ["t-scratch-stray", "t-scratch-worker"]
    assert info["project"]["name"] == "scratch" and info["project"]["session_prefix"] == "t-scratch-"
    assert info["project"]["state_dir"] == str(demo_project / "state") and info["project"]["tmux_socket"] == tmux.socket
    assert info["parity"]["match"] is True and info["parity"]["other"] == str(staged / "agents.toml")
    assert [r["builtin"] for r in info["agents"]][-1] == "watchdog"
    (staged / "agents.toml").write_text(text.replace('kind = "persistent"', 'kind = "loop"', 1))
    differs = run_module(agent_session_info, dict(args, parity_with=str(staged / "agents.toml")))
    assert differs["parity"]["match"] is False
    assert differs["parity"]["differences"][0].endswith("KIND is persistent in staged, loop in live")
    assert "!=" in "".join(differs["parity"]["lines"])
    assert run_module(agent_session_info, args)["parity"] is None


def test_info_waits_until_exited_and_refuses_idle_without_a_profile(run_module, demo_project, tmux):
    args = {"project_dir": str(demo_project)}
    waited = run_module(agent_session_info, dict(args, wait_until="exited", wait_agents=["worker"], wait_timeout=5))
    assert waited["changed"] is False and waited["reached"] == {"worker": "exited"}
    run_module(agent_session, dict(args, agents=["worker"]))
    timed_out = run_module(agent_session_info, dict(args, wait_until="exited", wait_agents=["worker"],
                                                    wait_timeout=0.5))
    assert timed_out["failed"] and "timed out after 0.5s waiting for exited: worker is running" in timed_out["msg"]
    blind = run_module(agent_session_info, dict(args, wait_until="idle", wait_agents=["worker"]))
    assert blind["failed"] and "no profile tells what worker is doing" in blind["msg"]


def test_info_on_a_corrupt_phase_index_returns_the_rows_and_the_phase_error(run_module, demo_project, tmux):
    config = demo_project / "agents.toml"
    config.write_text(config.read_text() + '\n[[phases]]\nname = "one"\nplan = "one.md"\n')
    (demo_project / "state").mkdir()
    (demo_project / "state" / "phase-idx").write_text("7\n")
    info = run_module(agent_session_info, {"project_dir": str(demo_project)})
    assert not info.get("failed") and [r["agent"] for r in info["agents"]] == ["worker", "helper", "spare", "watchdog"]
    assert info["phase"]["index"] is None and info["phase"]["count"] == 1
    assert "phase index 7 is out of range" in info["phase"]["error"]
    assert info["lines"][0].startswith("phase: ? [?/1] error: ") and info["lines"][1].startswith("AGENT")


def test_an_agent_that_dies_at_once_fails_the_task_with_its_name_and_last_screen(run_module, tmp_path, tmux):
    project = tmp_path / "dying"
    project.mkdir()
    (project / "agents.toml").write_text(
        '[project]\nsession_prefix = "t-dy-"\ntmux_socket = "%s"\nconfirm_seconds = 0.5\n'
        '[backends.broken]\nbin = "echo \'config error: no model\'; exit 2"\nprompt_delivery = "exec"\n'
        '[agents.broken]\nkind = "persistent"\nbackend = "broken"\n' % tmux.socket)
    result = run_module(agent_session, {"project_dir": str(project)})
    assert result["failed"]
    # (exit 2), or, when tmux has not read the exit status yet (a loaded host), (its program ended)
    assert result["msg"].replace("(its program ended)", "(exit 2)") == (
        "1 of the agents started did not stay up (confirm_seconds = 0.5):\n"
        "t-dy-broken died within 0.5s of its start (exit 2); its last screen:\n"
        "    config error: no model")
    assert tmux.sessions() == {}
