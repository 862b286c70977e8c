# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``sessions.plan`` and the session command line, against fake sessions (pure); ending an
agent against a fake server, with a real process of the agent left over (no tmux)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest
from engine_fakes import FakeServer, FakeSession, make_project

from ansible_collections.agentloops.orchestrator.plugins.module_utils import procs, sessions


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "engine-checkout" / "agents.py"
    path.parent.mkdir()
    path.write_text("# the engine CLI\n")
    return str(path)


def own(project, name, sid="$1"):
    return FakeSession("u-" + name, sid, sessions.owner_of(project))


def verbs(actions):
    return [(a.agent.name, a.verb, a.reason) for a in actions]


def test_start_from_nothing_skips_disabled_and_unsupported_and_puts_the_watchdog_last(project):
    planned = sessions.plan(project, {}, project.select(None), "started")
    assert [(n, v) for n, v, _r in verbs(planned)] == [
        ("worker", "start"), ("helper", "start"), ("spare", "skip"), ("looper", "skip"), ("watchdog", "skip")]
    reasons = {n: r for n, _v, r in verbs(planned)}
    assert reasons["spare"] == "disabled in config"
    assert reasons["looper"].startswith("loop agents need the engine's runner: no engine checkout at ")
    assert reasons["watchdog"].startswith("the builtin watchdog needs the engine: no engine checkout at ")
    assert [a.session for a in planned][:2] == ["u-worker", "u-helper"]
    assert [a.agent.name for a in sessions.cannot_start(planned)] == ["looper", "watchdog"], "disabled is an intent"
    assert sessions.cannot_start_lines(planned)[0].startswith("looper: loop agents need the engine's runner: ")


def test_a_running_agent_this_engine_cannot_start_is_running_not_a_failure(project, tmp_path):
    """A watchdog the CLI started (it has an agents.py) runs; a module (no engine checkout)
    starting the project leaves it be. Restarting it is what this engine cannot do."""
    live = {"u-watchdog": FakeSession("u-watchdog", "$1", sessions.owner_of(project))}
    (started,) = sessions.plan(project, live, project.select(["watchdog"]), "started")
    assert (started.verb, started.reason, started.cannot_start) == ("none", "already running", False)
    (restart,) = sessions.plan(project, live, project.select(["watchdog"]), "restarted")
    assert (restart.verb, restart.cannot_start) == ("skip", True)
    assert [a.cannot_start for a in sessions.plan(project, live, project.select(None), "stopped")] == [False] * 5


def test_an_engine_script_makes_runner_agents_and_builtins_startable(project, script, tmp_path):
    planned = sessions.plan(project, {}, project.select(None), "started", script)
    assert {n: v for n, v, _r in verbs(planned)} == {
        "worker": "start", "helper": "start", "spare": "skip", "looper": "start", "watchdog": "start"}
    missing = sessions.plan(project, {}, project.select(["looper"]), "started", str(tmp_path / "nope.py"))
    assert missing[0].verb == "skip", "a script that does not exist is no engine"


def test_started_leaves_running_agents_and_restarted_restarts_them(project):
    live = {"u-worker": own(project, "worker", "$7")}
    (started,) = sessions.plan(project, live, project.select(["worker"]), "started")
    assert (started.verb, started.reason, started.session_id) == ("none", "already running", "$7")
    assert not started.changes
    (restarted,) = sessions.plan(project, live, project.select(["worker"]), "restarted")
    assert (restarted.verb, restarted.session_id) == ("restart", "$7") and restarted.changes


def test_stopped_stops_what_runs_and_nothing_else(project):
    live = {"u-worker": own(project, "worker", "$7"), "u-spare": own(project, "spare", "$8")}
    planned = sessions.plan(project, live, project.select(None), "stopped")
    assert verbs(planned) == [("worker", "stop", ""), ("helper", "none", "not running"), ("spare", "stop", ""),
                              ("looper", "none", "not running"), ("watchdog", "none", "not running")]
    assert [a.agent.name for a in planned] == [a.name for a in project.agents], "config order when stopping"


@pytest.mark.parametrize("state", sessions.STATES)
def test_another_configs_session_is_skipped_whatever_the_state(project, state):
    live = {"u-worker": FakeSession("u-worker", "$7", "/elsewhere/agents.toml")}
    (action,) = sessions.plan(project, live, project.select(["worker"]), state)
    assert (action.verb, action.reason) == ("skip", "session u-worker belongs to /elsewhere/agents.toml")
    assert action.session_id == ""


