# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config, phase, status, tmux
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import StateError
from ansible_collections.agentloops.orchestrator.plugins.module_utils.layout import StateLayout

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))

# The seed reviewer's capture of the live system (19 phases, phase-idx 18), byte for byte.
SEED_STATUS = """\
phase: poe2e [19/19] plan=plan-phase-poe2e-end-to-end.md (in progress)
AGENT         KIND        BACKEND  MODEL              WATCH       STATE
orchestrator  persistent  claude   claude-opus-4-8    heal        RUNNING [claude]
builder       loop        claude   claude-opus-4-8    heal+stall  RUNNING [claude]
adversary     loop        claude   claude-sonnet-4-6  heal+stall  RUNNING [claude]
assistant     persistent  claude   claude-sonnet-4-6  none        stopped (disabled)
upgrader      task        claude   claude-sonnet-4-6  none        RUNNING (disabled) [claude]
report        task        claude   claude-opus-4-8    none        RUNNING (disabled) [claude]
cleanlogs     service     -        -                  -           RUNNING
watchdog      service     -        -                  -           RUNNING
"""
SEED_PHASES = ("rcust shot lvl5 bsky dstamp mailu kuma drone cfold cf55 pvfix pvcheck ghost cf48 pxgate "
               "aoeng aotest porepo poe2e").split()


def seed_project(tmp_path, name="agents.toml", prefix="cc-ci-"):
    text = open(os.path.join(REPO, "agents.example.toml")).read()
    text = text.replace('session_prefix = "cc-ci-"', 'session_prefix = "%s"' % prefix)
    head, _sep, rest = text.partition("[[phases]]")
    rest = rest[rest.index("[backends.claude]"):]
    phases = "".join('[[phases]]\nname = "%s"\nplan = "plan-phase-%s.md"\n\n' % (p, p) for p in SEED_PHASES[:-1])
    phases += '[[phases]]\nname = "poe2e"\nplan = "plan-phase-poe2e-end-to-end.md"\n\n'
    path = tmp_path / name
    path.write_text(head + phases + rest)
    return config.load(str(path))


def live_for(project, running, command="claude"):
    out = {}
    for i, agent in enumerate(running):
        name = project.session_name(agent)
        out[name] = tmux.Session(name, "$%d" % i, 1700000000 + i,
                                 [tmux.Pane("%%%d" % i, 1000 + i, command, False, None, 0, 0, 0)])
    return out


SEED_RUNNING = ["orchestrator", "builder", "adversary", "upgrader", "report", "cleanlogs", "watchdog"]


def test_seed_status_byte_identical(tmp_path):
    project = seed_project(tmp_path)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "phase-idx").write_text("18\n")
    rows = status.rows(project, live_for(project, SEED_RUNNING))
    text = "\n".join(status.render(project, rows, phase.read_phase_index(project))) + "\n"
    assert text == SEED_STATUS


def test_two_configs_on_the_same_sessions_print_identical_status(tmp_path):
    a_dir, b_dir = tmp_path / "live", tmp_path / "staged"
    a_dir.mkdir()
    b_dir.mkdir()
    a, b = seed_project(a_dir), seed_project(b_dir)
    live = live_for(a, SEED_RUNNING)
    assert status.render(a, status.rows(a, live), 18) == status.render(b, status.rows(b, live), 18)


def test_rows_carry_session_data_and_ignore_foreign_sessions(tmp_path):
    project = seed_project(tmp_path)
    live = live_for(project, ["orchestrator"], command="node")
    live.update(live_for(project, []))
    live["cc-ci-orchestratorX"] = tmux.Session("cc-ci-orchestratorX", "$9", 1, [])
    live["other-builder"] = tmux.Session("other-builder", "$8", 1, [])
    rows = {r.agent: r for r in status.rows(project, live)}
    assert rows["orchestrator"].state == "RUNNING [node]"
    assert (rows["orchestrator"].session_id, rows["orchestrator"].pid) == ("$0", 1000)
    assert rows["builder"].state == "stopped (no engine checkout: engine/agents.py is missing)"
    assert rows["builder"].pid is None
    assert rows["assistant"].state == "stopped (disabled)"


