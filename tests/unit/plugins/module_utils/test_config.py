# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os
import subprocess
import textwrap

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))

# The shape users already rely on (the product spec's agents.toml), verbatim.
SPEC_EXAMPLE = '''
[project]
name = "cc-ci"
session_prefix = "cc-ci-"
log_dir = ".ao-state"        # relative paths are relative to the file's folder
state_dir = "state"          # phase-idx, resume ids, watchdog lock and restart bookkeeping
tmux_socket = ""             # "" default server; a bare name = tmux -L NAME; a path = tmux -S PATH

[[phases]]
name = "rcust"
plan = "plan-phase-rcust.md"

[[phases]]
name = "poe2e"
plan = "plan-phase-poe2e-end-to-end.md"

[backends.claude]
bin = "claude"
args = ["--dangerously-skip-permissions"]
model_arg = "--model"
resume_arg = "--resume"
prompt_delivery = "arg"      # arg | stdin | keys | exec

[backends.demo]
bin = "echo '[demo] agent up' ; exec sleep 1000000"
prompt_delivery = "exec"

[agents.orchestrator]
kind = "persistent"          # persistent | loop | task | service
backend = "claude"
model = "claude-opus-4-8"
watch = "heal"               # none | heal | heal+stall
enabled = true
kickoff = "kickoffs/orchestrator.md"   # optional template, rendered per phase

[agents.orchestrator.env]
CLAUDE_CONFIG_DIR = "~/.claude-orchestrator"

[agents.cleanlogs]
kind = "service"
builtin = "cleanlogs"        # or: command = "any shell command" for a custom service

[agents.watchdog]
kind = "service"
builtin = "watchdog"
'''


def parse(text, name="agents.toml", root="/srv/p"):
    return config.parse(textwrap.dedent(text), os.path.join(root, name))


def issues_of(text):
    with pytest.raises(ConfigError) as info:
        parse(text)
    return info.value.issues


def test_spec_example_validates_as_written():
    project = parse(SPEC_EXAMPLE)
    assert [a.name for a in project.agents] == ["orchestrator", "cleanlogs", "watchdog"]
    assert [p.name for p in project.phases] == ["rcust", "poe2e"]
    assert project.session_prefix == "cc-ci-"
    assert project.session_name("watchdog") == "cc-ci-watchdog"
    assert project.log_dir == "/srv/p/.ao-state"
    assert project.state_dir == "/srv/p/state"
    assert project.tmux_socket == ""
    orch = project.agent("orchestrator")
    assert (orch.kind, orch.backend, orch.model, orch.watch, orch.enabled) == (
        "persistent", "claude", "claude-opus-4-8", "heal", True)
    assert orch.env == {"CLAUDE_CONFIG_DIR": "~/.claude-orchestrator"}
    assert project.agent("cleanlogs").builtin == "cleanlogs"
    assert project.backends["demo"].prompt_delivery == "exec"
    assert project.backends["claude"].args == ("--dangerously-skip-permissions",)


def test_shipped_example_has_the_seed_agents_in_order():
    project = config.load(os.path.join(REPO, "agents.example.toml"))
    assert [a.name for a in project.agents] == [
        "orchestrator", "builder", "adversary", "assistant", "upgrader", "report", "cleanlogs", "watchdog"]
    assert [a.kind for a in project.agents] == [
        "persistent", "loop", "loop", "persistent", "task", "task", "service", "service"]
    assert "demo" in project.backends and project.backends["demo"].prompt_delivery == "exec"


def test_minimal_config_gets_defaults():
    project = parse('[project]\nsession_prefix = "x-"\n', root="/srv/myproj")
    assert project.name == "myproj"
    assert project.session_prefix == "x-"
    assert project.agents == ()
    assert project.log_dir == "/srv/myproj/.ao-state"


def test_empty_file_defaults_prefix_to_folder_name():
    project = parse("", root="/srv/alpha")
    assert project.session_prefix == "alpha-"


def test_default_prefix_is_made_safe_for_tmux():
    project = parse("", root="/srv/my.project v2")
    assert (project.name, project.session_prefix) == ("my.project v2", "my-project-v2-")