def test_another_projects_session_is_a_conflict_naming_its_owner(project):
    live = {"u-worker": FakeSession("u-worker", "$7", "/elsewhere/agents.toml"),
            "u-helper": FakeSession("u-helper", "$8", project_id="f" * 32)}
    worker, helper = sessions.plan(project, live, project.select(["worker", "helper"]), "started")
    assert (worker.verb, worker.conflict) == ("skip", "/elsewhere/agents.toml")
    assert (helper.verb, helper.conflict) == ("skip", "project " + "f" * 32), "an id of another project is foreign"


def test_an_untagged_session_runs_for_up_but_is_stopped_or_restarted_only_when_adopted(project):
    live = {"u-worker": FakeSession("u-worker", "$7", "")}
    (started,) = sessions.plan(project, live, project.select(["worker"]), "started")
    assert (started.verb, started.reason, started.conflict) == ("none", "already running", "")
    for state in ("stopped", "restarted"):
        (left,) = sessions.plan(project, live, project.select(["worker"]), state)
        assert left.verb == "skip" and "--adopt" in left.reason and not left.conflict
    (stop,) = sessions.plan(project, live, project.select(["worker"]), "stopped", adopt=True)
    (restart,) = sessions.plan(project, live, project.select(["worker"]), "restarted", adopt=True)
    assert (stop.verb, restart.verb) == ("stop", "restart")


def test_the_project_id_is_made_once_and_kept(project):
    assert sessions.read_project_id(project) == "" and sessions.owner_of(project).project_id == ""
    made = sessions.ensure_project_id(project)
    assert len(made) == 32 and sessions.ensure_project_id(project) == made == sessions.owner_of(project).project_id
    with open(os.path.join(project.state_dir, "project-id"), "w") as handle:
        handle.write("not an id\n")
    assert sessions.read_project_id(project) == "", "garbage is no identity"


def test_a_session_with_the_projects_id_is_its_own_wherever_its_config_was(project, tmp_path):
    pid = sessions.ensure_project_id(project)
    moved = FakeSession("u-worker", "$7", str(tmp_path / "gone" / "agents.toml"), project_id=pid)
    (action,) = sessions.plan(project, {"u-worker": moved}, project.select(["worker"]), "stopped")
    assert action.verb == "stop", "a moved project keeps its sessions"
    copy = tmp_path / "copy.toml"
    copy.write_text("")
    copied = FakeSession("u-worker", "$7", str(copy), project_id=pid)
    (action,) = sessions.plan(project, {"u-worker": copied}, project.select(["worker"]), "stopped")
    assert action.conflict == str(copy), "the same id from a config that still exists elsewhere is a copy's"


def test_a_session_tagged_with_the_config_as_given_is_its_own(project, tmp_path):
    real = tmp_path / "real.toml"
    os.rename(project.config_path, real)
    os.symlink(real, project.config_path)
    old = FakeSession("u-worker", "$7", project.config_path)  # tagged before agents.toml became a symlink
    (action,) = sessions.plan(project, {"u-worker": old}, project.select(["worker"]), "stopped")
    assert action.verb == "stop"
    assert sessions.owner_of(project).config == str(real)


def test_orphans_are_the_projects_tagged_sessions_no_longer_in_its_config(project):
    live = {"u-gone": own(project, "gone", "$9"), "u-worker": own(project, "worker", "$7"),
            "u-hand": FakeSession("u-hand", "$10"), "u-other": FakeSession("u-other", "$11", "/x/agents.toml")}
    assert [s.name for s in sessions.orphans(project, live)] == ["u-gone"]
    planned = sessions.plan(project, live, project.select(None), "stopped", stop_orphans=True)
    assert [(a.session, a.verb, a.orphan, a.agent.name) for a in planned if a.orphan] == [
        ("u-gone", "stop", True, "gone")]
    assert not any(a.orphan for a in sessions.plan(project, live, project.select(None), "stopped"))


def test_running_elsewhere_names_the_other_server_only_when_its_sessions_run(project, monkeypatch):
    assert sessions.running_elsewhere(project, FakeServer()) == ("", [])
    other = FakeServer(own(project, "worker", "$3"), FakeSession("u-helper", "$4"))
    monkeypatch.setattr(sessions, "TmuxServer", lambda socket, tmux_bin="tmux": other)
    os.makedirs(project.state_dir)
    sessions.record_server(project, type("S", (), {"socket": "/run/a.sock"})())
    assert sessions.read_server(project) == "/run/a.sock"
    assert sessions.running_elsewhere(project, FakeServer()) == ("/run/a.sock", ["u-worker"])
    other.live.clear()
    assert sessions.running_elsewhere(project, FakeServer()) == ("/run/a.sock", [])