def test_a_stopped_agent_says_why(tmp_path):
    """A loop without the engine's runner says it cannot start (its STATE, the reason in
    full in ``Row.reason``); the caller's agents.py (the CLI's) can start it: plain
    ``stopped``, as the seed prints. A disabled agent or one stopped on purpose keeps the
    seed's STATE and says why in ``Row.reason`` only; a never started one says nothing."""
    project = seed_project(tmp_path)
    rows = {r.agent: r for r in status.rows(project, {})}
    assert rows["builder"].reason.startswith("cannot start: loop agents need the engine's runner: no engine checkout at ")
    assert rows["watchdog"].state == "stopped (no engine checkout: engine/agents.py is missing)"
    assert (rows["assistant"].state, rows["assistant"].reason) == ("stopped (disabled)", "disabled in config")
    script = tmp_path / "elsewhere" / "agents.py"
    script.parent.mkdir()
    script.write_text("")
    by_cli = {r.agent: r for r in status.rows(project, {}, engine_script=str(script))}
    assert (by_cli["builder"].state, by_cli["builder"].reason) == ("stopped", None)
    assert (by_cli["orchestrator"].state, by_cli["orchestrator"].reason) == ("stopped", None)
    os.makedirs(project.state_dir, exist_ok=True)
    open(StateLayout.of(project).stopped("orchestrator"), "w").close()
    again = {r.agent: r for r in status.rows(project, {}, engine_script=str(script))}
    assert (again["orchestrator"].state, again["orchestrator"].reason) == (
        "stopped", "stopped by an operator (down, state=stopped)")
    lines = status.table(list(again.values()))
    assert lines[0].split() == list(status.COLUMNS), "the columns users rely on stay as they were"


def test_no_phase_header_without_phases(tmp_path):
    path = tmp_path / "agents.toml"
    path.write_text('[agents.w]\nkind = "persistent"\nbackend = "demo"\n')
    project = config.load(str(path))
    lines = status.render(project, status.rows(project, {}), 0)
    assert lines == ["AGENT  KIND        BACKEND  MODEL  WATCH  STATE",
                     "w      persistent  demo     -      none   stopped"]


@pytest.mark.parametrize("content, words", [("x\n", "whole number"), ("19\n", "out of range")])
def test_bad_phase_index_is_a_clear_error(tmp_path, content, words):
    project = seed_project(tmp_path)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "phase-idx").write_text(content)
    with pytest.raises(StateError, match=words):
        phase.read_phase_index(project)


def test_parse_panes_groups_and_orders_panes():
    out = ("a\t$1\t10\t1\t0\t%3\t30\tbash\t0\t\t11\t/p/agents.toml\t\t\t\t\n"
           "a\t$1\t10\t0\t1\t%2\t20\tvim\t0\t\t11\t/p/agents.toml\t\t\t\t\n"
           "a\t$1\t10\t0\t0\t%1\t10\tsleep\t1\t3\t11\t/p/agents.toml\t\t\t\t\n"
           "b\t$2\t12\t0\t0\t%4\t40\tsleep\t0\t\t12\t\t\t\t\t\n"
           "garbage line\n")
    sessions = tmux.parse_panes(out)
    assert list(sessions) == ["a", "b"]
    assert sessions["a"].owner == "/p/agents.toml" and sessions["b"].owner == ""
    assert sessions["a"].foreign_to("/q/agents.toml") and not sessions["a"].foreign_to("/p/agents.toml")
    assert not sessions["b"].foreign_to("/q/agents.toml"), "an untagged session is nobody's"
    assert [p.id for p in sessions["a"].panes] == ["%1", "%2", "%3"]
    first = sessions["a"].first_pane
    assert (first.pid, first.dead, first.dead_status) == (10, True, 3)


def test_parity_ignores_state_and_shows_both_tables(tmp_path):
    (tmp_path / "live").mkdir()
    (tmp_path / "staged").mkdir()
    live, staged = seed_project(tmp_path / "live"), seed_project(tmp_path / "staged")
    differences, lines = status.parity(status.rows(staged, {}), status.rows(live, live_for(live, SEED_RUNNING)))
    assert differences == []
    assert lines[0].split() == ["staged", "live"]
    assert lines[1].split() == list(status.PARITY_COLUMNS) * 2
    assert lines[3].split() == ["builder", "loop", "claude", "claude-opus-4-8", "heal+stall", "=="] + [
        "builder", "loop", "claude", "claude-opus-4-8", "heal+stall"]
    assert len(lines) == 2 + len(live.agents) and not any(line.endswith(" ") for line in lines)