@pytest.mark.parametrize("socket, expected", [
    ("loops", "loops"),
    ("run/tmux.sock", "/srv/p/run/tmux.sock"),
    ("/tmp/x.sock", "/tmp/x.sock"),
])
def test_socket_name_or_path(socket, expected):
    assert parse('[project]\ntmux_socket = "%s"\n' % socket).tmux_socket == expected


def test_invalid_toml_reports_line_and_column():
    (issue,) = issues_of('[project]\nname = "x"\nsession_prefix = \n')
    assert (issue.line, issue.col) == (3, 18)
    assert "invalid TOML" in issue.message
    assert str(issue).startswith("/srv/p/agents.toml:3:18: invalid TOML")


def test_duplicate_agent_is_an_error_with_its_line():
    (issue,) = issues_of('[agents.a]\nkind = "service"\ncommand = "x"\n\n[agents.a]\nkind = "service"\n')
    assert issue.line == 5
    assert "twice" in issue.message or "already" in issue.message


def test_unknown_key_names_key_line_and_column():
    (issue,) = issues_of('''
        [agents.worker]
        kind = "persistent"
        backend = "demo"
          modle = "x"
        ''')
    assert issue.key == "agents.worker.modle"
    assert (issue.line, issue.col) == (5, 3)
    assert "unknown key" in issue.message and "model" in issue.message


def test_every_issue_is_reported_at_once():
    issues = issues_of('''
        [project]
        session_prefix = "a.b"

        [agents.one]
        kind = "lop"
        backend = "demo"

        [agents.two]
        kind = "persistent"
        backend = "nosuch"
        enabled = "yes"
        ''')
    keys = {i.key for i in issues}
    assert {"project.session_prefix", "agents.one.kind", "agents.two.backend", "agents.two.enabled"} <= keys
    by_key = {i.key: i for i in issues}
    assert by_key["agents.one.kind"].line == 6
    assert "unknown backend 'nosuch'" in by_key["agents.two.backend"].message
    assert "must be a boolean, not a string" in by_key["agents.two.enabled"].message


@pytest.mark.parametrize("name", ["a.b", "a:b", "a b", '"a\\tb"', "-lead"])
def test_names_tmux_would_mangle_are_refused(name):
    key = name if name.startswith('"') else '"%s"' % name
    issues = issues_of('[agents.%s]\nkind = "service"\ncommand = "sleep 1"\n' % key)
    assert any("agent names may hold only" in i.message for i in issues)
    assert issues[0].line == 1


@pytest.mark.parametrize("body, key, words", [
    ('kind = "service"\nbackend = "demo"\ncommand = "x"', "agents.s.backend", "not allowed for a service"),
    ('kind = "service"', "agents.s", "exactly one of 'builtin'"),
    ('kind = "service"\nbuiltin = "cron"', "agents.s.builtin", "must be one of watchdog, cleanlogs"),
    ('kind = "persistent"', "agents.s", "missing required key 'backend'"),
    ('backend = "demo"', "agents.s", "missing required key 'kind'"),
    ('kind = "task"\nbackend = "demo"\nwatch = "always"', "agents.s.watch", "must be one of none, heal"),
    ('kind = "task"\nbackend = "demo"\ncommand = "x"', "agents.s.command", "only services take"),
    ('kind = "task"\nbackend = "demo"\nenv = { "1BAD" = "x" }', "agents.s.env.1BAD", "not a valid environment"),
    ('kind = "task"\nbackend = "demo"\nenv = { A = 1 }', "agents.s.env", "must be a table of strings"),
])
def test_agent_errors(body, key, words):
    issues = issues_of("[agents.s]\n" + body + "\n")
    assert any(i.key == key and words in i.message for i in issues), [str(i) for i in issues]


def test_pass_env_names_the_callers_variables_an_agent_gets():
    project = parse('[agents.a]\nkind = "task"\nbackend = "demo"\npass_env = ["SSH_AUTH_SOCK", "API_KEY", "API_KEY"]\n'
                    '[agents.s]\nkind = "service"\ncommand = "x"\npass_env = ["DISPLAY"]\n'
                    '[agents.n]\nkind = "service"\ncommand = "x"\n')
    assert project.agent("a").pass_env == ("SSH_AUTH_SOCK", "API_KEY")
    assert project.agent("s").pass_env == ("DISPLAY",), "every kind takes pass_env"
    assert project.agent("n").pass_env == ()


