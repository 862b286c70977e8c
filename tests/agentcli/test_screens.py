# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The captured screens (screens/, made by capture_screens.py) carry the strings that tell
their states apart, and no other state's. Pure: reads files only. This table is the short
form of README.md's per-state facts; a classifier in the engine can be tested on the same
files."""

from __future__ import annotations

from pathlib import Path

import pytest

SCREENS = Path(__file__).resolve().parent / "screens"

# state: (strings on the screen, the pane title or None when the pane is dead/unset)
STATES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "claude-preflight-offline": (("Unable to connect to Anthropic services", "Pane is dead (status 1"), None),
    "claude-theme": (("Choose the text style that looks best with your terminal",), None),
    "claude-security-notes": (("Security notes:", "Press Enter to continue"), None),
    "claude-trust": (("Quick safety check", "❯ No, exit", "Yes, I trust this folder"), None),
    "claude-api-key": (("Detected a custom API key in your environment", "❯ No (recommended)"), None),
    "claude-bypass-warning": (("WARNING: Claude Code running in Bypass Permissions mode", "Yes, I accept"), None),
    "claude-idle-first": (("Auto mode is now Claude Code's default permission mode", "shift+tab to cycle"),
                          "✳ Claude Code"),
    "claude-typed": (("❯\u00a0Please count slowly", "shift+tab to cycle"), "✳ Claude Code"),
    "claude-idle": (("shift+tab to cycle", "⏵⏵ auto mode on"), "✳ Claude Code"),
    "claude-idle-bypass": (("⏵⏵ bypass permissions on",), "✳ Claude Code"),
    "claude-working": (("esc to interrupt", "… (", "tokens)"), "✳ Claude Code"),
    "claude-retrying": (("esc to interrupt", "retrying in", "attempt 2/10"), "✳ Claude Code"),
    "claude-done": (("● Counting slowly:", " · done "), "✳ Counting session"),
    "claude-api-error": (("API Error: 500", "Resend your message to try again"), "✳ Counting session"),
    "claude-root-refusal": (("--dangerously-skip-permissions cannot be used with root/sudo privileges",), None),
    "claude-resume-missing": (("No conversation found with session ID: ",), None),
    "claude-unknown-option": (("error: unknown option '-x leading dash'",), None),
    "codex-login": (("Welcome to Codex", "Sign in with ChatGPT"), None),
    "codex-trust": (("Trust this folder?", "1. Trust and continue"), None),
    "codex-idle": (("› Ask Codex to do anything", "? for shortcuts"), "proj"),
    "codex-working": (("• Codex counting slowly",), None),  # title: test_codex_working_title_spins
    "codex-done": (("Worked for ",), "Please count slowly | proj"),
    "codex-api-error": (("■ We\u2019re currently experiencing high demand",), "Please count slowly | proj"),
    "codex-resume-missing": (("ERROR: No saved session found with ID ",), None),
}

# Strings that mark one state and must not show on the others (where they would mislead).
MARKERS = {"esc to interrupt": {"claude-working", "claude-retrying"},
           "Quick safety check": {"claude-trust"},
           "Bypass Permissions mode": {"claude-bypass-warning"}}


@pytest.mark.parametrize("state", sorted(STATES))
def test_screen_carries_its_strings_and_title(state):
    text = (SCREENS / ("%s.txt" % state)).read_text()
    strings, title = STATES[state]
    for string in strings:
        assert string in text, state
    if title is not None:
        assert (SCREENS / ("%s.title" % state)).read_text().rstrip("\n") == title


@pytest.mark.parametrize("marker", sorted(MARKERS))
def test_markers_show_only_on_their_states(marker):
    showing = {path.stem for path in SCREENS.glob("claude-*.txt") if marker in path.read_text()}
    assert showing == MARKERS[marker]


def test_codex_working_title_spins():
    title = (SCREENS / "codex-working.title").read_text().rstrip("\n")
    assert 0x2800 <= ord(title[0]) <= 0x28FF and title[1:] == " Please count slowly | proj"


def test_every_captured_screen_is_described():
    assert {path.stem for path in SCREENS.glob("*.txt")} == set(STATES)
