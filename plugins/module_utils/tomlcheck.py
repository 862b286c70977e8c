# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checking TOML files that operators write (agents.toml, fleet.toml): reading, parsing,
and reporting every problem with file, line, column and dotted key.

tomllib gives no positions for keys, so a small scan of the source maps key paths to
(line, column) — only when there is an error to report.
"""

from __future__ import annotations

import re

from .errors import ConfigError, ConfigIssue

STR = "a string"
BOOL = "a boolean"
INT = "an integer"
NUM = "a number"
STRLIST = "an array of strings"
STRMAP = "a table of strings"
TABLE = "a table"
ARRAY = "an array of tables"

_BARE_KEY = r"[A-Za-z0-9_-]+"
_BARE_KEY_RE = re.compile(r"^%s$" % _BARE_KEY)
_LOCATOR_RES: list = []


def _locator_res() -> tuple:
    """Regexes of the position scan, compiled on first use: only errors need them, and
    compiling them costs more than the rest of a ``status`` call's parsing."""
    if not _LOCATOR_RES:
        part = r'(?:%s|"(?:[^"\\]|\\.)*"|\'[^\']*\')' % _BARE_KEY
        dotted = r"%s(?:\s*\.\s*%s)*" % (part, part)
        _LOCATOR_RES.extend((re.compile(r"^\s*(\[\[?)\s*(%s)\s*\]\]?" % dotted),
                             re.compile(r"^(\s*)(%s)\s*=" % dotted),
                             re.compile(part)))
    return tuple(_LOCATOR_RES)


def _split_key(dotted: str) -> tuple:
    parts = []
    for m in _locator_res()[2].finditer(dotted):
        p = m.group(0)
        if p[0] in "\"'":
            p = p[1:-1]
        parts.append(p)
    return tuple(parts)


class _Locator:
    def __init__(self, text: str) -> None:
        self.pos: dict = {}
        array_counts: dict = {}
        current: tuple = ()
        in_multiline = False
        header_re, keyline_re, _part = _locator_res()
        for lineno, line in enumerate(text.splitlines(), start=1):
            # skip the bodies of multi-line strings
            quotes = line.count('"""') + line.count("'''")
            if in_multiline:
                if quotes % 2 == 1:
                    in_multiline = False
                continue
            header = header_re.match(line)
            if header:
                path = _split_key(header.group(2))
                if header.group(1) == "[[":
                    idx = array_counts.get(path, -1) + 1
                    array_counts[path] = idx
                    current = path + (idx,)
                    self.pos.setdefault(path, (lineno, line.index("[") + 1))
                else:
                    # [a.b] under an array of tables [[a]] refers to its last element
                    current = self._resolve(path, array_counts)
                self.pos.setdefault(current, (lineno, line.index("[") + 1))
            else:
                keyline = keyline_re.match(line)
                if keyline:
                    self.pos.setdefault(current + _split_key(keyline.group(2)),
                                        (lineno, len(keyline.group(1)) + 1))
            if quotes % 2 == 1:
                in_multiline = True

    @staticmethod
    def _resolve(path: tuple, array_counts: dict) -> tuple:
        out: tuple = ()
        for part in path:
            out = out + (part,)
            if out in array_counts:
                out = out + (array_counts[out],)
        return out

    def locate(self, path: tuple) -> tuple:
        while path:
            if path in self.pos:
                return self.pos[path]
            path = path[:-1]
        return (1, 1)


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += "[%d]" % (part + 1)
        else:
            out += ("." if out else "") + (part if _BARE_KEY_RE.match(part) else '"%s"' % part)
    return out


class Checker:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self._locator: _Locator | None = None
        self.issues: list = []

    def error(self, key_path: tuple, message: str) -> None:
        if self._locator is None:
            self._locator = _Locator(self.text)
        line, col = self._locator.locate(key_path)
        self.issues.append(ConfigIssue(self.path, line, col, _dotted(key_path), message))

    def table(self, value: object, key_path: tuple, allowed: dict) -> dict | None:
        """Check a table's keys and value types; return it (None when it is no table)."""
        if not isinstance(value, dict):
            self.error(key_path, "must be a table")
            return None
        for key, val in value.items():
            kp = key_path + (key,)
            expected = allowed.get(key)
            if expected is None:
                self.error(kp, "unknown key (known: %s)" % ", ".join(sorted(allowed)))
            elif not has_type(val, expected):
                self.error(kp, "must be %s, not %s" % (expected, _type_name(val)))
        return value

    def finish(self) -> None:
        """Raise every issue found, in file order; do nothing when there is none."""
        if self.issues:
            raise ConfigError(sorted(self.issues, key=lambda i: (i.line, i.col)))

    def choice(self, value: dict, key_path: tuple, key: str, choices: tuple, default: str) -> str:
        val = value.get(key, default)
        if isinstance(val, str) and val not in choices:
            self.error(key_path + (key,), "must be one of %s (got %r)" % (", ".join(choices), val))
        return val if isinstance(val, str) else default


def has_type(val: object, expected: str) -> bool:
    if expected == STR:
        return isinstance(val, str)
    if expected == BOOL:
        return isinstance(val, bool)
    if expected == STRLIST:
        return isinstance(val, list) and all(isinstance(v, str) for v in val)
    if expected == STRMAP:
        return isinstance(val, dict) and all(isinstance(v, str) for v in val.values())
    if expected == NUM:
        return isinstance(val, (int, float)) and not isinstance(val, bool)
    if expected == INT:
        return isinstance(val, int) and not isinstance(val, bool)
    if expected == TABLE:
        return isinstance(val, dict)
    if expected == ARRAY:
        return isinstance(val, list)
    return False


def _type_name(val: object) -> str:
    if isinstance(val, bool):
        return "a boolean"
    if isinstance(val, (int, float)):
        return "a number"
    if isinstance(val, str):
        return "a string"
    if isinstance(val, list):
        return "an array"
    if isinstance(val, dict):
        return "a table"
    return "a date/time"


def get_str(table: dict, key: str, default: str = "") -> str:
    val = table.get(key, default)
    return val if isinstance(val, str) else default


def read_text(path: str, what: str = "config") -> str:
    """A config file's text; unreadable or non-UTF-8 files raise ``ConfigError``."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError([ConfigIssue(path, 0, 0, "", "cannot read %s: %s" % (what, reason))]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError([ConfigIssue(path, line, 1, "", "not valid UTF-8")]) from None


def toml_error(path: str, text: str, exc: Exception) -> ConfigError:
    msg = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)$", msg)
    line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
    if m:
        msg = msg[:m.start()].rstrip()
    elif "end of document" in msg:
        line = text.count("\n") + 1
    return ConfigError([ConfigIssue(path, line, col, "", "invalid TOML: %s" % msg)])


def parse_toml(text: str, path: str) -> dict:
    """Parse TOML text; syntax errors become ``ConfigError`` with line and column."""
    import tomllib  # deferred: only parsing needs it

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise toml_error(path, text, exc) from None
    except (ValueError, RecursionError) as exc:  # e.g. nesting deeper than Python allows
        raise ConfigError([ConfigIssue(path, 1, 1, "", "invalid TOML: %s" % exc)]) from None
