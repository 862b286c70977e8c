# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checking TOML files that operators write (agents.toml, fleet.toml): reading, parsing,
and reporting every problem with file, line, column and dotted key.

tomllib gives no positions for keys, so a small scan of the source maps key paths to
(line, column) — only when there is an error to report. The scan reads string tokens of
every form (basic, literal, multi-line, escapes), so a quote inside a string never
shifts the positions of the keys after it.
"""

from __future__ import annotations

import bisect
import math
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
_CLEANED = (STR, NUM, STRLIST, STRMAP)  # the types that can hold a NUL byte, NaN or infinity

NUL_MESSAGE = "must not contain a NUL byte"

_BARE_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+\Z")
_SCAN_RES: list = []


def _scan_res() -> tuple:
    """Regexes of the position scan, compiled on first use: only errors need them, and
    compiling them costs more than the rest of a ``status`` call's parsing.

    In order: a key part (bare, basic or literal string); the tokens a value skips over
    as a whole (the four string forms, comments); an escape of a basic string."""
    if not _SCAN_RES:
        _SCAN_RES.extend((
            re.compile(r'[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\''),
            re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"{3,5}|\'\'\'(?:[^\']|\'(?!\'\'))*\'{3,5}'
                       r'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*', re.S),
            re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S)))
    return tuple(_SCAN_RES)


_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


def _unescape(match: re.Match) -> str:
    code = match.group(1) or match.group(2)
    if code:
        point = int(code, 16)
        return chr(point) if point <= 0x10FFFF else match.group(0)
    return _ESCAPES.get(match.group(3), match.group(0))


def _key_part(token: str) -> str:
    """A key part as tomllib reads it: quotes taken off, a basic string's escapes decoded."""
    if token[0] == "'":
        return token[1:-1]
    if token[0] == '"':
        return _scan_res()[2].sub(_unescape, token[1:-1])
    return token


