# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Agent profiles: the shipped files are valid and classify every screen captured from the
real claude and codex (tests/agentcli/screens) as the state it shows; extension by
agents.toml; answers; the choice of a backend's profile. Files only: no tmux."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config, profiles
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError
from ansible_collections.agentloops.orchestrator.plugins.module_utils.tomlcheck import Checker

ROOT = Path(__file__).resolve().parents[4]
SCREENS = ROOT / "tests" / "agentcli" / "screens"

# Every captured screen and what it is ("" = nothing matches: the pane is dead or starting).
EXPECTED = {
    "claude-api-error": "idle", "claude-api-key": "blocked:api-key", "claude-bypass-warning": "blocked:bypass-warning",
    "claude-done": "idle", "claude-idle-bypass": "idle", "claude-idle-first": "idle", "claude-idle": "idle",
    "claude-preflight-offline": "", "claude-resume-missing": "", "claude-retrying": "working",
    "claude-root-refusal": "", "claude-security-notes": "blocked:onboarding", "claude-theme": "blocked:onboarding",
    "claude-trust": "blocked:trust", "claude-typed": "idle", "claude-unknown-option": "", "claude-working": "working",
    "codex-api-error": "idle", "codex-done": "idle", "codex-idle": "idle", "codex-login": "blocked:login",
    "codex-resume-missing": "", "codex-trust": "blocked:trust", "codex-working": "working",
}


def screen(stem: str) -> tuple[str, str]:
    title = SCREENS / ("%s.title" % stem)
    return (title.read_text().rstrip("\n") if title.exists() else ""), (SCREENS / ("%s.txt" % stem)).read_text()


def test_the_shipped_profiles_are_the_files_and_all_valid():
    assert sorted(p.stem for p in (ROOT / "profiles").glob("*.toml")) == list(profiles.BUILTIN_PROFILES)
    for name in profiles.BUILTIN_PROFILES:
        profile = profiles.builtin(name)
        assert profile.name == name
        assert profiles._BINS.get(name, ()) == profile.bins, "default_for_bin must follow the file"
        assert {d.name for d in profile.dialogs} <= set(profiles.DIALOG_NAMES)
    assert not profiles.builtin("generic").knows_states


def test_every_captured_screen_is_classified():
    assert {p.stem for p in SCREENS.glob("*.txt")} == set(EXPECTED)


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_a_captured_screen_classifies_as_what_it_shows(stem):
    title, text = screen(stem)
    assert profiles.builtin(stem.split("-", maxsplit=1)[0]).classify(title, text).label == EXPECTED[stem]


def test_ansi_escapes_do_not_change_the_classification():
    for stem in ("claude-trust", "claude-working", "codex-idle"):
        title, _text = screen(stem)
        ansi = (SCREENS / ("%s.ansi" % stem)).read_text()
        assert profiles.builtin(stem.split("-", maxsplit=1)[0]).classify(title, ansi).label == EXPECTED[stem]


def test_only_the_bottom_lines_count():
    claude = profiles.builtin("claude")
    _title, trust = screen("claude-trust")
    assert claude.classify("", trust + "\n" * 5 + "x\n" * claude.screen_lines).label == ""


def test_a_menu_answer_moves_the_cursor_onto_its_line():
    claude = profiles.builtin("claude")
    trust = claude.dialog("trust")
    _title, text = screen("claude-trust")
    assert claude.answer_keys(trust.answers["accept"], text) == ["Down", "Enter"]
    assert claude.answer_keys(trust.answers["exit"], text) == ["Enter"]
    _title, key = screen("claude-api-key")
    assert claude.answer_keys(claude.dialog("api-key").answers["accept"], key) == ["Up", "Enter"]
    assert claude.answer_keys(trust.answers["accept"], "nothing of the menu") == [], "not on screen: nothing"
    codex = profiles.builtin("codex")
    _title, ctrust = screen("codex-trust")
    assert codex.answer_keys(codex.dialog("trust").answers["accept"], ctrust) == ["Enter"]


def test_program_shown_batch_mode_and_progress():
    codex = profiles.builtin("codex")
    assert codex.shows("node") == "codex" and codex.shows("bash") == "bash"
    claude = profiles.builtin("claude")
    assert claude.batch(["-p"]) and not claude.batch(["--model", "x"]) and codex.batch(["exec"])
    assert claude.progress_of("✻ Wandering… (1s · ↓ 2 tokens)") == "↓ 2 tokens"


def test_a_backend_gets_its_profile_by_bin_unless_it_names_one():
    assert profiles.default_for_bin("/opt/node_modules/.bin/claude --x") == "claude"
    assert profiles.default_for_bin("codex") == "codex"
    assert profiles.default_for_bin("echo '[demo] agent up' ; exec sleep 1000000") == "generic"
    assert config.Backend("b", "my-wrapper", profile="claude").profile_name == "claude"


def write(tmp_path, text: str):
    path = tmp_path / "agents.toml"
    path.write_text(text)
    return config.load(str(path))


