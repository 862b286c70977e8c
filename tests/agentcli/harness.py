# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pieces for running the real `claude` and `codex` CLIs offline: where the pinned
binaries are (scripts/fetch-agent-clis.sh puts them there), a temp HOME seeded so each CLI
starts in a chosen state, and a private tmux server to run them in and read their screens.
Used by conftest.py and by capture_screens.py (which regenerates the fixtures in screens/).

Everything here is private to one test: the tmux server is on a socket path of its own, the
HOME is a temp dir, and any process the CLIs leave behind is found by that HOME (in its
environment) and ended by pid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
CLIS = REPO / ".build" / "agent-clis"
BIN = CLIS / "node_modules" / ".bin"
FETCH = "scripts/fetch-agent-clis.sh .build/agent-clis"
SCREENS = Path(__file__).resolve().parent / "screens"

# A fake key: claude remembers its last 20 characters once approved.
ANTHROPIC_KEY = "sk-ant-api03-stub-0123456789abcdefghijklmnopqrstuvwxyz"
CODEX_KEY_ENV = "STUB_API_KEY"
CODEX_KEY = "sk-stub-codex-0123456789"


def binary(name: str) -> str:
    """The cached executable, or a message saying how to get it (tests fail, never skip)."""
    path = BIN / name
    if not os.access(path, os.X_OK):
        raise FileNotFoundError("%s is missing: run `%s` (or `make test-agents`)" % (path, FETCH))
    return str(path)


@dataclass(slots=True)
class AgentHome:
    """A temp HOME with a project folder, seeded for one CLI's first-run state."""

    root: Path
    project: Path = field(init=False)

    def __post_init__(self) -> None:
        self.project = self.root / "proj"
        self.project.mkdir(parents=True, exist_ok=True)

    def claude_json(self, onboarded: bool = True, key_approved: bool = True, trusted: bool = True) -> None:
        """~/.claude.json: the onboarding (theme) flag, the approved API key, the trusted folder."""
        data: dict[str, object] = {}
        if onboarded:
            data["hasCompletedOnboarding"] = True
        if key_approved:
            data["customApiKeyResponses"] = {"approved": [ANTHROPIC_KEY[-20:]], "rejected": []}
        if trusted:
            data["projects"] = {str(self.project): {"hasTrustDialogAccepted": True}}
        (self.root / ".claude.json").write_text(json.dumps(data, indent=2))

    def claude_bypass_accepted(self) -> None:
        """~/.claude/settings.json as claude writes it once the bypass warning was accepted."""
        (self.root / ".claude").mkdir(exist_ok=True)
        (self.root / ".claude" / "settings.json").write_text(json.dumps({"skipDangerousModePermissionPrompt": True}))

    def claude_transcript(self, session_id: str) -> Path:
        """Where claude keeps a conversation: ~/.claude/projects/<cwd, / and . as ->/<id>.jsonl."""
        return self.root / ".claude" / "projects" / claude_project_dir(str(self.project)) / ("%s.jsonl" % session_id)

    def codex_config(self, base_url: str, trusted: bool = False) -> None:
        """~/.codex/config.toml: a model provider pointing at the stub, no retries."""
        lines = ['model = "stub-model"', 'model_provider = "stub"', "",
                 "[model_providers.stub]", 'name = "Stub"', 'base_url = "%s/v1"' % base_url,
                 'env_key = "%s"' % CODEX_KEY_ENV, 'wire_api = "responses"',
                 "request_max_retries = 0", "stream_max_retries = 0", ""]
        if trusted:
            lines += ['[projects."%s"]' % self.project, 'trust_level = "trusted"', ""]
        (self.root / ".codex").mkdir(exist_ok=True)
        (self.root / ".codex" / "config.toml").write_text("\n".join(lines))

    def env(self, stub_url: str, **extra: str) -> dict[str, str]:
        """The environment a CLI runs with: this HOME and TMPDIR, the stub, fake keys."""
        tmp = self.root / "tmp"
        tmp.mkdir(exist_ok=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root), "TMPDIR": str(tmp),
               "TERM": "xterm-256color", "LANG": "C.UTF-8",
               "ANTHROPIC_BASE_URL": stub_url, "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
               "CLAUDE_CODE_MAX_RETRIES": "0", "DISABLE_AUTOUPDATER": "1",
               CODEX_KEY_ENV: CODEX_KEY}
        env.update(extra)
        return env

    def processes(self) -> list[int]:
        """The pids of the processes running with this HOME (it is in their environment)."""
        found = []
        marker = ("HOME=%s" % self.root).encode()
        for pid in _pids():
            try:
                environ = Path("/proc/%d/environ" % pid).read_bytes().split(b"\0")
            except OSError:
                continue
            if marker in environ:
                found.append(pid)
        return found

    def end_leftovers(self, grace: float = 5.0) -> list[int]:
        """Give what still runs with this HOME `grace` seconds to exit (a CLI saves its
        state on SIGHUP: a file seeded before then may be overwritten), then end the rest
        (e.g. a daemon a CLI forked) by pid. Returns the pids it had to end."""
        deadline = time.monotonic() + grace
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        ended = []
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
                ended.append(pid)
            except ProcessLookupError:
                pass
        return ended


