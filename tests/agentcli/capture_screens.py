# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Regenerate the screen fixtures in screens/ from the real CLIs (after a version bump in
scripts/fetch-agent-clis.sh): `.venv/bin/python tests/agentcli/capture_screens.py`.

Each state is reached as a test would reach it (a seeded HOME, keys pressed in a private
tmux server, the model stub answering) and saved as <cli>-<state>.txt (capture-pane -p),
.ansi (the same with -e: colours and attributes) and .title (#{pane_title}). The folders are
fixed (/tmp/agentcli-capture/...) so the paths on the screens stay the same between runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import SCREENS, AgentHome, AgentTmux, Screen, binary  # noqa: E402
from model_stub import ModelStub  # noqa: E402

BASE = Path("/tmp/agentcli-capture")
SLOW = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen."


class Capture:
    """One CLI run: a fresh HOME, one tmux session, and the states saved along the way."""

    def __init__(self, stub: ModelStub, name: str) -> None:
        self.stub = stub
        self.home = AgentHome(BASE / name)
        self.tmux = AgentTmux(str(BASE / ("%s.sock" % name)))

    def start(self, argv: list[str], **extra: str) -> None:
        self.tmux.start("agent", argv, self.home.project, self.home.env(self.stub.url, **extra))

    def save(self, state: str, until: Callable[[Screen], bool], timeout: float = 30.0) -> Screen:
        screen = self.tmux.wait("agent", until, timeout=timeout, what=state)
        time.sleep(0.5)  # let the frame settle (spinners, a last line)
        screen = self.tmux.screen("agent")
        screen.save(state)
        print("saved %-28s title=%r command=%r" % (state, screen.title, screen.command), flush=True)
        return screen

    def save_history(self, state: str) -> None:
        """A CLI that exited at once: its words are in the scrollback, the screen is blank."""
        self.tmux.wait("agent", lambda s: s.dead, what=state)
        text = self.tmux.history("agent")
        (SCREENS / ("%s.txt" % state)).write_text(text)
        print("saved %-28s (scrollback of a dead pane)" % state, flush=True)

    def end(self) -> None:
        self.tmux.kill()
        self.home.end_leftovers()


def idle(screen: Screen) -> bool:
    return "shift+tab to cycle" in screen.text and "esc to interrupt" not in screen.text


def claude_first_run(stub: ModelStub, claude: str) -> None:
    cap = Capture(stub, "claude-offline")
    (cap.home.root / ".claude.json").write_text("{}")
    cap.start([claude])
    cap.save("claude-preflight-offline", lambda s: "Unable to connect" in s.text)
    cap.end()
    cap = Capture(stub, "claude-first")
    cap.home.claude_json(onboarded=False, key_approved=True, trusted=False)
    cap.start([claude])
    cap.save("claude-theme", lambda s: "Choose the text style" in s.text)
    cap.tmux.press("agent", "Enter")
    cap.save("claude-security-notes", lambda s: "Security notes" in s.text)
    cap.tmux.press("agent", "Enter")
    cap.save("claude-trust", lambda s: "Quick safety check" in s.text)
    cap.tmux.press("agent", "Down", "Enter")
    cap.save("claude-idle-first", idle)
    cap.end()
    cap = Capture(stub, "claude-key")
    cap.home.claude_json(onboarded=True, key_approved=False, trusted=True)
    cap.start([claude])
    cap.save("claude-api-key", lambda s: "Detected a custom API key" in s.text)
    cap.end()


def claude_turns(stub: ModelStub, claude: str) -> None:
    cap = Capture(stub, "claude-turns")
    cap.home.claude_json()
    cap.start([claude])
    cap.save("claude-idle", idle)
    stub.set(reply="Counting slowly: " + SLOW, chunk_delay=0.4, title="Counting session")
    cap.tmux.send("agent", "Please count slowly", literal=True)
    cap.save("claude-typed", lambda s: "Please count slowly" in s.text)
    cap.tmux.press("agent", "Enter")
    cap.save("claude-working", lambda s: "esc to interrupt" in s.text and "tokens" in s.text)
    cap.save("claude-done", lambda s: idle(s) and "fifteen." in s.text)
    stub.set(fail_status=500, chunk_delay=0.0)
    cap.tmux.type_line("agent", "this will fail")
    cap.save("claude-api-error", lambda s: "API Error: 500" in s.text)
    cap.end()
    cap = Capture(stub, "claude-retry")
    cap.home.claude_json()
    cap.start([claude], CLAUDE_CODE_MAX_RETRIES="10")
    cap.tmux.wait("agent", idle)
    stub.set(fail_status=529, fail_times=-1)
    cap.tmux.type_line("agent", "retry me")
    cap.save("claude-retrying", lambda s: "retrying in" in s.text, timeout=40)
    stub.set(fail_status=None)
    cap.end()


def claude_bypass_and_exits(stub: ModelStub, claude: str) -> None:
    cap = Capture(stub, "claude-bypass")
    cap.home.claude_json()
    cap.start([claude, "--dangerously-skip-permissions"])
    cap.save_history("claude-root-refusal")
    cap.end()
    cap = Capture(stub, "claude-bypass")
    cap.home.claude_json()
    cap.start([claude, "--dangerously-skip-permissions"], IS_SANDBOX="1")
    cap.save("claude-bypass-warning", lambda s: "Bypass Permissions mode" in s.text)
    cap.tmux.press("agent", "Down", "Enter")
    cap.save("claude-idle-bypass", idle)
    cap.end()
    cap = Capture(stub, "claude-exits")
    cap.home.claude_json()
    cap.start([claude, "--resume", str(uuid.UUID(int=1))])
    cap.save_history("claude-resume-missing")
    cap.end()
    cap.start([claude, "-x leading dash"])
    cap.save_history("claude-unknown-option")
    cap.end()


def codex_screens(stub: ModelStub, codex: str) -> None:
    cap = Capture(stub, "codex-login")
    cap.start([codex, "--no-daemon"])
    cap.save("codex-login", lambda s: "Sign in with ChatGPT" in s.text)
    cap.end()
    cap = Capture(stub, "codex")
    cap.home.codex_config(stub.url)
    subprocess.run(["git", "init", "-q", str(cap.home.project)], check=True)
    cap.start([codex, "--no-daemon"])
    cap.save("codex-trust", lambda s: "Trust this folder?" in s.text)
    cap.tmux.press("agent", "Enter")
    time.sleep(3)  # the logo animation
    cap.save("codex-idle", lambda s: "? for shortcuts" in s.text and s.title == "proj")
    stub.set(reply="Codex counting slowly: " + SLOW, chunk_delay=0.4)
    cap.tmux.type_line("agent", "Please count slowly")
    cap.save("codex-working", lambda s: "Codex counting" in s.text and s.title[:1] not in ("", "P"))
    cap.save("codex-done", lambda s: "Worked for" in s.text, timeout=40)
    stub.set(fail_status=500, chunk_delay=0.0)
    cap.tmux.type_line("agent", "this will fail")
    cap.save("codex-api-error", lambda s: "■" in s.text)
    stub.set(fail_status=None)
    cap.end()
    cap.start([codex, "--no-daemon", "resume", str(uuid.UUID(int=1))])
    cap.save_history("codex-resume-missing")
    cap.end()


def main() -> int:
    claude, codex = binary("claude"), binary("codex")
    shutil.rmtree(BASE, ignore_errors=True)
    BASE.mkdir(parents=True)
    for old in SCREENS.glob("*-*.*"):
        old.unlink()
    try:
        with ModelStub() as stub:
            claude_first_run(stub, claude)
            claude_turns(stub, claude)
            claude_bypass_and_exits(stub, claude)
            codex_screens(stub, codex)
    finally:
        shutil.rmtree(BASE, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
