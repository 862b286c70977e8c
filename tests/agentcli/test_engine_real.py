# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine (agents.py up/status/watchdog/wait/down) running the real claude and codex
CLIs, offline against the model stub: the harms of issue 13 shown fixed with the real
programs. Every project lives in the test's temp HOME and runs on a private tmux server
(a socket path in the test's tmp dir) that the test kills."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

from harness import AgentHome, CODEX_KEY, CODEX_KEY_ENV
from model_stub import ModelStub
from test_real_clis import AWKWARD_PROMPT, conversation_calls, user_texts

ENGINE = Path(__file__).resolve().parents[2] / "agents.py"


class Engine:
    """A project in the temp HOME, driven through this checkout's agents.py."""

    def __init__(self, home: AgentHome, socket: str) -> None:
        self.home = home
        self.socket = socket
        self.config = home.project / "agents.toml"

    def write(self, backends: str, agents: str, watchdog: bool = True) -> None:
        text = '[project]\nname = "rc"\nsession_prefix = "rc-"\ntmux_socket = "%s"\n\n%s\n%s\n' % (
            self.socket, backends, agents)
        if watchdog:
            text += '\n[agents.watchdog]\nkind = "service"\nbuiltin = "watchdog"\n'
        self.config.write_text(text)

    def env_table(self, stub: ModelStub, **extra: str) -> str:
        env = {k: v for k, v in self.home.env(stub.url).items() if k not in ("PATH", "TERM", "LANG")}
        env.update(extra)
        return "{ %s }" % ", ".join("%s = %s" % (k, json.dumps(v)) for k, v in sorted(env.items()))

    def run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, HOME=str(self.home.root))
        env.pop("TMUX", None)
        proc = subprocess.run([sys.executable, str(ENGINE), "--config", str(self.config), *args], env=env,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("agents.py %s: exit %d\n%s%s"
                                 % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def status_of(self, agent: str) -> str:
        for line in self.run("status").stdout.splitlines():
            if line.split(" ", 1)[0] == agent:
                return line
        raise AssertionError("no status line for %s" % agent)

    def wait_status(self, agent: str, want: Callable[[str], bool], timeout: float = 40.0, what: str = "") -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.status_of(agent)
            if want(line):
                return line
            if time.monotonic() > deadline:
                raise AssertionError("waited %.0fs for %s; status: %s\nscreen:\n%s\nevents:\n%s" % (
                    timeout, what, line, self.screen(agent), self.run("events", "0").stdout))
            time.sleep(0.5)

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, check=False).stdout

    def screen(self, agent: str) -> str:
        return self.tmux("capture-pane", "-p", "-t", "=rc-%s:" % agent)

    def events(self, agent: str) -> list[dict]:
        path = self.home.project / ".ao-state" / "events.jsonl"
        if not path.exists():
            return []
        return [e for e in (json.loads(line) for line in path.read_text().splitlines()) if e["agent"] == agent]


@pytest.fixture
def engine(tmp_path: Path, home: AgentHome) -> Iterator[Engine]:
    sock_dir = tmp_path / "s"
    sock_dir.mkdir()
    project = Engine(home, str(sock_dir / "tmux.sock"))
    yield project
    if project.config.exists():
        project.run("down", check=False)
    if os.path.exists(project.socket):
        project.tmux("kill-server")


def claude_backend(claude: str, *args: str) -> str:
    return '[backends.claude]\nbin = "%s"\nargs = %s\nmodel_arg = "--model"\nresume_arg = "--resume"\n' \
           'session_id_arg = "--session-id"\n' % (claude, json.dumps(list(args)))


def persistent(engine: Engine, stub: ModelStub, extra: str = "", stall_after: int = 2, **env: str) -> str:
    return ('[agents.orch]\nkind = "persistent"\nbackend = "claude"\nwatch = "heal+stall"\nstall_after = %d\n'
            'stall_grace = 0\nnudge_wait = 3\nenv = %s\n%s' % (stall_after, engine.env_table(stub, **env), extra))


@pytest.mark.parametrize("seed, args, dialog, marker", [
    ({"trusted": False}, (), "trust", "Quick safety check"),
    ({"key_approved": False}, (), "api-key", "Detected a custom API key"),
    ({}, ("--dangerously-skip-permissions",), "bypass-warning", "Bypass Permissions mode"),
])
def test_a_dialog_is_blocked_shown_and_never_answered(engine, home, stub, claude, seed, args, dialog, marker):
    home.claude_json(**seed)
    engine.write(claude_backend(claude, *args), persistent(engine, stub, **({"IS_SANDBOX": "1"} if args else {})))
    engine.run("up")
    line = engine.wait_status("orch", lambda s: "BLOCKED" in s, what="BLOCKED")
    assert line.endswith("BLOCKED [claude] %s" % dialog), line
    time.sleep(8)  # well past stall_after + nudge_wait: the old watchdog typed "continue" by now
    screen = engine.screen("orch")
    assert marker in screen and "continue" not in screen, screen
    assert engine.status_of("orch").endswith("BLOCKED [claude] %s" % dialog)
    kinds = [e["event"] for e in engine.events("orch")]
    assert kinds.count("blocked") == 1 and "stall" not in kinds and "heal" not in kinds, kinds
    assert engine.run("wait", "orch", "--until", "blocked", "--timeout", "5").stdout == "orch blocked:%s\n" % dialog


def test_a_configured_answer_accepts_the_trust_dialog_then_idle_is_healthy(engine, home, stub, claude):
    home.claude_json(trusted=False)
    engine.write(claude_backend(claude), persistent(engine, stub, 'answers = { trust = "accept" }\n'))
    engine.run("up")
    line = engine.wait_status("orch", lambda s: " idle " in s, what="idle after the answer")
    assert "RUNNING [claude] idle " in line
    saved = json.loads((home.root / ".claude.json").read_text())
    assert saved["projects"][str(home.project)]["hasTrustDialogAccepted"] is True
    time.sleep(7)  # an idle agent is healthy: no "continue" turn for it
    kinds = [e["event"] for e in engine.events("orch")]
    assert "answer" in kinds and "stall" not in kinds, kinds
    assert not conversation_calls(stub, "/v1/messages")
    assert engine.run("wait", "orch", "--until", "idle", "--timeout", "5").stdout == "orch idle\n"


def test_a_streaming_turn_is_working_and_a_kickoff_with_dashes_is_text(engine, home, stub, claude):
    home.claude_json()
    stub.set(reply=" ".join(["word"] * 40), chunk_chars=4, chunk_delay=0.3)
    (home.project / "kickoff.md").write_text(AWKWARD_PROMPT)
    # A turn streaming a chunk every 0.3 s is working, never a stall; stall_after = 6, not 2: on a
    # loaded host the real CLI's redraw paused for over 2 s once mid-turn (CI: stall, recovered).
    engine.write(claude_backend(claude), persistent(engine, stub, 'kickoff = "kickoff.md"\n', stall_after=6))
    engine.run("up")
    engine.wait_status("orch", lambda s: s.endswith("RUNNING [claude] working"), what="working")
    engine.wait_status("orch", lambda s: " idle " in s, timeout=60, what="idle after the turn")
    calls = conversation_calls(stub, "/v1/messages")
    assert calls and AWKWARD_PROMPT in user_texts(calls[0])
    kinds = [e["event"] for e in engine.events("orch")]
    assert "stall" not in kinds and "heal" not in kinds, kinds


def test_a_resume_id_without_a_conversation_starts_a_new_one(engine, home, stub, claude):
    home.claude_json()
    never = str(uuid.uuid4())
    state = home.project / "state"
    state.mkdir()
    (state / "orch.resume-id").write_text(never + "\n")
    engine.write(claude_backend(claude), persistent(engine, stub))
    engine.run("up")
    engine.wait_status("orch", lambda s: " idle " in s, what="idle with a fresh conversation")
    fresh = (state / "orch.resume-id").read_text().strip()
    assert fresh != never and uuid.UUID(fresh)
    resumes = [e for e in engine.events("orch") if e["event"] == "resume"]
    assert len(resumes) == 1 and never in resumes[0]["reason"], resumes
    assert not [e for e in engine.events("orch") if e["event"] in ("fatal", "backoff")]


def test_a_print_mode_loop_iterates_then_backs_off_when_the_model_fails(engine, home, stub, claude):
    home.claude_json()
    (home.project / "kickoff.md").write_text("- one item\n- another\n")
    loop = ('[agents.builder]\nkind = "loop"\nbackend = "claude"\nwatch = "heal+stall"\nkickoff = "kickoff.md"\n'
            'loop_delay = 0.5\nbackoff_max = 2\nfatal_after = 3\nstall_after = 1\nstall_grace = 0\nnudge_wait = 1\n'
            'env = %s\n' % engine.env_table(stub))
    stub.set(reply="done " * 12, chunk_chars=6, chunk_delay=0.35)  # ~4 s a run: longer than stall_after + nudge_wait
    engine.write(claude_backend(claude, "-p"), loop)
    engine.run("up")
    run = home.project / "state" / "builder.run.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (run.exists() and json.loads(run.read_text()).get("iteration", 0) >= 3):
        time.sleep(0.3)
    record = json.loads(run.read_text())
    assert record["iteration"] >= 3, record
    assert "- one item\n- another\n" in user_texts(conversation_calls(stub, "/v1/messages")[0])
    log = (home.project / ".ao-state" / "builder.log").read_text()
    assert "exit=0" in log and "exit=1" not in log, log
    assert not [e for e in engine.events("builder") if e["event"] == "stall"], "a silent -p run is no stall"
    stub.set(fail_status=500, fail_times=1000)
    engine.wait_status("builder", lambda s: "BACKOFF" in s or "FATAL" in s, timeout=60, what="BACKOFF")
    engine.wait_status("builder", lambda s: "FATAL" in s, timeout=60, what="FATAL")
    kinds = [e["event"] for e in engine.events("builder")]
    assert "stall" not in kinds, kinds  # an iteration is never killed for silence


def test_codex_shows_as_codex_and_its_login_screen_is_blocked(engine, home, stub, codex):
    # no provider configured: codex shows its login menu (a static screen the old engine restarted forever)
    env = engine.env_table(stub, **{CODEX_KEY_ENV: CODEX_KEY})
    engine.write('[backends.codex]\nbin = "%s"\nargs = ["--no-daemon"]\n' % codex,
                 '[agents.cx]\nkind = "persistent"\nbackend = "codex"\nwatch = "heal+stall"\nstall_after = 2\n'
                 'stall_grace = 0\nnudge_wait = 3\nenv = %s\n' % env)
    engine.run("up")
    line = engine.wait_status("cx", lambda s: "BLOCKED" in s, what="BLOCKED on login")
    assert line.endswith("BLOCKED [codex] login"), line
    time.sleep(6)
    assert "Welcome to Codex" in engine.screen("cx")
    kinds = [e["event"] for e in engine.events("cx")]
    assert "stall" not in kinds and "heal" not in kinds, kinds
    engine.run("down", "cx")
    home.codex_config(stub.url, trusted=True)
    engine.run("up", "cx")
    line = engine.wait_status("cx", lambda s: " idle " in s, what="codex idle")
    assert "RUNNING [codex] idle " in line


def test_keys_are_never_typed_into_a_dialog_and_follow_once_it_is_answered(engine, home, stub, claude):
    home.claude_json(trusted=False)
    (home.project / "kickoff.md").write_text("hello from the kickoff")
    backend = claude_backend(claude) + 'prompt_delivery = "keys"\n'
    engine.write(backend, persistent(engine, stub, 'kickoff = "kickoff.md"\n'), watchdog=False)
    engine.run("up")
    deadline = time.monotonic() + 30
    while "Quick safety check" not in engine.screen("orch") and time.monotonic() < deadline:
        time.sleep(0.3)
    time.sleep(3)  # the old runner pasted into the first screen stable for 0.3 s: this dialog
    screen = engine.screen("orch")
    assert "Quick safety check" in screen and "hello from the kickoff" not in screen, screen
    log = (home.project / ".ao-state" / "orch.log").read_text()
    assert "blocked on the trust dialog: the prompt waits until it is answered" in log, log
    for key in ("Down", "Enter"):  # the operator answers
        time.sleep(0.5)
        engine.tmux("send-keys", "-t", "=rc-orch:", key)
    deadline = time.monotonic() + 30
    while not conversation_calls(stub, "/v1/messages") and time.monotonic() < deadline:
        time.sleep(0.3)
    calls = conversation_calls(stub, "/v1/messages")
    assert calls and "hello from the kickoff" in user_texts(calls[0])


def test_a_death_leaves_its_last_screen_and_logs_shows_why(engine, home, stub, claude):
    home.claude_json()
    if os.geteuid() != 0:
        pytest.fail("this test needs root (claude's root refusal), as CI runs")
    engine.write(claude_backend(claude, "--dangerously-skip-permissions"),
                 '[agents.orch]\nkind = "task"\nbackend = "claude"\nenv = %s\n' % engine.env_table(stub),
                 watchdog=False)
    engine.run("up")
    engine.wait_status("orch", lambda s: "DONE (exit 1)" in s, what="the task to end")
    logs = engine.run("logs", "orch").stdout
    assert "exit=1" in logs and "cannot be used with root/sudo privileges" in logs, logs
    exited = [e for e in engine.events("orch") if e["event"] == "exited"]
    assert exited and "root/sudo" in json.dumps(exited[-1]), exited


def test_codex_resumes_the_conversation_it_recorded(engine, home, stub, codex):
    home.codex_config(stub.url, trusted=True)
    stub.set(reply="first answer", chunk_delay=0.0)
    (home.project / "kickoff.md").write_text("-- remember the word kiwi")
    env = engine.env_table(stub, **{CODEX_KEY_ENV: CODEX_KEY})
    engine.write('[backends.codex]\nbin = "%s"\nargs = ["--no-daemon"]\n' % codex,
                 '[agents.cx]\nkind = "persistent"\nbackend = "codex"\nwatch = "heal"\nkickoff = "kickoff.md"\n'
                 'env = %s\n' % env)
    engine.run("up")
    engine.wait_status("cx", lambda s: " idle " in s and stub.requests("/v1/responses"), what="the first turn")
    resume = home.project / "state" / "cx.resume-id"
    deadline = time.monotonic() + 20
    while not resume.exists() and time.monotonic() < deadline:
        time.sleep(0.3)
    recorded = resume.read_text().strip()
    rollouts = list((home.root / ".codex" / "sessions").rglob("rollout-*%s.jsonl" % recorded))
    assert len(rollouts) == 1, recorded
    first = len(stub.requests("/v1/responses"))
    assert "-- remember the word kiwi" in user_texts(stub.requests("/v1/responses")[0])
    engine.run("down", "cx")
    engine.run("up", "cx")
    deadline = time.monotonic() + 40
    while len(stub.requests("/v1/responses")) <= first and time.monotonic() < deadline:
        time.sleep(0.3)
    later = stub.requests("/v1/responses")[first:]
    assert later, engine.screen("cx")
    assert "first answer" in json.dumps(later[0].body), "the resumed call carries the earlier turn"