def test_unknown_state_is_refused(project):
    with pytest.raises(ValueError, match="state must be one of started, stopped, restarted"):
        sessions.plan(project, {}, project.select(None), "paused")


def test_actions_are_data(project):
    (action,) = sessions.plan(project, {}, project.select(["helper"]), "started")
    assert action.as_dict() == {"agent": "helper", "session": "u-helper", "action": "start", "reason": "",
                                "ended": 0, "conflict": "", "orphan": False, "cannot_start": False}
    assert action == sessions.Action(project.agent("helper"), "u-helper", "start")


def test_command_for_runs_the_given_engine_for_runner_agents(project, script):
    looper = project.agent("looper")
    assert sessions.command_for(project, looper, engine_script=script) == "exec %s %s --config %s run-agent looper" % (
        sys.executable, script, project.config_path)
    assert sessions.command_for(project, project.agent("helper"), engine_script=script) == "exec sleep 100000"
    assert sessions.command_for(project, project.agent("worker")) == "echo '[demo] agent up' ; exec sleep 1000000"


# -- what an agent's terminal gets --------------------------------------------------------

CALLER = {"PATH": "/usr/bin:/bin", "HOME": "/home/op", "USER": "op", "LOGNAME": "op", "SHELL": "/bin/bash",
          "LANG": "C.UTF-8", "LANGUAGE": "en", "LC_ALL": "C.UTF-8", "LC_TIME": "en_GB.UTF-8", "TZ": "UTC",
          "TMPDIR": "/tmp/op", "AWX_SECRET_X": "s3cret", "TERM": "xterm-kitty", "COLORTERM": "truecolor",
          "PWD": "/somewhere/else", "OLDPWD": "/before", "TMUX": "/tmp/tmux-0/default,1,0", "TMUX_PANE": "%3",
          "ANSIBLE_CONFIG": "/x/ansible.cfg", "SSH_AUTH_SOCK": "/run/agent.sock", "BLC_X": "not LC_"}
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PASSED = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_ALL", "LC_TIME", "TZ", "TMPDIR")


def env_project(tmp_path, body="", project_table=""):
    return make_project(tmp_path, '[project]\nname = "unit"\nsession_prefix = "u-"\n%s\n'
                                  '[agents.a]\nkind = "service"\ncommand = "exec sleep 100"\n%s\n'
                                  '[agents.b]\nkind = "service"\ncommand = "x"\npass_env = ["B_ONLY"]\n'
                                  '[agents.watchdog]\nkind = "service"\nbuiltin = "watchdog"\n'
                                  'pass_env = ["W_ONLY"]\n' % (project_table, body))


def test_an_agent_gets_only_the_allow_list_of_its_callers_environment(project):
    env = sessions.environment_for(project, project.agent("worker"), dict(CALLER))
    identity = {"AGENTLOOPS_PROJECT": "unit", "AGENTLOOPS_AGENT": "worker", "AGENTLOOPS_CONFIG": project.config_path,
                "AGENTLOOPS_STATE_DIR": project.state_dir, "AGENTLOOPS_LOG_DIR": project.log_dir}
    assert env == {**{k: CALLER[k] for k in PASSED}, **identity, "PWD": project.root}


def test_the_allow_list_is_one_constant_documented_in_the_module_and_the_readme():
    assert sessions.CALLER_ENV[:10] == ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_*",
                                        "TZ", "TMPDIR")
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    agents_toml = readme[readme.index("### agents.toml"):readme.index("## Testing")]
    for name in sessions.CALLER_ENV:
        assert name in sessions.__doc__, name
        assert "`%s`" % name in agents_toml, name


def test_pass_env_adds_the_callers_variables_it_names(tmp_path):
    project = env_project(tmp_path, 'pass_env = ["SSH_AUTH_SOCK", "ABSENT", "ANSIBLE_CONFIG"]')
    env = sessions.environment_for(project, project.agent("a"), dict(CALLER))
    assert env["SSH_AUTH_SOCK"] == "/run/agent.sock" and env["ANSIBLE_CONFIG"] == "/x/ansible.cfg"
    assert "ABSENT" not in env and "AWX_SECRET_X" not in env


def test_the_watchdog_gets_every_agents_pass_env_to_restart_them_with(tmp_path):
    project = env_project(tmp_path, 'pass_env = ["SSH_AUTH_SOCK"]')
    caller = dict(CALLER, B_ONLY="b", W_ONLY="w")
    watchdog_env = sessions.environment_for(project, project.agent("watchdog"), caller)
    assert {k: watchdog_env.get(k) for k in ("SSH_AUTH_SOCK", "B_ONLY", "W_ONLY")} == {
        "SSH_AUTH_SOCK": "/run/agent.sock", "B_ONLY": "b", "W_ONLY": "w"}
    # what the watchdog then hands on when it restarts b (its environment is the caller now)
    b_env = sessions.environment_for(project, project.agent("b"), watchdog_env)
    assert b_env["B_ONLY"] == "b" and "SSH_AUTH_SOCK" not in b_env and "W_ONLY" not in b_env
    assert b_env["AGENTLOOPS_AGENT"] == "b" and "AWX_SECRET_X" not in b_env