@pytest.mark.parametrize("value, words", [
    ('"API_KEY"', "must be an array of strings, not a string"),
    ('["OK", "1BAD"]', "not a valid environment variable name: '1BAD'"),
    ('["OK", "A B"]', "not a valid environment variable name: 'A B'"),
    ('["OK", "TERM"]', "TERM is not the caller's to pass: tmux sets it in the pane"),
    ('["OK", "TMUX_PANE"]', "TMUX_PANE is not the caller's to pass: tmux sets it in the pane"),
    ('["OK", "PWD"]', "PWD is not the caller's to pass: the engine sets it"),
    ('["OK", "AGENTLOOPS_AGENT"]', "AGENTLOOPS_AGENT is not the caller's to pass: the engine sets it"),
])
def test_pass_env_errors(value, words):
    (issue,) = issues_of('[agents.a]\nkind = "task"\nbackend = "demo"\n\npass_env = %s\n' % value)
    assert (issue.line, issue.col, issue.message) == (5, 1, words)
    assert issue.key in ("agents.a.pass_env", "agents.a.pass_env[2]")


def test_window_size_defaults_to_200x50():
    assert parse("").window_size == (200, 50) == config.DEFAULT_WINDOW_SIZE
    assert parse('[project]\nwindow_size = ""\n').window_size == (200, 50)
    assert parse('[project]\nwindow_size = "120x40"\n').window_size == (120, 40)
    assert parse('[project]\nwindow_size = "20x1000"\n').window_size == (20, 1000)


@pytest.mark.parametrize("value", ["19x50", "200x1001", "0x0", "200", "200x", "x50", "200X50", " 200x50",
                                   "200x50x1", "-200x50", "200x50\\n", "10000x50"])
def test_window_size_must_be_width_x_height_each_20_to_1000(value):
    (issue,) = issues_of('[project]\nname = "p"\n  window_size = "%s"\n' % value)
    assert (issue.key, issue.line, issue.col) == ("project.window_size", 3, 3)
    assert issue.message.startswith("must be WIDTHxHEIGHT, each 20 to 1000")


def test_window_size_must_be_a_string():
    (issue,) = issues_of('[project]\nwindow_size = 200\n')
    assert (issue.key, issue.line, issue.message) == ("project.window_size", 2, "must be a string, not a number")


def test_backend_errors():
    issues = issues_of('[backends.x]\nargs = "notalist"\nprompt_delivery = "fax"\n')
    keys = {i.key: i.message for i in issues}
    assert "missing required key 'bin'" in keys["backends.x"]
    assert "must be an array of strings" in keys["backends.x.args"]
    assert "must be one of arg, stdin, keys, exec" in keys["backends.x.prompt_delivery"]


def test_phase_errors_point_at_the_right_array_element():
    issues = issues_of('''
        [[phases]]
        name = "a"
        plan = "a.md"

        [[phases]]
        name = "a"
        plan = "b.md"

        [[phases]]
        name = "c"
        plann = "c.md"
        ''')
    by_key = {i.key: i for i in issues}
    assert by_key["phases[2].name"].line == 7
    assert "duplicate phase name" in by_key["phases[2].name"].message
    assert by_key["phases[3].plann"].line == 12
    assert "missing required key 'plan'" in by_key["phases[3]"].message


def test_two_builtin_watchdogs_are_refused():
    issues = issues_of('[agents.w1]\nkind = "service"\nbuiltin = "watchdog"\n'
                       '[agents.w2]\nkind = "service"\nbuiltin = "watchdog"\n')
    assert any("already run by agent 'w1'" in i.message for i in issues)


def test_unreadable_and_non_utf8_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        config.load(str(tmp_path / "missing.toml"))
    bad = tmp_path / "agents.toml"
    bad.write_bytes(b'[project]\nname = "\xff"\n')
    with pytest.raises(ConfigError, match=":2:1: not valid UTF-8"):
        config.load(str(bad))


def test_select_unknown_agent_lists_known_ones():
    project = parse(SPEC_EXAMPLE)
    assert [a.name for a in project.select(["watchdog", "orchestrator"])] == ["orchestrator", "watchdog"]
    with pytest.raises(ConfigError, match="unknown agent.*nope.*orchestrator, cleanlogs, watchdog"):
        project.select(["nope"])


def test_an_empty_prefix_is_refused():
    (issue,) = issues_of('[project]\nsession_prefix = ""\n')
    assert issue.key == "project.session_prefix" and "must not be empty" in issue.message


