# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``agents.py status`` does before the engine is imported: the parsed-config cache,
and the one tmux read started early.

Done one after the other, status costs Python's imports and the parse of agents.toml (the
engine's, tomllib's: most of its time at a thousand agents) plus tmux's answer to the one
``list-panes`` (tmux's: most of the rest). So:

- **The parsed-config cache** (``state/.<config name>.parsed``, in the default state folder
  ``state`` beside the config): what tomllib made of agents.toml, stored with the whole text
  it was made from, the config's path and the Python version (tomllib's and marshal's
  format), so it is used only for that exact text: any change of the file is a miss, and a
  miss is the ordinary parse. The engine's path validates the config from it as from a fresh
  parse; beside it is quick.py's **view** of the validated project, with the stamp of what
  that validation read besides the text, which a later status shows from (without loading
  the engine or validating) only while the stamp holds. Written by status only
  (``config.load(..., cached=True)``), atomically, 0600, when the project's state folder is
  that default one and exists; never read through a symlink.
- **The early read**: the shim (agents.py) calls ``start`` first; for ``status`` with no
  options and a cache hit, the socket the validated config named when the cache was written
  is checked (``tmuxproc.check_socket``) and its ``list-panes`` spawned at once, so tmux
  answers while the engine imports. quick.py ``peek``s at it (and waits for it) when it may
  answer from the view; ``TmuxServer.sessions`` ``take``s it only when it asks the very
  same argv (the server the validated config names now); otherwise the early read is left
  unused (it was only a read).

Imports nothing but gc, os, sys and marshal (and tmuxproc): it runs before the engine is loaded.
"""

from __future__ import annotations

import gc
import marshal
import os
import sys

from . import tmuxproc

CACHE_FORMAT = 2  # what a cache file holds; a file of another format is a miss
DEFAULT_STATE_DIR = "state"  # [project] state_dir when the config names none (config.py)
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC
_CACHE_MAX = 64 << 20  # a larger cache file is not read

# The early read (argv, Spawned) and what ``start`` read: (config path, text, data).
_early: list = []
_parsed: list = []


def default_config(engine_root: str) -> str:
    """The agents.toml a command uses without ``--config``: ./agents.toml, else the one
    beside the engine checkout (else ./agents.toml, to say it is missing)."""
    here = os.path.abspath("agents.toml")
    if os.path.exists(here):
        return here
    beside = os.path.join(os.path.dirname(os.path.abspath(engine_root)), "agents.toml")
    return beside if os.path.exists(beside) else here


def cache_path(config_path: str) -> str:
    """The parsed-config cache of an agents.toml (an absolute path): in the default state folder."""
    root, name = os.path.split(config_path)
    return os.path.join(root, DEFAULT_STATE_DIR, ".%s.parsed" % name)


def is_cache(path: str) -> bool:
    """Whether ``path`` is named as a parsed-config cache (``cache_path``): derived data,
    which a snapshot does not record (status rewrites it whenever agents.toml changes)."""
    folder, name = os.path.split(path)
    return os.path.basename(folder) == DEFAULT_STATE_DIR and name.startswith(".") and name.endswith(".parsed") \
        and len(name) > len("..parsed")


def _key(config_path: str) -> tuple:
    return (CACHE_FORMAT, sys.hexversion, config_path)


def read_cache(config_path: str, text: str) -> tuple[dict, str, tuple | None] | None:
    """``(data, socket, view)`` cached for exactly this text of ``config_path`` (absolute):
    what tomllib made of it, the tmux socket its validated project named, and quick.py's
    view of that project (``(stamp, plan)``, or None); None on any miss (no file, a symlink,
    another text, path, Python or format, an unreadable file)."""
    if _parsed and _parsed[0][:2] == (config_path, text):
        return _parsed[0][2]
    try:
        fd = os.open(cache_path(config_path), os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK)
    except (OSError, ValueError):
        return None
    try:
        info = os.fstat(fd)
        if not (info.st_mode & 0o170000 == 0o100000 and info.st_size < _CACHE_MAX and info.st_uid == os.geteuid()):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read()
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        entry = marshal.loads(raw)
    except (EOFError, ValueError, TypeError):
        return None
    if not (isinstance(entry, tuple) and len(entry) == 7 and entry[:3] == _key(config_path) and entry[3] == text
            and isinstance(entry[4], dict) and isinstance(entry[5], str)
            and (entry[6] is None or isinstance(entry[6], tuple) and len(entry[6]) == 2)):
        return None
    return entry[4], entry[5], entry[6]


def write_cache(config_path: str, text: str, data: dict, socket: str, view: tuple | None = None) -> bool:
    """Cache what tomllib made of ``text`` (``data``), the socket its validated project
    names and quick.py's ``view`` of it; False when it is not written: the default state
    folder does not exist, the data holds what marshal does not keep exactly (TOML dates and
    times), the folder is not the caller's own (another user's project read by root), or the
    write failed. Not durable (no fsync): it is derived data, and a lost one is a miss."""
    from .errors import OrchestratorError
    from .fsutil import atomic_write

    path = cache_path(config_path)
    try:  # only into a state folder of the caller's own: root looking at a user's project leaves nothing there
        if os.stat(os.path.dirname(path)).st_uid != os.geteuid() or not os.path.isdir(os.path.dirname(path)):
            return False
    except OSError:
        return False
    if not (_plain(data) and (view is None or _plain(view))):
        return False
    try:
        atomic_write(path, marshal.dumps(_key(config_path) + (text, data, socket, view)), 0o600, durable=False)
    except OrchestratorError:
        return False
    return True


def _plain(value: object) -> bool:
    """Whether a parsed TOML value is made only of what marshal gives back as it was."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float))  # bool is an int


def start(argv: list[str], engine_root: str) -> None:
    """For ``status`` with no options: start the one tmux read of the project's server now
    (see the module's docstring), and turn the cyclic garbage collector off for the
    process. Does nothing, and never fails, otherwise."""
    if argv != ["status"]:
        return
    # A status process is short and makes next to no garbage cycles (at 1000 agents the
    # collector ran 29 passes that found 179 objects, a few ms): it runs without them.
    gc.disable()
    try:
        path = default_config(engine_root)
        with open(path, "rb", buffering=0) as handle:
            text = handle.readall().decode("utf-8")
        hit = read_cache(path, text)
        if hit is None:
            return
        _parsed[:] = [(path, text, hit)]
        tmuxproc.check_socket(hit[1])
        argv = tmuxproc.list_panes_argv(hit[1])
        _early[:] = [(argv, tmuxproc.Spawned(argv))]
    except Exception:  # pylint: disable=broad-exception-caught  # the ordinary path says what is wrong
        _early.clear()


def cached_view() -> tuple[str, dict, tuple] | None:
    """``(config path, data, view)`` of what ``start`` read, when its cache held a view of
    the validated project (quick.py's); else None."""
    if _parsed and _parsed[0][2][2] is not None:
        return _parsed[0][0], _parsed[0][2][0], _parsed[0][2][2]
    return None


def peek() -> tmuxproc.Spawned | None:
    """The early read, left for ``take`` (quick.py waits for it; the engine's path may take
    the same answer after)."""
    return _early[0][1] if _early else None


def take(argv: list[str]) -> tmuxproc.Spawned | None:
    """The early read when it is this very read (the same argv), once; else None."""
    if _early and _early[0][0] == argv:
        return _early.pop()[1]
    return None