def test_a_leading_tilde_is_the_home_of_the_env_table_when_it_sets_one(tmp_path):
    project = env_project(tmp_path, '[agents.a.env]\nHOME = "/srv/agent-home"\nCFG = "~/.cfg"\nTOP = "~"\n'
                                    'MID = "a~b"\nOTHER = "~root/x"\nPLAIN = "~x"')
    env = sessions.environment_for(project, project.agent("a"), dict(CALLER))
    assert (env["HOME"], env["CFG"], env["TOP"], env["MID"]) == ("/srv/agent-home", "/srv/agent-home/.cfg",
                                                                 "/srv/agent-home", "a~b")
    assert env["OTHER"] == os.path.expanduser("~root/x"), "~user is the system's"


def test_a_leading_tilde_is_the_callers_home_otherwise(tmp_path):
    project = env_project(tmp_path, '[agents.a.env]\nCFG = "~/.cfg"')
    assert sessions.environment_for(project, project.agent("a"), dict(CALLER))["CFG"] == "/home/op/.cfg"
    project = env_project(tmp_path, '[agents.a.env]\nHOME = "~/agents/a"\nCFG = "~/.cfg"')
    env = sessions.environment_for(project, project.agent("a"), dict(CALLER))
    assert (env["HOME"], env["CFG"]) == ("/home/op/agents/a", "/home/op/agents/a/.cfg")


def test_pwd_is_the_project_folder_whatever_the_caller_or_config_says(tmp_path):
    project = env_project(tmp_path, '[agents.a.env]\nPWD = "/elsewhere"')
    assert sessions.environment_for(project, project.agent("a"), dict(CALLER))["PWD"] == project.root


def test_the_env_file_holds_the_agents_environment_and_no_caller_secret(tmp_path, monkeypatch):
    project = env_project(tmp_path, 'pass_env = ["SSH_AUTH_SOCK"]\n[agents.a.env]\nAPI_KEY = "it\'s $(x)"',
                          'window_size = "120x40"')
    monkeypatch.setattr(os, "environ", dict(CALLER))
    server = FakeServer()
    sessions.start_session(project, server, project.agent("a"))
    text = open(os.path.join(project.state_dir, "a.env"), encoding="utf-8").read()
    exported = dict(line[len("export "):].split("=", 1) for line in text.splitlines())
    expected = sessions.environment_for(project, project.agent("a"), dict(CALLER), server)
    assert exported == {k: shlex.quote(v) for k, v in expected.items()}
    assert {"AWX_SECRET_X", "TERM", "COLORTERM", "OLDPWD", "TMUX", "TMUX_PANE"}.isdisjoint(exported)
    assert exported["PWD"] == shlex.quote(project.root) and exported["API_KEY"] == shlex.quote("it's $(x)")
    assert "s3cret" not in text
    ((name, command, cwd, identity, _owner),) = server.started
    assert (name, cwd, server.sizes) == ("u-a", project.root, [(120, 40)])
    assert identity == {k: v for k, v in expected.items() if k.startswith("AGENTLOOPS_")}
    assert command == sessions.session_command(os.path.join(project.state_dir, "a.env"), "exec sleep 100")


def test_sessions_get_a_200x50_window_by_default(project):
    server = FakeServer()
    sessions.start_session(project, server, project.agent("helper"))
    assert server.sizes == [(200, 50)]


def test_the_session_command_starts_a_shell_with_only_the_panes_own_variables(tmp_path):
    """Run the session command as tmux would (``$SHELL -c``) in a pane's environment: the
    server's global environment (a caller's secret, TERM, COLORTERM) is gone; TERM, TMUX and
    TMUX_PANE are the pane's; the rest is the env file's."""
    env_file = tmp_path / "a.env"
    env_file.write_text("export PATH=/usr/bin:/bin\nexport PWD=%s\nexport KEY='v a l'\n" % shlex.quote(str(tmp_path)))
    out = tmp_path / "env.out"
    pane = {"SHELL": "/bin/sh", "TERM": "tmux-256color", "TMUX": "/s,1,0", "TMUX_PANE": "%7", "COLORTERM": "truecolor",
            "AWX_SECRET_X": "s3cret", "PATH": os.environ["PATH"], "PWD": "/elsewhere"}
    command = sessions.session_command(str(env_file), "exec env > %s" % shlex.quote(str(out)))
    subprocess.run(["/bin/sh", "-c", command], env=pane, cwd=tmp_path, check=True)
    seen = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert {k: seen.get(k) for k in ("TERM", "TMUX", "TMUX_PANE", "KEY", "PWD", "PATH")} == {
        "TERM": "tmux-256color", "TMUX": "/s,1,0", "TMUX_PANE": "%7", "KEY": "v a l", "PWD": str(tmp_path),
        "PATH": "/usr/bin:/bin"}
    assert "AWX_SECRET_X" not in seen and "COLORTERM" not in seen