def test_settings_live_where_the_kind_takes_them():
    project = parse('''
        [agents.l]
        kind = "loop"
        backend = "demo"
        watch = "heal+stall"
        max_iterations = 3
        stall_after = 30
        nudge = "go on"

        [agents.p]
        kind = "persistent"
        backend = "demo"

        [agents.c]
        kind = "service"
        builtin = "cleanlogs"
        interval = 60

        [agents.s]
        kind = "service"
        command = "sleep 1"
        ''')
    loop, persistent, cleanlogs, service = project.agents
    assert loop.loop == config.LoopSettings(max_iterations=3, loop_delay=5.0)
    assert loop.healing == config.WatchSettings(stall_after=30, nudge="go on")
    assert (loop.watch, persistent.watch, service.watch) == ("heal+stall", "none", "none")
    assert persistent.loop is None and persistent.healing == config.WatchSettings()
    assert cleanlogs.cleanlogs == config.CleanlogsSettings(interval=60) and cleanlogs.healing is None
    assert service.cleanlogs is None and service.healing is None and service.loop is None


def test_the_settings_table_matches_the_settings_classes():
    for key, setting in config.AGENT_SETTINGS.items():
        if setting.into is not None:
            assert key in setting.into.__dataclass_fields__, key
    for cls in (config.WatchSettings, config.LoopSettings, config.CleanlogsSettings):
        assert all(config.AGENT_SETTINGS[name].into is cls for name in cls.__dataclass_fields__)


def test_a_project_is_frozen():
    import dataclasses

    project = parse(SPEC_EXAMPLE)
    orch = project.agent("orchestrator")
    for obj, attr in ((project, "name"), (orch, "watch"), (orch.healing, "nudge"), (project.phases[0], "plan"),
                      (project.backends["claude"], "bin")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, "x")
    with pytest.raises(TypeError):
        orch.env["X"] = "y"
    with pytest.raises(TypeError):
        project.backends["x"] = project.backends["claude"]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+nan"])
@pytest.mark.parametrize("key", ["stall_after", "fatal_window", "nudge_wait", "loop_delay"])
def test_numbers_must_be_finite(key, value):
    issues = issues_of('[agents.l]\nkind = "loop"\nbackend = "demo"\n%s = %s\n' % (key, value))
    assert [(i.line, i.col, i.key, i.message) for i in issues] == [
        (4, 1, "agents.l." + key, "must be a finite number, not %s" % value.lstrip("+"))]


@pytest.mark.parametrize("text, key, line", [
    ('[project]\nstate_dir = "state\\u0000x"\n', "project.state_dir", 2),
    ('[project]\nname = "a"\nlog_dir = """\nlogs\\u0000"""\n', "project.log_dir", 3),
    ('[[phases]]\nname = "\\u0000"\nplan = "p.md"\n', "phases[1].name", 2),
    ('[backends.b]\nbin = "x"\nargs = [\n  "ok",\n  "\\u0000",\n]\n', "backends.b.args", 3),
    ('[backends."b\\u0000"]\nbin = "x"\n', 'backends."b\\u0000"', 1),
    ('[agents.a]\nkind = "task"\nbackend = "demo"\nkickoff = "k\\u0000.md"\n', "agents.a.kickoff", 4),
    ('[agents.a]\nkind = "task"\nbackend = "demo"\n\n[agents.a.env]\nK = "v\\u0000"\n', "agents.a.env.K", 6),
])
def test_nul_bytes_are_refused_where_they_stand(text, key, line):
    (issue,) = issues_of(text)
    assert (issue.key, issue.line, issue.col) == (key, line, 1)
    assert "NUL byte" in issue.message
    assert "\0" not in str(issue)


def test_a_quote_inside_a_string_keeps_later_positions():
    issues = issues_of(
        '[project]\n'
        'name = \'x"""y\'   # a literal string that holds a basic multi-line opener\n'
        'log_dir = "a\'\'\'b"\n'
        '\n'
        '[agents.w]\n'
        'kind = "persistent"\n'
        'backend = "demo"\n'
        '  modle = "x"\n')
    assert [(i.key, i.line, i.col) for i in issues] == [("agents.w.modle", 8, 3)]