class _Locator:
    """Where each key and table header of a document starts: ``{key path: (line, col)}``.

    Keys count as a table's own keys only where a statement starts (not inside an inline
    table or array); the first place a path appears wins."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos: dict = {}
        self._array_counts: dict = {}
        self._current: tuple = ()
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        i = 0
        while i < len(text):
            i = self._statement(i)

    def _where(self, index: int) -> tuple:
        line = bisect.bisect_right(self._line_starts, index)
        return (line, index - self._line_starts[line - 1] + 1)

    def _skip_blank(self, i: int) -> int:
        text = self.text
        while i < len(text) and text[i] in " \t\r":
            i += 1
        return i

    def _statement(self, i: int) -> int:
        """Read one line's statement from ``i``; return where the next one starts."""
        text = self.text
        i = self._skip_blank(i)
        if i < len(text) and text[i] == "[":
            i = self._header(i)
        elif i < len(text) and text[i] not in "#\n":
            i = self._keyvalue(i)
        end = text.find("\n", i)  # what is left of the line: blanks, a comment
        return len(text) if end < 0 else end + 1

    def _key(self, i: int) -> tuple:
        """The dotted key at ``i`` as (parts, index after it); no parts when none is there."""
        part_re = _scan_res()[0]
        parts: list = []
        while True:
            i = self._skip_blank(i)
            m = part_re.match(self.text, i)
            if m is None:
                return (), i
            parts.append(_key_part(m.group(0)))
            i = self._skip_blank(m.end())
            if not self.text.startswith(".", i):
                return tuple(parts), i
            i += 1

    def _header(self, start: int) -> int:
        is_array = self.text.startswith("[[", start)
        path, i = self._key(start + (2 if is_array else 1))
        if not path:
            return i
        where = self._where(start)
        if is_array:
            array = self._resolve(path[:-1]) + path[-1:]
            idx = self._array_counts.get(array, -1) + 1
            self._array_counts[array] = idx
            self._current = array + (idx,)
            self.pos.setdefault(array, where)
        else:
            # [a.b] under an array of tables [[a]] refers to its last element
            self._current = self._resolve(path)
        self.pos.setdefault(self._current, where)
        return i

    def _keyvalue(self, start: int) -> int:
        path, i = self._key(start)
        if not path or not self.text.startswith("=", i):
            return i
        self.pos.setdefault(self._current + path, self._where(start))
        return self._skip_value(i + 1)

    def _skip_value(self, i: int) -> int:
        """Past the value at ``i`` (strings, arrays and inline tables over any lines)."""
        text, token_re = self.text, _scan_res()[1]
        depth = 0
        while i < len(text):
            char = text[i]
            if char in "\"'#":
                if char == "#" and depth <= 0:
                    return i
                m = token_re.match(text, i)
                i = m.end() if m else i + 1
                continue
            if char == "\n" and depth <= 0:
                return i
            depth += 1 if char in "[{" else -1 if char in "]}" else 0
            i += 1
        return i

    def _resolve(self, path: tuple) -> tuple:
        out: tuple = ()
        for part in path:
            out = out + (part,)
            if out in self._array_counts:
                out = out + (self._array_counts[out],)
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
            part = part if _BARE_KEY_RE.match(part) else '"%s"' % part.replace("\0", "\\u0000")
            out += ("." if out else "") + part
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
        """Check a table's keys and value types; return it (None when it is no table).

        Values of the right type are checked further: no NaN or infinity for a number,
        no NUL byte in a string (nor in an array's strings, a table's keys and strings)."""
        if not isinstance(value, dict):
            self.error(key_path, "must be a table")
            return None
        for key, val in value.items():
            expected = allowed.get(key)
            cls = val.__class__
            if expected is STR and cls is str:  # the common cases first, made quick
                if "\0" in val:
                    self.error(key_path + (key,), NUL_MESSAGE)
            elif (expected is BOOL and cls is bool) or (expected is TABLE and cls is dict):
                continue
            elif expected is None:
                self.error(key_path + (key,), "unknown key (known: %s)" % ", ".join(sorted(allowed)))
            elif not has_type(val, expected):
                self.error(key_path + (key,), "must be %s, not %s" % (expected, _type_name(val)))
            elif expected in _CLEANED:
                self.clean(key_path + (key,), val)
        return value

    def clean(self, key_path: tuple, val: object) -> None:
        """Report a non-finite number, or a NUL byte in a string, in a string of an
        array, or in a string of a table of strings. (Keys that are names, not fixed
        words, have rules of their own that keep NUL bytes out: see config.py.)"""
        if isinstance(val, str):
            if "\0" in val:
                self.error(key_path, NUL_MESSAGE)
        elif isinstance(val, float):
            if not math.isfinite(val):
                self.error(key_path, "must be a finite number, not %s" % val)
        elif isinstance(val, list):
            if any(isinstance(v, str) and "\0" in v for v in val):
                self.error(key_path, NUL_MESSAGE)
        elif isinstance(val, dict):
            for key, item in val.items():
                if isinstance(item, str) and "\0" in item:
                    self.error(key_path + (key,), NUL_MESSAGE)

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


# Editors on Windows save UTF-8 with a byte order mark; tomllib then reports "Invalid
# statement" at line 1, column 1, and a kickoff would send the invisible mark to an agent.
BOM_MESSAGE = ("starts with a byte order mark (BOM, U+FEFF, invisible in most editors): save the file as "
               "UTF-8 without BOM")


def read_text(path: str, what: str = "config") -> str:
    """A file's text; unreadable or non-UTF-8 files, and files that start with a byte order
    mark, raise ``ConfigError``."""
    try:
        with open(path, "rb", buffering=0) as handle:  # unbuffered: one read, no buffer to set up
            raw = handle.readall()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError([ConfigIssue(path, 0, 0, "", "cannot read %s: %s" % (what, reason))]) from None
    except ValueError:  # a NUL byte in the path
        shown = path.replace("\0", "\\0")
        raise ConfigError([ConfigIssue(shown, 0, 0, "", "cannot read %s: its path contains a NUL byte" % what)]) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ConfigError([ConfigIssue(path, 1, 1, "", BOM_MESSAGE)])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ConfigError([ConfigIssue(path, 1, 1, "", "not valid UTF-8: the file is UTF-16 (it starts with a "
                                           "UTF-16 byte order mark); save it as UTF-8")]) from None
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
        if text.startswith("\ufeff"):  # text not read by read_text (an edit, a module's content)
            raise ConfigError([ConfigIssue(path, 1, 1, "", BOM_MESSAGE)]) from None
        raise toml_error(path, text, exc) from None
    except (ValueError, RecursionError) as exc:  # e.g. nesting deeper than Python allows
        raise ConfigError([ConfigIssue(path, 1, 1, "", "invalid TOML: %s" % exc)]) from None
