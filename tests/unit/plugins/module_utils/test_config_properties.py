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
                "tmux_socket": "sock"},
    "phases": [{"name": "one", "plan": "one.md"}, {"name": "two", "plan": "two.md"}],
    "backends": {"fake": {"bin": "fake", "args": ["-x"], "model_arg": "--model",
                          "prompt_delivery": "stdin"}},
    "agents": {
        "worker": {"kind": "persistent", "backend": "fake", "model": "m", "watch": "heal",
                   "enabled": True, "env": {"A": "1"}},
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