@pytest.mark.parametrize("table", ['[agents."a\\n"]\nkind = "service"\ncommand = "x"\n',
                                   '[project]\nsession_prefix = "p-\\n"\n',
                                   '[agents.a]\nkind = "service"\ncommand = "x"\n[agents.a.env]\n"E\\n" = "v"\n'])
def test_a_trailing_newline_does_not_pass_a_name_check(tmp_path, table):
    path = tmp_path / "agents.toml"
    path.write_text(table)
    with pytest.raises(ConfigError):
        config.load(str(path))


def _kickoff_config(tmp_path, kickoff, project=""):
    (tmp_path / "agents.toml").write_text('[project]\nname = "p"\n%s[agents.a]\nkind = "task"\nbackend = "demo"\n'
                                          'kickoff = "%s"\n' % (project, kickoff))
    return str(tmp_path / "agents.toml")


@pytest.mark.parametrize("kickoff", ["../../../../etc/passwd", "/etc/passwd", "kickoffs/../../k.md", "link/k.md",
                                     "k.md"])
def test_a_kickoff_outside_the_project_is_refused_at_its_key(tmp_path, kickoff):
    (tmp_path / "proj").mkdir()
    (tmp_path / "k.md").write_text("hello")
    os.symlink(tmp_path, tmp_path / "proj" / "link")
    if kickoff == "k.md":  # a file inside whose symlink points outside
        os.symlink("/etc/passwd", tmp_path / "proj" / "k.md")
    path = _kickoff_config(tmp_path / "proj", kickoff)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    [issue] = info.value.issues
    assert (issue.line, issue.col, issue.key) == (6, 1, "agents.a.kickoff")
    assert "is outside the project" in issue.message and "allow_outside_kickoffs = true" in issue.message
    path = _kickoff_config(tmp_path / "proj", kickoff, "allow_outside_kickoffs = true\n")
    assert config.load(path).allow_outside_kickoffs is True


@pytest.mark.parametrize("kickoff", ["k.md", "kickoffs/../k.md", "sub/k.md", "./k.md"])
def test_a_kickoff_inside_the_project_is_fine(tmp_path, kickoff):
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    os.symlink(real, tmp_path / "proj")  # the project's folder itself reached through a symlink
    project = config.load(_kickoff_config(tmp_path / "proj", kickoff))
    assert project.allow_outside_kickoffs is False and project.agent("a").kickoff == kickoff


def test_allow_outside_kickoffs_must_be_a_boolean(tmp_path):
    with pytest.raises(ConfigError, match="project.allow_outside_kickoffs: must be a boolean"):
        config.load(_kickoff_config(tmp_path, "/etc/passwd", 'allow_outside_kickoffs = "yes"\n'))


def _bin_config(bin_, agent='kind = "loop"', backend=""):
    return ('[backends.b]\nbin = %s\n%s\n[agents.a]\nbackend = "b"\n%s\n[agents.c]\nkind = "service"\ncommand = "x"\n'
            % (json.dumps(bin_), backend, agent))


# Shell-text bins: which the engine can append arguments to, and why the others cannot.
GOOD_BINS = ["echo '[demo] agent up' ; exec sleep 1000000", "cd sub && exec fake-cli", "FOO=1 claude",
             "claude | tee -a log", "echo done", 'echo "x; done"', "claude $(printf '%s' \"a)b\")",
             "if true; then claude; fi; exec claude", "sh -c 'while true; do claude \"$@\"; done' sh",
             "case $X in a) true;; esac; claude", "for i in 1 2; do true; done; claude", "{ true; }; claude"]
ENDS_BADLY = [("while true; do claude; done", "ends with 'done', after which they would be a syntax error"),
              ("if true; then claude; fi", "ends with 'fi', after which they would be a syntax error"),
              ("{ claude; }", "ends with '}'"), ("(claude)", "ends with ')'"),
              ("claude;", "ends with ';', after which they would run as a command of their own"),
              ("claude &", "ends with '&', after which they would run as a command of their own"),
              ("claude # a note", "ends in a comment, which would swallow them")]