def test_the_window_size_of_the_project_is_passed_to_tmux(tmp_path):
    from engine_fakes import CONFIG

    sized = CONFIG.replace('session_prefix = "u-"\n', 'session_prefix = "u-"\nwindow_size = "120x40"\n')
    project = make_project(tmp_path, sized)
    server = FakeServer()
    sessions.start_session(project, server, project.agent("helper"))
    assert server.sizes == [(120, 40)]


def test_stopping_an_agent_ends_what_it_left_running(project):
    env = dict(os.environ, AGENTLOOPS_CONFIG=project.config_path, AGENTLOOPS_AGENT="worker")
    daemon = subprocess.Popen(["sh", "-c", "echo ready; exec sleep 1000"], env=env, stdout=subprocess.PIPE,
                              start_new_session=True)  # setsid away: tmux's hangup never reaches it
    other = subprocess.Popen(["sh", "-c", "echo ready; exec sleep 1000"], stdout=subprocess.PIPE,
                             env=dict(env, AGENTLOOPS_AGENT="helper"), start_new_session=True)
    try:
        for child in (daemon, other):
            assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        server = FakeServer(own(project, "worker", "$3"))
        actions = sessions.plan(project, server.sessions(), project.select(["worker"]), "stopped")
        (done,) = sessions.execute(project, server, actions, desired="stopped")
        assert server.killed == ["$3"]
        assert done.ended == 1 and done.as_dict()["ended"] == 1
        assert daemon.wait(5) < 0, "ended by a signal"
        assert other.poll() is None, "another agent's process is left alone"
        assert procs.agent_processes(project.config_path, "helper") == {other.pid: procs.read_stat(other.pid).start}
    finally:
        for child in (daemon, other):
            if child.poll() is None:
                child.kill()
                child.wait()


def test_every_broken_kickoff_is_reported_one_line_per_agent(tmp_path, script):
    """Not only the first: an unreadable or non-UTF-8 kickoff used to stop the check there."""
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import config
    from ansible_collections.agentloops.orchestrator.plugins.module_utils.kickoff import KickoffError

    agents = "".join('[agents.%s]\nkind = "task"\nbackend = "demo"\nkickoff = "%s.md"\n' % (n, n)
                     for n in ("fine", "missing", "placeholder", "latin1", "bom"))
    (tmp_path / "agents.toml").write_text('[project]\nname = "k"\n' + agents)
    (tmp_path / "fine.md").write_text("ok {{ agent }}\n")
    (tmp_path / "placeholder.md").write_text("hi {{ nobody }}\n")
    (tmp_path / "latin1.md").write_bytes("caf\u00e9\n".encode("latin-1"))
    (tmp_path / "bom.md").write_bytes(b"\xef\xbb\xbfhi\n")
    project = config.load(str(tmp_path / "agents.toml"))
    with pytest.raises(KickoffError) as info:
        sessions.plan(project, {}, project.select(None), "started", script)
    lines = str(info.value).split("\n")
    assert lines[0] == "4 kickoff(s) cannot be rendered, nothing started:"
    assert [line.split(":", 1)[0] for line in lines[1:]] == ["  missing", "  placeholder", "  latin1", "  bom"]
    assert "not found: %s" % (tmp_path / "missing.md") in lines[1]
    assert "placeholder.md:1:4: unknown placeholder {{ nobody }}" in lines[2]
    assert "latin1.md:1:1: not valid UTF-8" in lines[3] and "bom.md:1:1: starts with a byte order mark" in lines[4]
    assert [a.verb for a in sessions.plan(project, {}, project.select(["fine"]), "started", script)] == ["start"]


