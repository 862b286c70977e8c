# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real `claude` and `codex` CLIs, offline against the model stub: what they print, what
reaches the model, and the screens an engine has to recognise (README.md beside this file
lists the facts these tests pin down)."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from typing import Any

from harness import AgentHome, AgentTmux, Screen
from model_stub import ModelStub, Recorded

# Leading dashes, a front-matter block, non-ASCII and quotes: all must arrive as typed.
AWKWARD_PROMPT = "---\ntitle: plan\n---\n-x Déjà vu: \"quotes\" and 'apostrophes' $HOME `ls`"


def run_cli(argv: list[str], home: AgentHome, stub: ModelStub, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=home.project, env=home.env(stub.url, **extra), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120, check=False)


def user_texts(request: Recorded) -> list[str]:
    """The text parts of the user turns of a model call (Messages or Responses API)."""
    body: Any = request.body
    turns = body.get("messages") or body.get("input") or []
    texts = []
    for turn in turns:
        if turn.get("role") != "user":
            continue
        content = turn.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        texts += [p["text"] for p in parts if p.get("type") in ("text", "input_text")]
    return texts


def conversation_calls(stub: ModelStub, path: str) -> list[Recorded]:
    """Model calls that carry the conversation (claude's title requests carry no tools)."""
    return [r for r in stub.requests(path) if isinstance(r.body, dict) and r.body.get("tools")]


# --- claude -p ------------------------------------------------------------------------------------


def test_claude_print_reply_reaches_stdout_and_prompt_reaches_model_verbatim(claude, home, stub):
    home.claude_json()
    stub.set(reply="The stub says hi.")
    proc = run_cli([claude, "-p", "--", AWKWARD_PROMPT], home, stub)
    assert (proc.returncode, proc.stdout) == (0, "The stub says hi.\n"), proc.stderr
    calls = conversation_calls(stub, "/v1/messages")
    assert calls and AWKWARD_PROMPT in user_texts(calls[-1])


def test_claude_print_takes_a_leading_dash_prompt_as_an_option_without_double_dash(claude, home, stub):
    home.claude_json()
    proc = run_cli([claude, "-p", "--- title"], home, stub)
    assert proc.returncode == 1
    assert "error: unknown option '--- title'" in proc.stderr
    assert stub.requests("/v1/messages") == []


def test_claude_print_exits_1_when_the_model_fails(claude, home, stub):
    home.claude_json()
    stub.set(fail_status=529)
    proc = run_cli([claude, "-p", "hello"], home, stub)
    assert proc.returncode == 1
    assert proc.stdout.startswith("API Error: 529 ")


def test_claude_resume_by_session_id_and_a_missing_id(claude, home, stub):
    home.claude_json()
    session = str(uuid.uuid4())
    assert run_cli([claude, "-p", "--session-id", session, "--", "first turn"], home, stub).returncode == 0
    assert home.claude_transcript(session).is_file()
    proc = run_cli([claude, "-p", "--resume", session, "--", "second turn"], home, stub)
    assert proc.returncode == 0, proc.stderr
    assert user_texts(conversation_calls(stub, "/v1/messages")[-1])[-2:] == ["first turn", "second turn"]
    again = run_cli([claude, "-p", "--session-id", session, "--", "x"], home, stub)
    assert (again.returncode, again.stderr.strip()) == (1, "Error: Session ID %s is already in use." % session)
    missing = str(uuid.uuid4())
    proc = run_cli([claude, "-p", "--resume", missing, "--", "x"], home, stub)
    assert (proc.returncode, proc.stderr.strip()) == (1, "No conversation found with session ID: %s" % missing)


# --- interactive claude ---------------------------------------------------------------------------


def restart(agent_tmux: AgentTmux, home: AgentHome) -> None:
    """End the server and wait for claude to be gone before seeding HOME again: on SIGHUP it
    writes ~/.claude.json back, which would undo the new seed."""
    agent_tmux.kill()
    home.end_leftovers()


def start_claude(agent_tmux: AgentTmux, home: AgentHome, stub: ModelStub, claude: str, *args: str,
                 **extra: str) -> None:
    agent_tmux.start("agent", [claude, *args], home.project, home.env(stub.url, **extra))


def test_claude_shows_the_trust_dialog_for_an_untrusted_folder(agent_tmux, home, stub, claude):
    home.claude_json(trusted=False)
    start_claude(agent_tmux, home, stub, claude)
    screen = agent_tmux.wait("agent", lambda s: "Quick safety check" in s.text, what="the trust dialog")
    assert "Yes, I trust this folder" in screen.text and str(home.project) in screen.text
    agent_tmux.press("agent", "Down", "Enter")
    agent_tmux.wait("agent", is_claude_idle, what="the idle prompt")
    saved = json.loads((home.root / ".claude.json").read_text())
    assert saved["projects"][str(home.project)]["hasTrustDialogAccepted"] is True


def test_claude_first_run_screens_theme_then_api_key(agent_tmux, home, stub, claude):
    home.claude_json(onboarded=False, key_approved=True, trusted=True)
    start_claude(agent_tmux, home, stub, claude)
    agent_tmux.wait("agent", lambda s: "Choose the text style" in s.text, what="the theme screen")
    restart(agent_tmux, home)
    home.claude_json(onboarded=True, key_approved=False, trusted=True)
    start_claude(agent_tmux, home, stub, claude)
    screen = agent_tmux.wait("agent", lambda s: "Detected a custom API key" in s.text, what="the key dialog")
    assert "❯ No (recommended)" in screen.text