def test_parity_names_every_difference(tmp_path):
    (tmp_path / "live").mkdir()
    (tmp_path / "staged").mkdir()
    live = seed_project(tmp_path / "live")
    path = tmp_path / "staged" / "agents.toml"
    text = (tmp_path / "live" / "agents.toml").read_text()
    text = text.replace('model = "claude-sonnet-4-6"\nwatch = "heal+stall"', 'model = "claude-opus-4-8"\n'
                        'watch = "heal+stall"', 1).replace("[agents.report]", "[agents.reporter]")
    path.write_text(text)
    staged = config.load(str(path))
    differences, lines = status.parity(status.rows(staged, {}), status.rows(live, {}))
    assert differences == ["adversary: MODEL is claude-opus-4-8 in staged, claude-sonnet-4-6 in live",
                           "reporter: only in staged", "report: only in live"]
    assert [line.split()[5] for line in lines[2:]] == ["==", "==", "!=", "==", "==", "!=", "==", "=="]


def test_parity_catches_order(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = seed_project(tmp_path / "a")
    text = (tmp_path / "a" / "agents.toml").read_text()
    head, sep, rest = text.partition("[agents.builder]")
    builder, sep2, tail = rest.partition("[agents.adversary]")
    (tmp_path / "b" / "agents.toml").write_text(head + sep2 + tail.replace("[agents.assistant]", sep + builder +
                                                                           "[agents.assistant]", 1))
    b = config.load(str(tmp_path / "b" / "agents.toml"))
    differences, _lines = status.parity(status.rows(b, {}), status.rows(a, {}))
    assert len(differences) == 1 and differences[0].startswith("agent order differs: orchestrator adversary builder")


def test_socket_values_resolve_one_way(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert tmux.resolve_socket("") == "" and tmux.resolve_socket("loops") == "loops"
    assert tmux.resolve_socket("run/t.sock") == str(tmp_path / "run" / "t.sock")
    assert tmux.resolve_socket("~/t.sock") == os.path.join(os.path.expanduser("~"), "t.sock")
    for socket in ("", "loops", "/tmp/x/t.sock"):
        server = tmux.TmuxServer(socket)
        assert tmux.TmuxServer.from_socket_args(server.socket_args).socket == socket


LOOP = ('[agents.loopy]\nkind = "loop"\nbackend = "demo"\nwatch = "heal"\n\n'
        '[agents.off]\nkind = "loop"\nbackend = "demo"\nenabled = false\n')


def test_a_failing_loop_shows_backoff_with_its_seconds_left_then_fatal(tmp_path):
    import time

    from ansible_collections.agentloops.orchestrator.plugins.module_utils import bookkeeping

    (tmp_path / "agents.toml").write_text(LOOP)
    project = config.load(str(tmp_path / "agents.toml"))
    loopy, live = project.agent("loopy"), live_for(project, ["loopy"])
    record = {"iteration": 5, "phase": "alpha", "exit": 1, "ended": time.time()}
    bookkeeping.write_run(project, loopy, dict(record, backoff={"failures": 2, "until": time.time() + 29.5}))
    (row, _off) = status.rows(project, live)
    assert (row.state, row.fatal) == ("BACKOFF [claude] #5 alpha 30s", None)
    bookkeeping.write_run(project, loopy, dict(record, backoff={"failures": 2, "until": time.time() - 1}))
    assert status.rows(project, live)[0].state == "RUNNING [claude] #5 alpha", "a backoff waited out"
    reason = "3 failed iterations in a row (last exit 1)"
    for agent in project.agents:
        bookkeeping.write_run(project, agent, dict(record, fatal=reason))
    rows = status.rows(project, {})
    assert [(r.state, r.fatal) for r in rows] == [("FATAL", reason), ("stopped (disabled)", reason)]
    assert rows[0].as_dict()["fatal"] == reason
    assert status.table(rows)[1] == "loopy  loop  demo     -      heal   FATAL"


def test_what_the_watchdog_published_shows_in_the_seeds_layout_for_both_configs(tmp_path, monkeypatch):
    monkeypatch.setattr(status.time, "time", lambda: 10000.0)
    a_dir, b_dir = tmp_path / "live", tmp_path / "staged"
    a_dir.mkdir()
    b_dir.mkdir()
    a, b = seed_project(a_dir), seed_project(b_dir)
    live = live_for(a, SEED_RUNNING)
    published = {"orchestrator": ("idle 9280 9990", "claude claude"), "builder": ("working 9990 9995", ""),
                 "adversary": ("blocked:trust 9000 9999", ""), "upgrader": ("idle 1 2", "")}  # stale: not shown
    for name, (state, program) in published.items():
        sess = live[a.session_name(name)]
        live[sess.name] = tmux.Session(sess.name, sess.id, sess.created, sess.panes, program=program, state=state)
    lines = status.render(a, status.rows(a, live), 18)
    assert lines == status.render(b, status.rows(b, live), 18)
    states = {line.split()[0]: line.split("  ")[-1].strip() for line in lines[2:]}
    assert states["orchestrator"] == "RUNNING [claude] idle 12m"
    assert states["builder"] == "RUNNING [claude] working"
    assert states["adversary"] == "BLOCKED [claude] trust"
    assert states["upgrader"] == "RUNNING (disabled) [claude]"
    assert states["assistant"] == "stopped (disabled)"
    rows = {r.agent: r for r in status.rows(a, live)}
    adversary = rows["adversary"]
    assert (adversary.activity, adversary.since, adversary.dialog) == ("blocked", 9000.0, "trust")


def test_a_session_another_project_owns_is_a_conflict_not_running(tmp_path):
    project = seed_project(tmp_path)
    live = live_for(project, ["orchestrator", "builder"])
    pane = live["cc-ci-builder"].panes
    live["cc-ci-builder"] = tmux.Session("cc-ci-builder", "$1", 1, pane, "/other/agents.toml")
    rows = {r.agent: r for r in status.rows(project, live)}
    assert rows["builder"].state == "conflict (owned by /other/agents.toml)" and not rows["builder"].running
    assert rows["orchestrator"].state == "RUNNING [claude]", "an untagged session still counts as running"
    lines = status.render(project, list(rows.values()), 0)
    assert lines[3] == "builder       loop        claude   claude-opus-4-8    heal+stall  conflict (owned by " \
                       "/other/agents.toml)"


def test_orphans_are_listed_after_the_table(tmp_path):
    project = seed_project(tmp_path)
    rows = status.rows(project, {})
    lines = status.render(project, rows, 0, orphans=["cc-ci-gone"])
    assert lines[:-1] == status.render(project, rows, 0) and lines[-1] == "orphan  cc-ci-gone  (no longer in agents.toml)"


def test_a_bad_watch_record_does_not_crash_status(tmp_path):
    (tmp_path / "agents.toml").write_text('[agents.a]\nkind = "persistent"\nbackend = "demo"\nwatch = "heal"\n')
    project = config.load(str(tmp_path / "agents.toml"))
    os.makedirs(project.state_dir)
    with open(os.path.join(project.state_dir, "a.watch.json"), "w") as handle:
        handle.write('{"restarts": "many", "state": "FATAL"}')
    assert status.render(project, status.rows(project, {}, []), 0)[-1].endswith("  FATAL")


def test_an_agent_whose_keeper_waits_is_exited_or_what_the_watchdog_recorded_not_running(tmp_path):
    """Its session lives on (the keeper waits to run it again): STATE says it ended, or the
    FATAL/BACKOFF the watchdog is holding it in, and the row is not running."""
    project = seed_project(tmp_path)
    live = live_for(project, ["orchestrator"], command=tmux.KEEPER)
    pane = live["cc-ci-orchestrator"].panes[0] = tmux.Pane("%0", 1000, tmux.KEEPER, True, None, 0, 0, 0, "", True)
    rows = {r.agent: r for r in status.rows(project, live)}
    assert (rows["orchestrator"].state, rows["orchestrator"].running) == ("EXITED", False)
    assert rows["orchestrator"].session_id == "$0" and pane.waiting
    os.makedirs(project.state_dir, exist_ok=True)
    with open(StateLayout.of(project).watch("orchestrator"), "w") as handle:
        handle.write('{"state": "FATAL", "restarts": 4}\n')
    rows = {r.agent: r for r in status.rows(project, live)}
    assert rows["orchestrator"].state == "FATAL restarts=4"