class BatchServer(FakeServer):
    """A fake whose ``start_many`` is one batch (kept), refusing the names in ``taken`` as
    tmux refuses a duplicate, the others started."""

    def __init__(self, *live, taken=()) -> None:
        super().__init__(*live)
        self.batches: list = []
        self.taken = set(taken)

    def start_many(self, specs: list) -> list:
        from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import TmuxSessionExists

        self.batches.append([s.name for s in specs])
        out: list = []
        for s in specs:
            if s.name in self.taken:
                out.append(TmuxSessionExists("tmux server -L fake: cannot start session %s: duplicate session: %s"
                                             % (s.name, s.name)))
            else:
                out.append(self.start(s.name, s.command, s.cwd, dict(s.environment), owner=s.owner, options=s.options,
                                      window_options=s.window_options))
        return out


def test_execute_starts_every_agent_in_one_batch_with_its_id(tmp_path, script):
    text = "".join('[agents.a%02d]\nkind = "persistent"\nbackend = "demo"\n' % i for i in range(20))
    project = make_project(tmp_path, '[project]\nsession_prefix = "u-"\n' + text)
    server = BatchServer(own(project, "a05", "$5"))
    reported: list = []
    actions = sessions.plan(project, server.sessions(), list(project.agents), "restarted", script)
    done = sessions.execute(project, server, actions, report=reported.append, desired="restarted")
    assert server.batches == [["u-a%02d" % i for i in range(20)]] and server.killed == ["$5"]
    assert [a.session for a in reported] == ["u-a%02d" % i for i in range(20)] == [a.session for a in done]
    assert [a.session_id for a in done] == [server.live[a.session].id for a in done]
    assert all(s.owner == project.config_path and s.project_id == sessions.read_project_id(project)
               for s in server.live.values())


def test_a_duplicate_in_the_batch_is_that_agents_error_after_the_others_started(project):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import TmuxSessionExists

    server = BatchServer(taken={"u-worker"})
    agents = [project.agent("worker"), project.agent("helper")]
    actions = sessions.plan(project, {}, agents, "started")
    with pytest.raises(TmuxSessionExists, match="^tmux server -L fake: cannot start session u-worker: duplicate"):
        sessions.execute(project, server, actions, desired="started")
    assert server.batches == [["u-worker", "u-helper"]] and list(server.live) == ["u-helper"]
    assert [a.session_id for a in actions] == ["", server.live["u-helper"].id]


def test_several_refused_starts_are_one_error_naming_each(project):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import TmuxSessionExists

    server = BatchServer(taken={"u-worker", "u-helper"})
    actions = sessions.plan(project, {}, [project.agent("worker"), project.agent("helper")], "started")
    with pytest.raises(TmuxSessionExists) as caught:
        sessions.execute(project, server, actions, desired="started")
    assert str(caught.value).splitlines() == [
        "2 start(s) failed:", "tmux server -L fake: cannot start session u-worker: duplicate session: u-worker",
        "tmux server -L fake: cannot start session u-helper: duplicate session: u-helper"]