def test_agents_toml_extends_a_shipped_profile_and_adds_one(tmp_path):
    project = write(tmp_path, """
[profiles.claude.dialogs.survey]
screen = ['How is Claude doing']
answers.dismiss = { keys = ["Escape"] }

[profiles.mycli]
program = "mycli"
commands = ["mycli"]
[[profiles.mycli.states]]
state = "idle"
screen = ['^>\\s*$']

[backends.my]
bin = "mycli"
profile = "mycli"

[agents.a]
kind = "persistent"
backend = "claude"
answers = { survey = "dismiss", trust = "accept" }

[agents.b]
kind = "persistent"
backend = "my"
""")
    claude = project.profile_of(project.agent("a"))
    assert claude.classify("", "How is Claude doing this session?").label == "blocked:survey"
    assert claude.classify("", screen("claude-trust")[1]).label == "blocked:trust", "the shipped rules stay"
    mine = project.profile_of(project.agent("b"))
    assert mine.classify("", "hello\n> ").label == "idle" and mine.program == "mycli"


@pytest.mark.parametrize("text, message", [
    ('[backends.x]\nbin = "x"\nprofile = "nope"\n', "agents.toml:3:1: backends.x.profile: unknown profile 'nope'"),
    ('[profiles.p]\nprogram = 3\n', "agents.toml:2:1: profiles.p.program: must be a string"),
    ("[[profiles.p.states]]\nstate = \"idle\"\nscreen = ['(']\n",
     "agents.toml:3:1: profiles.p.states[1].screen[1]: not a valid regular expression"),
    ("[[profiles.p.states]]\nstate = \"sleepy\"\nscreen = ['x']\n",
     "agents.toml:2:1: profiles.p.states[1].state: must be one of working, idle"),
    ('[profiles.p.dialogs.d]\nscreen = ["x"]\nanswers.a = { keys = ["Enter"], select = "Yes" }\n',
     "profiles.p.dialogs.d.answers.a: an answer needs exactly one of 'keys' or 'select'"),
    ('[agents.a]\nkind = "persistent"\nbackend = "claude"\nanswers = { nope = "accept" }\n',
     "agents.a.answers.nope: profile 'claude' knows no dialog 'nope'"),
    ('[agents.a]\nkind = "persistent"\nbackend = "claude"\nanswers = { trust = "maybe" }\n',
     "agents.a.answers.trust: dialog 'trust' of profile 'claude' has no answer 'maybe' (it has: accept, exit)"),
])
def test_bad_profiles_and_answers_are_clear_errors(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        write(tmp_path, text)
    assert message in str(caught.value)


def test_check_table_reports_into_the_checker():
    check = Checker("p.toml", "")
    assert profiles.check_table(check, (), {"screen_lines": 0, "resume": {"model": "later"}}) is not None
    assert [i.message for i in check.issues] == ["must be between 1 and 1000",
                                                 "must be one of none, session-id, subcommand (got 'later')"]


def test_observation_labels_round_trip():
    for label in ("working", "idle", "blocked:trust", "starting"):
        assert profiles.Observation.from_label(label).label == label


def test_answers_alone_extend_a_shipped_dialog_and_empty_regexes_are_refused(tmp_path):
    project = write(tmp_path, '[profiles.claude.dialogs.trust]\nanswers.yes = { select = "Yes, I trust this folder" }\n'
                              '[agents.a]\nkind = "persistent"\nbackend = "claude"\nanswers = { trust = "yes" }\n')
    claude = project.profile_of(project.agent("a"))
    assert claude.classify("", screen("claude-trust")[1]).label == "blocked:trust"
    assert set(claude.dialog("trust").answers) == {"accept", "exit", "yes"}
    with pytest.raises(ConfigError) as caught:
        write(tmp_path, "[profiles.p.dialogs.d]\nscreen = ['']\n")
    assert "profiles.p.dialogs.d.screen[1]: must not be empty" in str(caught.value)


def test_a_broken_shipped_file_gives_a_profile_that_knows_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(profiles, "BROKEN", {})
    (tmp_path / "claude.toml").write_text("name = 'claude'\nscreen_lines = 'many'\n")
    profile = profiles.builtin("claude", str(tmp_path))
    assert not profile.knows_states and str(tmp_path / "claude.toml") in profiles.BROKEN


def test_dialog_words_in_a_transcript_are_not_a_dialog():
    for cli, text in [("codex", "Approve it once CI passes\n• Working (2s • esc to interrupt)"),
                      ("claude", "❯\u00a0\nSearch… Resume Session\n shift+tab to cycle"),
                      ("aider", "Add foo.py? (Y)es/(N)o [Yes]: y\n> ")]:
        assert profiles.builtin(cli).classify("", text).state != "blocked", (cli, text)
    assert profiles.builtin("aider").classify("", "Add foo.py? (Y)es/(N)o [Yes]: ").label == "blocked:permission"
