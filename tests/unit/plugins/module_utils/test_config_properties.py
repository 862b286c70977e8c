# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based: whatever an operator writes, loading gives a Project or a clean
ConfigError with a position — never a traceback of another kind."""

from __future__ import annotations

import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.agentloops.orchestrator.plugins.module_utils import config
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError

VALID = {
    "project": {"name": "p", "session_prefix": "p-", "log_dir": "logs", "state_dir": "state",
                "tmux_socket": "sock", "window_size": "120x40"},
    "phases": [{"name": "one", "plan": "one.md"}, {"name": "two", "plan": "two.md"}],
    "backends": {"fake": {"bin": "fake", "args": ["-x"], "model_arg": "--model",
                          "prompt_delivery": "stdin"}},
    "agents": {
        "worker": {"kind": "persistent", "backend": "fake", "model": "m", "watch": "heal",
                   "enabled": True, "env": {"A": "1"}, "pass_env": ["SSH_AUTH_SOCK"]},
        "svc": {"kind": "service", "command": "sleep 1"},
        "watchdog": {"kind": "service", "builtin": "watchdog"},
    },
}

SCALARS = st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.floats(allow_nan=False),
                    st.lists(st.integers(), max_size=3))
KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_.: -1", min_size=1, max_size=10)
TREES = st.recursive(SCALARS, lambda inner: st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)


def _paths(tree, prefix=()):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _paths(value, prefix + (i,))


ALL_PATHS = list(_paths(VALID))


def _copy(tree):
    import copy
    return copy.deepcopy(tree)


def _set(tree, path, value):
    node = tree
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _check_clean(text):
    try:
        project = config.parse(text, "/tmp/prop/agents.toml")
    except ConfigError as exc:
        assert exc.issues
        for issue in exc.issues:
            assert issue.path == "/tmp/prop/agents.toml"
            assert issue.line >= 1 and issue.col >= 1
            assert str(issue).startswith("/tmp/prop/agents.toml:%d:%d: " % (issue.line, issue.col))
        return None
    assert isinstance(project, config.Project)
    return project


def test_valid_base_config_loads():
    assert _check_clean(tomlkit.dumps(VALID)) is not None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(ALL_PATHS), value=TREES)
def test_any_value_anywhere_gives_a_clean_result(path, value):
    tree = _copy(VALID)
    _set(tree, path, value)
    try:
        text = tomlkit.dumps(tree)
    except Exception:  # not representable in TOML (e.g. mixed arrays): nothing to test
        return
    _check_clean(text)


@settings(max_examples=300, deadline=None)
@given(path=st.sampled_from([p for p in ALL_PATHS if isinstance(p[-1], str)]),
       junk=st.sampled_from([{"nested": 1}, [1, 2], 3.5, -1, "a.b", "", "x y", True]))
def test_a_wrong_value_in_a_known_place_is_reported_at_its_key(path, junk):
    tree = _copy(VALID)
    old = tree
    for part in path:
        old = old[part]
    if type(old) is type(junk) and not isinstance(junk, str):  # noqa: E721 (exact type: bool is an int)
        return
    _set(tree, path, junk)
    text = tomlkit.dumps(tree)
    try:
        config.parse(text, "/tmp/prop/agents.toml")
    except ConfigError as exc:
        assert all(i.line >= 1 for i in exc.issues)
        return
    # the only wrong-looking values that are fine: free-form strings
    assert isinstance(junk, str)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mangled_text_gives_a_clean_result(data):
    text = tomlkit.dumps(VALID)
    for _step in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(text)))
        op = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = data.draw(st.text(alphabet='[]{}=",.\'\n #abc1\\\t"""', max_size=4))
        if op == "insert":
            text = text[:pos] + chunk + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + len(chunk) + 1:]
        else:
            text = text[:pos] + chunk + text[pos + len(chunk):]
    _check_clean(text)


@settings(max_examples=200, deadline=None)
@given(tree=st.dictionaries(KEYS, TREES, max_size=5))
def test_random_documents_give_a_clean_result(tree):
    try:
        text = tomlkit.dumps(tree)
    except Exception:
        return
    _check_clean(text)


