# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""testinfra, after the real cutover (and its idempotent second run): the managed project runs
the cc-ci namespace with one watchdog, the phase kept, the launcher re-pointed with its rollback
copy, the production log_dir, the fleet entry enabled, and evidence of what changed."""

import glob
import os
import tomllib

SOCKET = "agentloops-molecule-cutover"
WORK = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "world")
LIVE = os.path.join(WORK, "srv", "cc-ci", "cc-ci-plan")
PROJECT = os.path.join(WORK, "loops", "cc-ci")


def processes():
    out = []
    for entry in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(entry, "rb") as handle:
                out.append(handle.read().split(b"\0"))
        except OSError:
            continue
    return [[a.decode() for a in argv if a] for argv in out]


def watchdogs(config):
    return [argv for argv in processes()
            if argv and argv[-1] == "watchdog" and "--config" in argv and argv[argv.index("--config") + 1] == config]


def sessions(host):
    cmd = host.run("tmux -L %s list-panes -a -F '#{session_name} #{session_id} #{session_created} #{pane_pid}'",
                   SOCKET)
    assert cmd.rc == 0, cmd.stderr
    return {line.split()[0]: line.split()[1:] for line in cmd.stdout.splitlines()}


def test_exactly_one_watchdog_and_it_is_the_projects():
    project = watchdogs(os.path.join(PROJECT, "agents.toml"))
    assert len(project) == 1 and project[0][1] == os.path.join(PROJECT, "engine", "agents.py")
    assert watchdogs(os.path.join(LIVE, "agents.toml")) == []


def test_the_live_sessions_were_replaced_by_the_projects(host):
    now = sessions(host)
    assert sorted(now) == ["cc-ci-adversary", "cc-ci-builder", "cc-ci-cleanlogs", "cc-ci-orchestrator",
                           "cc-ci-watchdog"]
    with open(os.path.join(WORK, "own-before.txt"), encoding="utf-8") as handle:
        before = handle.read().split("# tmux\n")[1].split("# watchdogs\n")[0].splitlines()
    # tmux numbers sessions afresh when its server restarts (it exits with its last session),
    # so the pane pids tell old from new
    old_pids = {line.split()[4] for line in before}
    assert old_pids and not old_pids & {v[2] for v in now.values()}


def test_phase_kept_in_the_project_and_in_the_live_state():
    for root in (PROJECT, LIVE):
        with open(os.path.join(root, "state", "phase-idx"), encoding="utf-8") as handle:
            assert handle.read() == "2\n"


def test_launcher_repointed_with_a_rollback_copy():
    with open(os.path.join(LIVE, "launch.sh"), encoding="utf-8") as handle:
        launcher = handle.read()
    with open(os.path.join(LIVE, "launch.sh.preproject"), encoding="utf-8") as handle:
        original = handle.read()
    assert "%s/engine/agents.py --config %s/agents.toml" % (PROJECT, PROJECT) in launcher
    assert "%s/agents.py" % LIVE in original and "engine/agents.py" not in original
    assert os.stat(os.path.join(LIVE, "launch.sh")).st_mode & 0o777 == 0o755


def test_the_repointed_launcher_shows_the_managed_status(host):
    cmd = host.run("%s/launch.sh status", LIVE)
    assert cmd.rc == 0, cmd.stderr
    lines = cmd.stdout.splitlines()
    assert lines[0] == "phase: poe2e [3/3] plan=plan-phase-poe2e-end-to-end.md (in progress)"
    running = [line.split()[0] for line in lines[2:] if "RUNNING" in line]
    assert running == ["orchestrator", "builder", "adversary", "cleanlogs", "watchdog"]


def test_config_delta_and_fleet_entry():
    with open(os.path.join(PROJECT, "agents.toml"), "rb") as handle:
        assert tomllib.load(handle)["project"]["log_dir"] == os.path.join(WORK, "srv", "cc-ci", ".cc-ci-logs")
    with open(os.path.join(WORK, "loops", "fleet.toml"), "rb") as handle:
        fleet = tomllib.load(handle)
    entries = fleet["projects"] if isinstance(fleet["projects"], list) else list(fleet["projects"].values())
    assert [e.get("enabled", True) for e in entries if e.get("dir") == PROJECT] == [True]


def test_evidence_of_the_real_run_lists_the_changes():
    texts = []
    for path in sorted(glob.glob(os.path.join(WORK, "evidence", "cutover-cc-ci-*-run.md"))):
        with open(path, encoding="utf-8") as handle:
            texts.append(handle.read())
    # the refused runs of the no-touch side effect wrote reports too, with no change
    changed = [t for t in texts if "change(s)**" in t]
    assert len(changed) == 1 and "- Mode: real run" in changed[0]
    assert "session cc-ci-watchdog on tmux server -L %s: changed" % SOCKET in changed[0]
    assert "state file %s/state/phase-idx: new" % PROJECT in changed[0]
    refused = [t for t in texts if "/mismatch/agents.toml`" in t]
    assert len(refused) == 1 and "— unchanged**" in refused[0]
