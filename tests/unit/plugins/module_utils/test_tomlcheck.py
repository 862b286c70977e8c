# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import tomllib

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import tomlcheck
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError


def positions(text):
    tomllib.loads(text)  # the locator only ever reads documents tomllib accepts
    return tomlcheck._Locator(text).pos


def issues(text, allowed):
    check = tomlcheck.Checker("/p/x.toml", text)
    check.table(tomllib.loads(text), (), allowed)
    return [(i.line, i.col, i.key, i.message) for i in check.issues]


@pytest.mark.parametrize("value", [
    "'x\"\"\"y'",  # a literal string holding a basic multi-line opener
    "\"x'''y\"",
    r'''"a\\" # ''' + "'''",  # an escaped backslash ends the string; the comment holds a literal opener
    "\"\"\"one\n[fake]\nkey = 1\n\"\"\"",
    "'''one\n[fake]\nkey = 1\n'''",
    "\"\"\"ends in quotes\"\"\"\"\"",
    "'''ends in quotes'''''",
    "\"\"\"escaped \\\"\"\" inside\"\"\"",
    "\"# not a comment\"",
    "[\n  \"a\", # a comment with \"\"\" in it\n  'b = c',\n  [1, 2],\n]",
    "{ a = \"}\", b = [\"]\"] }",
])
def test_every_string_form_keeps_later_keys_in_place(value):
    text = "[project]\nname = %s\n\n[agents.a]\n  kind = 1\n" % value
    lines = text.count("\n", 0, text.index("[agents.a]")) + 1
    pos = positions(text)
    assert pos[("project", "name")] == (2, 1)
    assert pos[("agents", "a")] == (lines, 1)
    assert pos[("agents", "a", "kind")] == (lines + 1, 3)
    assert ("fake",) not in pos and ("project", "key") not in pos


def test_quoted_keys_are_decoded_as_tomllib_reads_them():
    pos = positions('[agents."b\\u002Ead"]\n"mo\\u0064le" = 1\n\'lit.key\' = 2\n[ agents . "x" ]\n a . b = 3\n')
    assert pos[("agents", "b.ad")] == (1, 1)
    assert pos[("agents", "b.ad", "modle")] == (2, 1)
    assert pos[("agents", "b.ad", "lit.key")] == (3, 1)
    assert pos[("agents", "x")] == (4, 1)
    assert pos[("agents", "x", "a", "b")] == (5, 2)


def test_keys_inside_inline_tables_and_arrays_are_not_the_table_s_own():
    pos = positions('env = { kind = "x" }\nargs = [\n  { kind = 1 },\n]\nkind = 2\n')
    assert pos[("env",)] == (1, 1) and pos[("kind",)] == (5, 1)
    assert ("env", "kind") not in pos


def test_arrays_of_tables_count_their_elements():
    text = '[[phases]]\nname = "a"\n[[phases]]\nname = "b"\n[phases.extra]\nx = 1\n[[a]]\n[[a.b]]\n[[a]]\n[[a.b]]\nk = 1\n'
    pos = positions(text)
    assert pos[("phases",)] == (1, 1)
    assert pos[("phases", 1, "name")] == (4, 1)
    assert pos[("phases", 1, "extra", "x")] == (6, 1)
    assert pos[("a", 1, "b", 0, "k")] == (11, 1)


def test_crlf_line_ends_and_comments():
    pos = positions('# "\r\n[t]  # [u]\r\n  k = "v" # \'\'\'\r\nj = 1\r\n')
    assert pos[("t",)] == (2, 1) and pos[("t", "k")] == (3, 3) and pos[("t", "j")] == (4, 1)
    assert ("u",) not in pos


def test_an_unknown_path_falls_back_to_its_table_then_to_the_top():
    locator = tomlcheck._Locator("[a]\nb = 1\n")
    assert locator.locate(("a", "b", "c")) == (2, 1)
    assert locator.locate(("a", "zz")) == (1, 1)
    assert locator.locate(("q",)) == (1, 1)


@pytest.mark.parametrize("value, message", [
    ("nan", "must be a finite number, not nan"),
    ("+inf", "must be a finite number, not inf"),
    ("-inf", "must be a finite number, not -inf"),
    ('"a\\u0000b"', "must not contain a NUL byte"),
    ('["ok", "\\u0000"]', "must not contain a NUL byte"),
])
def test_non_finite_numbers_and_nul_bytes_are_refused(value, message):
    allowed = {"n": tomlcheck.NUM, "s": tomlcheck.STR, "l": tomlcheck.STRLIST}
    key = {"[": "l", '"': "s"}.get(value[0], "n")
    assert issues("\n%s = %s\n" % (key, value), allowed) == [(2, 1, key, message)]


def test_nul_in_a_table_of_strings_names_its_key():
    assert issues('[env]\nA = "\\u0000"\nB = "ok"\n', {"env": tomlcheck.STRMAP}) == [
        (2, 1, "env.A", "must not contain a NUL byte")]


def test_a_nul_in_a_key_is_shown_escaped():
    assert tomlcheck._dotted(("agents", "a\0b", 0)) == 'agents."a\\u0000b"[1]'


def test_finite_numbers_and_plain_strings_pass():
    allowed = {"n": tomlcheck.NUM, "i": tomlcheck.INT, "s": tomlcheck.STR, "b": tomlcheck.BOOL}
    assert issues('n = 1e300\ni = -5\ns = "tab\\there"\nb = true\n', allowed) == []


def test_a_nul_in_the_path_is_a_config_error():
    with pytest.raises(ConfigError, match=r"cannot read config: its path contains a NUL byte"):
        tomlcheck.read_text("/tmp/a\0b.toml")


@pytest.mark.parametrize("name", ["agents.toml", "fleet.toml"])
def test_a_byte_order_mark_gets_a_clear_message(tmp_path, name):
    """tomllib alone says 'Invalid statement (at line 1, column 1)' for an invisible mark."""
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import config, fleet

    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + ('[project]\nname = "p"\n' if name == "agents.toml" else "").encode())
    with pytest.raises(ConfigError) as info:
        (config.load if name == "agents.toml" else fleet.load)(str(path))
    assert str(info.value) == "%s:1:1: starts with a byte order mark (BOM, U+FEFF, invisible in most editors): " \
                              "save the file as UTF-8 without BOM" % path
    with pytest.raises(ConfigError, match="^/p/x.toml:1:1: starts with a byte order mark"):
        tomlcheck.parse_toml("\ufeff[project]\n", "/p/x.toml")  # text from elsewhere than a file


def test_a_utf16_file_is_named_so(tmp_path):
    path = tmp_path / "agents.toml"
    path.write_bytes('[project]\nname = "p"\n'.encode("utf-16"))
    with pytest.raises(ConfigError, match="1:1: not valid UTF-8: the file is UTF-16 .*save it as UTF-8"):
        tomlcheck.read_text(str(path))