# Strings written in every form TOML has, with contents that trip a naive scan: quotes
# of both kinds (three in a row too), backslashes, '#', '=', brackets, line breaks.
CONTENTS = st.text(alphabet='ab "\'\\#=[]{}.\n\t\u00e9', max_size=12)


def _basic(text, escape_all):
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif escape_all or char == "\t":
            out.append("\\u%04X" % ord(char) if ord(char) < 0x10000 else "\\U%08X" % ord(char))
        else:
            out.append(char)
    return '"%s"' % "".join(out)


def _multiline_basic(text):
    out = []  # quotes stay raw but for the third of a row, which would end the string
    for char in text:
        if char == "\\" or (char == '"' and out[-2:] == ['"', '"']):
            char = "\\" + char
        out.append(char)
    return '"""%s%s"""' % ("\n" if text.startswith("\n") else "", "".join(out))  # a first line break is trimmed


def _multiline_literal(text):
    return "'''%s%s'''" % ("\n" if text.startswith("\n") else "", text)


@st.composite
def toml_strings(draw, single_line=False):
    """(TOML source of a string, the string it reads as)."""
    text = draw(CONTENTS)
    forms = ["basic", "escaped"]
    if "'" not in text and "\n" not in text:
        forms.append("literal")
    if not single_line:
        forms.append("multiline basic")
        if "'''" not in text:
            forms.append("multiline literal")
    form = draw(st.sampled_from(forms))
    if form == "basic":
        return _basic(text, False), text
    if form == "escaped":
        return _basic(text, True), text
    if form == "literal":
        return "'%s'" % text, text
    if form == "multiline basic":
        return _multiline_basic(text), text
    return _multiline_literal(text), text


@st.composite
def key_forms(draw, key):
    """A key as TOML may write it: bare, quoted, escaped or literal."""
    return draw(st.sampled_from([key, '"%s"' % key, "'%s'" % key,
                                 '"%s"' % "".join("\\u%04x" % ord(c) for c in key)]))


@st.composite
def documents(draw):
    """An agents.toml with strings of every form, and one unknown key ``modle`` in one
    agent: (text, the agent's name, the line and column of that key)."""
    lines = []

    def assign(key, single_line=False):
        source, _value = draw(toml_strings(single_line))
        comment = draw(st.sampled_from(["", "  # '''", ' # """ = [x]', " #"]))
        lines.append("%s%s = %s%s" % (draw(st.sampled_from(["", "  ", "\t"])), key, source, comment))

    lines.append("[project]")
    assign("name")
    assign("log_dir")
    lines.append("[backends.b]")
    lines.append('bin = "b"')
    lines.append("args = [")
    for _item in range(draw(st.integers(0, 3))):
        lines.append("  %s, # '''" % draw(toml_strings())[0])
    lines.append("]")
    names = ["a%d" % i for i in range(draw(st.integers(1, 3)))]
    faulty = draw(st.sampled_from(names))
    where = None
    for name in names:
        lines.append("")
        lines.append("[agents.%s]" % draw(key_forms(name)))
        body = ['kind = "persistent"', 'backend = "b"']
        for key in draw(st.lists(st.sampled_from(["description", "model", "kickoff", "nudge"]), unique=True)):
            body.append(key)
        at = draw(st.integers(0, len(body))) if name == faulty else None
        for i, entry in enumerate(body + [None]):
            if i == at:
                indent = draw(st.sampled_from(["", "  "]))
                where = ("\n".join(lines).count("\n") + 2, len(indent) + 1)
                lines.append("%s%s = 1" % (indent, draw(key_forms("modle"))))
            if entry is None:
                break
            if " = " in entry:
                lines.append(entry)
            else:
                assign(entry)
    return "\n".join(lines) + "\n", faulty, where


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(toml_strings())
def test_the_string_forms_read_as_meant(pair):
    import tomllib

    source, value = pair
    assert tomllib.loads("k = %s\n" % source)["k"] == value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_an_error_is_reported_at_the_exact_line_of_its_key(doc):
    text, agent, (line, col) = doc
    try:
        config.parse(text, "/tmp/prop/agents.toml")
    except ConfigError as exc:
        found = [(i.line, i.col) for i in exc.issues if i.key == "agents.%s.modle" % agent]
        assert found == [(line, col)], (text, [str(i) for i in exc.issues])
    else:
        raise AssertionError("the unknown key was not reported:\n" + text)