def test_an_env_file_that_cannot_be_written_fails_only_its_agent(project, monkeypatch):
    real = sessions.atomic_write

    def refuse(path, *args, **kwargs):
        if path.endswith("worker.env"):
            raise sessions.OrchestratorError("cannot write %s: Read-only file system" % path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(sessions, "atomic_write", refuse)
    server = BatchServer()
    ids = sessions.start_sessions(project, server, [project.agent("worker"), project.agent("helper")])
    assert isinstance(ids[0], sessions.OrchestratorError) and ids[1] == server.live["u-helper"].id
    assert server.batches == [["u-helper"]]


def test_an_unchanged_env_file_is_not_written_again_a_changed_or_loose_one_is(project):
    server = FakeServer()
    path = os.path.join(project.state_dir, "helper.env")
    sessions.start_session(project, server, project.agent("helper"))
    first = os.stat(path)
    sessions.start_session(project, FakeServer(), project.agent("helper"))
    assert os.stat(path).st_ino == first.st_ino, "the same text: no write (no fsync) on a restart"
    os.chmod(path, 0o644)
    sessions.start_session(project, FakeServer(), project.agent("helper"))
    assert oct(os.stat(path).st_mode & 0o777) == "0o600" and os.stat(path).st_ino != first.st_ino
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("export EXTRA=1\n")
    sessions.start_session(project, FakeServer(), project.agent("helper"))
    assert "EXTRA" not in open(path, encoding="utf-8").read()


def test_starts_that_all_failed_alike_are_one_line(project):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import TmuxNoServer

    class Gone(BatchServer):
        def start_many(self, specs: list) -> list:
            out = []
            for s in specs:
                error = TmuxNoServer("tmux server -L fake: cannot start session %s: no server running" % s.name)
                error.detail = "no server running"
                out.append(error)
            return out

    actions = sessions.plan(project, {}, [project.agent("worker"), project.agent("helper")], "started")
    with pytest.raises(TmuxNoServer) as caught:
        sessions.execute(project, Gone(), actions, desired="started")
    assert str(caught.value).splitlines() == [
        "2 start(s) failed:",
        "tmux server -L fake: cannot start session u-worker: no server running (the same for u-helper)"]


def test_persistent_agents_the_watchdog_heals_run_under_a_keeper_and_no_other(project):
    kept = {a.name for a in project.agents if sessions.keeps(a)}
    assert kept == {a.name for a in project.agents
                    if a.kind == "persistent" and a.watch in ("heal", "heal+stall") and not a.is_service}
    for agent in project.agents:
        server = FakeServer()
        if agent.is_service or agent.builtin:
            continue
        spec = sessions.new_session(project, server, agent, "", sessions.start_owner(project), False)
        assert ("agentloops-keeper.sh" in spec.command) is (agent.name in kept), agent.name


def run_keeper(tmp_path, layout, agent, command):
    """The keeper's session command run as tmux would run it (``$SHELL -c``, a pane's
    environment), without tmux: its agent's output lands in the file ``command`` writes."""
    text = sessions.keeper_command(layout, agent, command)
    pane = {"SHELL": "/bin/sh", "TERM": "tmux-256color", "TMUX": "/s,1,0", "TMUX_PANE": "%7",
            "AWX_SECRET_X": "s3cret", "PATH": os.environ["PATH"]}
    return subprocess.Popen(["/bin/sh", "-c", text], env=pane, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def tell_when_waiting(layout, agent, word, proc, before=lambda: None):
    """Tell the keeper ``word`` once it says its agent ended (and waits: a word written while
    it still reads the one before is lost with the pipe, which only a second word risks);
    ``before`` runs just before, while it waits (as the watchdog writes a restart's files)."""
    import time

    while True:
        line = proc.stdout.readline().decode()
        assert line, "the keeper ended"
        if line.startswith(sessions.KEEPER_SAYS):
            break
    before()
    deadline = time.monotonic() + 10
    while not sessions.tell_keeper(layout, agent, word):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    return line[len(sessions.KEEPER_SAYS):].strip()


def test_a_keeper_runs_its_agent_from_its_files_again_on_run_and_ends_with_its_status_on_stop(tmp_path):
    """No tmux: the keeper's own loop. Each run sources the env file and runs the command
    file as they are then (a restart runs what agents.toml says now), in an environment of
    the pane's own variables and the env file's only; any word but ``run`` ends the keeper
    with the status its agent ended with."""
    from engine_fakes import CONFIG

    project = make_project(tmp_path, CONFIG)
    layout = sessions.StateLayout.of(project)
    os.makedirs(layout.state_dir, exist_ok=True)
    agent = project.agent("worker")
    out = tmp_path / "runs.out"
    with open(layout.env(agent), "w") as handle:
        handle.write("export KEY='v a l'\n")
    proc = run_keeper(tmp_path, layout, agent, "env >> %s; echo run-1 >> %s; exit 3" % (out, out))
    try:
        assert tell_when_waiting(layout, agent, "run", proc) == "3"

        def rewrite():  # what agents.toml says now, written before a restart
            with open(layout.command(agent), "w") as handle:
                handle.write("echo run-2 >> %s; exit 4\n" % out)

        assert tell_when_waiting(layout, agent, "run", proc, rewrite) == "3"
        assert tell_when_waiting(layout, agent, "stop", proc) == "4"
        assert proc.wait(timeout=10) == 4
    finally:
        if proc.poll() is None:
            proc.kill()
    text = out.read_text()
    assert text.count("run-1") == 2 and text.count("run-2") == 1 and text.index("run-1") < text.index("run-2")
    seen = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert seen["KEY"] == "v a l" and seen["TMUX_PANE"] == "%7" and seen["TERM"] == "tmux-256color"
    assert "AWX_SECRET_X" not in seen and "SHELL" not in seen, seen


def test_a_keeper_is_told_nothing_unless_it_waits_on_a_fifo_of_its_own(project, tmp_path):
    layout = sessions.StateLayout.of(project)
    os.makedirs(layout.state_dir, exist_ok=True)
    agent = project.agent("worker")
    assert not sessions.tell_keeper(layout, agent, "run"), "no FIFO"
    sessions.ensure_fifo(layout.keeper(agent))
    assert not sessions.tell_keeper(layout, agent, "run"), "nobody reads it"
    os.remove(layout.keeper(agent))
    with open(layout.keeper(agent), "w") as handle:
        handle.write("a file of someone's\n")
    assert not sessions.tell_keeper(layout, agent, "run")
    sessions.ensure_fifo(layout.keeper(agent))  # what is not a private FIFO of ours is made one
    import stat as stat_

    info = os.lstat(layout.keeper(agent))
    assert stat_.S_ISFIFO(info.st_mode) and stat_.S_IMODE(info.st_mode) == 0o600
    os.remove(layout.keeper(agent))
    os.symlink(str(tmp_path / "elsewhere"), layout.keeper(agent))
    assert not sessions.tell_keeper(layout, agent, "run"), "a symlink is not followed"
    assert not (tmp_path / "elsewhere").exists()


def test_the_keeper_shell_is_a_symlink_to_bin_sh_put_back_when_it_is_not(project):
    layout = sessions.StateLayout.of(project)
    os.makedirs(layout.state_dir, exist_ok=True)
    sessions.ensure_symlink(layout.keeper_shell, "/bin/sh")
    assert os.readlink(layout.keeper_shell) == "/bin/sh"
    os.remove(layout.keeper_shell)
    os.symlink("/bin/false", layout.keeper_shell)
    sessions.ensure_symlink(layout.keeper_shell, "/bin/sh")
    assert os.readlink(layout.keeper_shell) == "/bin/sh"
    assert sorted(os.listdir(layout.state_dir)) == ["agentloops-keeper"], "no temp left behind"


def test_up_starts_afresh_an_agent_whose_keeper_waits(project):
    sess = own(project, "worker")
    sess.panes[0].dead = sess.panes[0].waiting = True
    (action,) = sessions.plan(project, {"u-worker": sess}, [project.agent("worker")], "started")
    assert (action.verb, action.reason) == (sessions.RESTART, "its agent ended")
    sess.panes[0].dead = sess.panes[0].waiting = False
    (action,) = sessions.plan(project, {"u-worker": sess}, [project.agent("worker")], "started")
    assert (action.verb, action.reason) == (sessions.NONE, "already running")


def test_an_agent_that_died_at_start_under_its_keeper_reports_its_exit_status(project):
    screen = "booting\nno such model\n\n%s 3\n" % sessions.KEEPER_SAYS
    text = sessions._failure(project, project.agent("worker"), 2.0, None, screen)
    assert "(exit 3)" in text and "no such model" in text and sessions.KEEPER_SAYS not in text


def test_an_agent_runs_again_in_its_session_only_while_agents_toml_still_gives_it_that_keeper(project):
    sess = own(project, "worker")
    sess.panes[0].dead = sess.panes[0].waiting = True
    assert sessions.in_place(project, project.agent("worker"), sess)
    sess.program = "claude claude"  # the session of another program: a new session carries the change
    assert not sessions.in_place(project, project.agent("worker"), sess)
    sess.program = ""
    assert not sessions.in_place(project, project.agent("looper"), sess), "a loop runs without a keeper"
    sess.panes[0].waiting = False
    assert not sessions.in_place(project, project.agent("worker"), sess), "its agent runs (or tmux's pane died)"


def test_the_keepers_script_names_the_agents_files_as_layout_does(project):
    layout = sessions.StateLayout.of(project)
    prefix = os.path.join(layout.state_dir, "worker")
    for path, spelled in ((layout.env("worker"), '$0.env'), (layout.command("worker"), '"$agent.command"'),
                          (layout.keeper("worker"), '"$agent.keeper"'), (layout.jobs("worker"), '"$agent.jobs"')):
        assert path.startswith(prefix) and spelled.replace("$0", "").replace('"$agent', "").rstrip('"') == \
            path[len(prefix):], path
        assert spelled in sessions.KEEPER_SCRIPT


def test_what_is_left_in_a_keepers_terminal_is_ended_but_the_keeper_this_process_and_other_agents(project):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils.procs import AGENT_VAR, ProcStat

    me = os.getpid()
    table = {
        10: (ProcStat(10, 1, "S", 100, 10), {}),  # the keeper
        11: (ProcStat(11, 10, "S", 101, 10), {AGENT_VAR: b"worker"}),  # the agent's leftover
        12: (ProcStat(12, 11, "S", 102, 10), {}),  # one that dropped its identity
        13: (ProcStat(13, 10, "S", 103, 10), {AGENT_VAR: b"other"}),  # another agent's
        14: (ProcStat(14, 10, "Z", 104, 10), {}),  # a zombie
        15: (ProcStat(15, 1, "S", 105, 99), {}),  # another terminal's
        me: (ProcStat(me, 10, "S", 106, 10), {}),  # this process
    }
    assert sessions._left_in_terminal(project.agent("worker"), 10, table) == {11: 101, 12: 102}