def claude_project_dir(path: str) -> str:
    return "".join(c if c.isalnum() or c == "-" else "-" for c in path)


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) != os.getpid()]


@dataclass(frozen=True, slots=True)
class Screen:
    """One look at a pane: the visible text, the same with escapes, its title and command."""

    text: str
    ansi: str
    title: str
    command: str
    dead: bool

    def save(self, name: str, folder: Path = SCREENS) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ("%s.txt" % name)).write_text(self.text)
        (folder / ("%s.ansi" % name)).write_text(self.ansi)
        (folder / ("%s.title" % name)).write_text(self.title + "\n")


class AgentTmux:
    """A private tmux server (its own socket path) for one test; kill() ends it by that socket."""

    def __init__(self, socket: str, width: int = 120, height: int = 40) -> None:
        self.socket = socket
        self.size = (str(width), str(height))

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-f", "/dev/null", "-S", self.socket, *args], capture_output=True,
                              text=True, check=check, stdin=subprocess.DEVNULL)

    def start(self, name: str, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        """Run argv in a new session; the pane stays (dead) after it exits, to be read."""
        env_args = [a for key, value in env.items() for a in ("-e", "%s=%s" % (key, value))]
        command = " ".join(_quote(a) for a in argv)
        # remain-on-exit is set before the session starts: a CLI may exit at once (a bad option)
        self.run("start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";",
                 "new-session", "-d", "-s", name, "-x", self.size[0], "-y", self.size[1], "-c", str(cwd),
                 *env_args, "sh", "-c", "exec %s" % command)

    def send(self, name: str, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", name, *(["-l"] if literal else []), *keys)

    def press(self, name: str, *keys: str, pause: float = 0.4) -> None:
        """Press keys one at a time, pausing before each: a dialog that has just been drawn
        may not take input yet, and a key sent too soon is lost."""
        for key in keys:
            time.sleep(pause)
            self.send(name, key)

    def type_line(self, name: str, text: str) -> None:
        """Type text, then Enter as its own key press (a TUI may take a pasted newline as text)."""
        self.send(name, text, literal=True)
        time.sleep(0.3)
        self.send(name, "Enter")

    def screen(self, name: str) -> Screen:
        info = self.run("display-message", "-p", "-t", name,
                        "#{pane_title}\t#{pane_current_command}\t#{pane_dead}").stdout.rstrip("\n").split("\t")
        return Screen(self.run("capture-pane", "-p", "-t", name).stdout,
                      self.run("capture-pane", "-p", "-e", "-t", name).stdout, info[0], info[1], info[2] == "1")

    def history(self, name: str) -> str:
        """The scrollback and the screen (a CLI's last words before it exits may be above)."""
        return self.run("capture-pane", "-p", "-S", "-", "-t", name).stdout

    def wait(self, name: str, until: Callable[[Screen], bool], timeout: float = 30.0, what: str = "") -> Screen:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(name)
            if until(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError("waited %.0fs for %s; the screen (title %r, command %r):\n%s"
                                     % (timeout, what or "the screen", screen.title, screen.command, screen.text))
            time.sleep(0.2)

    def kill(self) -> None:
        if os.path.exists(self.socket):
            self.run("kill-server", check=False)


def _quote(arg: str) -> str:
    return "'%s'" % arg.replace("'", "'\\''")