BROKEN = [("claude 'a", "' opened at character 8 is never closed"), ('claude "a', '" opened at character 8'),
          ("if true; then claude", "'if' without 'fi'"), ("while true; do claude", "'do' without 'done'"),
          ("claude; fi", "'fi' without 'if' before it"), ("claude $(x", "$( opened at character 8"),
          ("claude \\", "ends with a backslash"), ("(claude", "unbalanced parentheses"),
          ("claude &&", "ends with '&&', which needs a command or a file name after it"),
          ("claude |", "ends with '|'"), ("claude >", "ends with '>'")]


@pytest.mark.parametrize("bin_, message", ENDS_BADLY)
@pytest.mark.parametrize("agent, backend", [('kind = "loop"', ""), ('kind = "persistent"', 'args = ["-x"]'),
                                            ('kind = "persistent"\nmodel = "m"', 'model_arg = "--model"'),
                                            ('kind = "persistent"\nkickoff = "k.md"', "")])
def test_a_bin_that_cannot_take_the_appended_arguments_is_refused(bin_, message, agent, backend, tmp_path):
    """``bin = "while true; do claude; done"`` passed validate; every start then died of
    ``done "$@"`` (the runner) or ``done --model m``, a syntax error."""
    with pytest.raises(ConfigError) as info:
        config.parse(_bin_config(bin_, agent, backend), str(tmp_path / "agents.toml"))
    [issue] = info.value.issues
    assert (issue.line, issue.col, issue.key) == (2, 1, "backends.b.bin")
    assert issue.message.startswith(message) and "arguments of agent 'a' after bin" in issue.message


@pytest.mark.parametrize("bin_, _message", ENDS_BADLY)
def test_a_bin_that_takes_no_arguments_may_end_as_it_likes(bin_, _message, tmp_path):
    """A persistent agent of the generic profile with no args runs ``bin`` as it is."""
    bin_ = bin_.replace("claude", "prog")  # claude's profile would need the runner
    project = config.parse(_bin_config(bin_, 'kind = "persistent"', 'prompt_delivery = "exec"'),
                           str(tmp_path / "agents.toml"))
    assert project.backends["b"].bin == bin_


@pytest.mark.parametrize("bin_, message", BROKEN)
def test_a_bin_that_is_not_valid_shell_text_is_refused(bin_, message, tmp_path):
    with pytest.raises(ConfigError) as info:
        config.parse(_bin_config(bin_, 'kind = "persistent"'), str(tmp_path / "agents.toml"))
    [issue] = info.value.issues
    assert issue.key == "backends.b.bin" and issue.message.startswith("is not valid shell text: " + message)


@pytest.mark.parametrize("bin_", GOOD_BINS)
def test_shell_text_bins_that_take_arguments_are_fine(bin_, tmp_path):
    assert config.parse(_bin_config(bin_), str(tmp_path / "agents.toml")).backends["b"].bin == bin_


@pytest.mark.parametrize("bin_, verdict", [(b, "good") for b in GOOD_BINS]
                         + [(b, "bad") for b, _m in ENDS_BADLY + BROKEN])
def test_the_check_agrees_with_sh(bin_, verdict, tmp_path):
    """sh itself, reading only (``-n``: nothing runs), on what the runner runs (``BIN "$@"``):
    the good bins parse, and so do only those bad ones whose harm is not a syntax error."""
    marker = tmp_path / "ran"
    parsed = subprocess.run(["sh", "-n", "-c", bin_ + ' "$@"', "sh", "touch", str(marker)], capture_output=True, check=False)
    if verdict == "good":
        assert parsed.returncode == 0, parsed.stderr
    elif not bin_.endswith(("\\", ";", "&", "note", "|", ">")):  # sh accepts these: "$@" would run on its own,
        assert parsed.returncode != 0, "sh reads %r \"$@\" as valid" % bin_  # be a file, be glued or be ignored
    assert not marker.exists(), "sh -n runs nothing"


def test_project_confirm_seconds_defaults_to_1_and_is_checked(tmp_path):
    path = tmp_path / "agents.toml"
    path.write_text('[agents.a]\nkind = "persistent"\nbackend = "demo"\n')
    assert config.load(str(path)).confirm_seconds == 1.0
    path.write_text('[project]\nconfirm_seconds = 2.5\n')
    assert config.load(str(path)).confirm_seconds == 2.5
    path.write_text('[project]\nconfirm_seconds = -1\n')
    with pytest.raises(config.ConfigError, match="confirm_seconds: must be 0 \\(no check\\) to 600 seconds, got -1"):
        config.load(str(path))