def is_claude_idle(screen: Screen) -> bool:
    return "shift+tab to cycle" in screen.text and "esc to interrupt" not in screen.text


def test_claude_idle_prompt_after_onboarding(agent_tmux, home, stub, claude):
    home.claude_json()
    start_claude(agent_tmux, home, stub, claude)
    screen = agent_tmux.wait("agent", is_claude_idle, what="the idle prompt")
    assert screen.title == "✳ Claude Code"
    assert screen.command == "claude"
    assert "⏵⏵ auto mode on" in screen.text


def test_claude_turn_is_working_while_the_model_streams(agent_tmux, home, stub, claude):
    home.claude_json()
    stub.set(reply="one two three four five six seven eight nine ten", chunk_chars=4, chunk_delay=0.4,
             title="Counting test")
    start_claude(agent_tmux, home, stub, claude)
    agent_tmux.wait("agent", is_claude_idle, what="the idle prompt")
    agent_tmux.type_line("agent", "count slowly")
    working = agent_tmux.wait("agent", lambda s: "esc to interrupt" in s.text, what="a working turn")
    assert "…" in working.text  # the spinner line, e.g. "✶ Ebbing… (2s · ↓ 4 tokens)"
    wait_claude_status(home, "busy")
    done = agent_tmux.wait("agent", is_claude_idle, timeout=30, what="the end of the turn")
    assert "● one two three four five six seven eight nine ten" in done.text
    assert " for " in done.text and "done" in done.text  # "✻ Brewed for 6s · done 11:18 PM"
    assert done.title == "✳ Counting test"
    wait_claude_status(home, "idle")
    assert conversation_calls(stub, "/v1/messages")[-1].body["stream"] is True


def wait_claude_status(home: AgentHome, want: str, timeout: float = 10.0) -> None:
    """Wait for the status claude keeps in ~/.claude/sessions/<pid>.json ("busy" or "idle");
    it follows the screen by up to a second or so."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        for path in (home.root / ".claude" / "sessions").glob("*.json"):
            try:
                seen.append(str(json.loads(path.read_text())["status"]))
            except (ValueError, KeyError, OSError):
                continue  # being rewritten
        if seen and seen[-1] == want:
            return
        time.sleep(0.1)
    raise AssertionError("claude's session status never became %r (seen: %s)" % (want, sorted(set(seen))))


def test_claude_bypass_permissions_warning_then_accepted(agent_tmux, home, stub, claude):
    home.claude_json()
    start_claude(agent_tmux, home, stub, claude, "--dangerously-skip-permissions", IS_SANDBOX="1")
    screen = agent_tmux.wait("agent", lambda s: "Bypass Permissions mode" in s.text, what="the bypass warning")
    assert "Yes, I accept" in screen.text
    restart(agent_tmux, home)
    home.claude_bypass_accepted()
    start_claude(agent_tmux, home, stub, claude, "--dangerously-skip-permissions", IS_SANDBOX="1")
    screen = agent_tmux.wait("agent", is_claude_idle, what="the idle prompt")
    assert "⏵⏵ bypass permissions on" in screen.text


# --- codex ----------------------------------------------------------------------------------------


def test_codex_exec_reply_reaches_stdout_and_prompt_reaches_model_verbatim(codex, home, stub):
    home.codex_config(stub.url)
    stub.set(reply="Codex stub reply.")
    proc = run_cli([codex, "exec", "--skip-git-repo-check", "--", AWKWARD_PROMPT], home, stub)
    assert (proc.returncode, proc.stdout) == (0, "Codex stub reply.\n"), proc.stderr
    assert AWKWARD_PROMPT in user_texts(stub.requests("/v1/responses")[-1])
    failed = run_cli([codex, "exec", "--skip-git-repo-check", "--", "-x"], home, stub)
    assert failed.returncode == 0  # with "--" it is a prompt...
    bad = run_cli([codex, "exec", "--skip-git-repo-check", "-x"], home, stub)
    assert bad.returncode == 2 and "unexpected argument '-x'" in bad.stderr  # ...without, an option


def test_codex_interactive_trust_idle_and_working(agent_tmux, home, stub, codex):
    home.codex_config(stub.url)
    subprocess.run(["git", "init", "-q", str(home.project)], check=True)
    stub.set(reply="one two three four five six seven eight", chunk_chars=4, chunk_delay=0.4)
    agent_tmux.start("agent", [codex, "--no-daemon"], home.project, home.env(stub.url))
    screen = agent_tmux.wait("agent", lambda s: "Trust this folder?" in s.text, what="codex's trust dialog")
    assert "1. Trust and continue" in screen.text
    agent_tmux.press("agent", "Enter")
    idle = agent_tmux.wait("agent", lambda s: "? for shortcuts" in s.text and s.title == "proj",
                           what="codex's idle prompt, titled by the folder's name")
    assert idle.command == "node"  # the npm wrapper; the native codex is its child
    agent_tmux.type_line("agent", "count slowly")
    working = agent_tmux.wait("agent", lambda s: s.title.endswith("count slowly | proj") and s.title[0] != "c",
                              what="a working title")
    assert 0x2800 <= ord(working.title[0]) <= 0x28FF  # a braille spinner before the thread's name
    # the title's spinner may outlive the "Worked for" line by a redraw on a loaded host
    done = agent_tmux.wait("agent", lambda s: "Worked for" in s.text and s.title == "count slowly | proj", timeout=30,
                           what="the end of the turn, the title without its spinner")
    assert "• one two three four five six seven eight" in done.text
    assert 'trust_level = "trusted"' in (home.root / ".codex" / "config.toml").read_text()
