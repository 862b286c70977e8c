# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few git operations projects need, each a plain ``git`` call with clear errors."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

from .errors import OrchestratorError

_SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")
# Local engine repositories are cloned over the file protocol, which git refuses for
# submodules unless allowed (CVE-2022-39253 hardening).
FILE_PROTOCOL = ("-c", "protocol.file.allow=always")
# Used only when the user has no identity configured, so a scaffold commit never fails.
FALLBACK_IDENTITY = ("-c", "user.name=agentloops.orchestrator", "-c", "user.email=agentloops@localhost")


class GitError(OrchestratorError):
    """A git command failed."""


def _run(args: list, cwd: str | None, text: bool) -> subprocess.CompletedProcess:
    """``git ARGS`` in ``cwd``; a git that cannot start (not installed, ``cwd`` gone) is a
    GitError naming the folder."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    try:
        return subprocess.run(["git"] + list(args), cwd=cwd, capture_output=True, text=text, env=env,
                              stdin=subprocess.DEVNULL, check=False)
    except OSError as exc:
        raise GitError("cannot run git in %s: %s" % (cwd or ".", exc.strerror or exc)) from None


def git(args: list, cwd: str | None = None, check: bool = True) -> str:
    proc = _run(args, cwd, text=True)
    if check and proc.returncode != 0:
        raise GitError("git %s failed: %s" % (" ".join(_shown(args)), (proc.stderr or proc.stdout).strip()))
    return proc.stdout.strip()


def _shown(args: list) -> list:
    """The arguments as an error shows them: ``-c user.*=...`` pairs (an identity) left out."""
    out: list = []
    for arg in args:
        if arg.startswith("user.") and out and out[-1] == "-c":
            out.pop()
        elif not arg.startswith("user."):
            out.append(arg)
    return out


def identity_args(cwd: str | None = None) -> tuple[str, ...]:
    return () if git(["config", "user.email"], cwd=cwd, check=False) else FALLBACK_IDENTITY


def is_local(repo: str) -> bool:
    return "://" not in repo and not re.match(r"^[\w.-]+@[\w.-]+:", repo)


def resolve_ref(repo: str, ref: str) -> str:
    """The commit ``ref`` (tag, branch, commit or HEAD) names in ``repo``, read-only.

    For a remote repository a commit id that no ref points at cannot be checked without
    fetching; it is returned as given and verified when it is checked out.
    """
    if is_local(repo):
        if not os.path.isdir(repo):
            raise GitError("engine repository %s does not exist" % repo)
        out = git(["rev-parse", "--verify", "--quiet", ref + "^{commit}"], cwd=repo, check=False)
        if not out:
            out = git(["rev-parse", "--verify", "--quiet", "origin/%s^{commit}" % ref], cwd=repo, check=False)
        if not out:
            raise GitError("ref %r not found in engine repository %s" % (ref, repo))
        return out
    listing = git(["ls-remote", repo, ref, ref + "^{}"])
    peeled = {}
    for line in listing.splitlines():
        sha, name = line.split("\t", 1)
        peeled[name] = sha
    for name in ("refs/tags/%s^{}" % ref, "refs/tags/%s" % ref, "refs/heads/%s" % ref, ref):
        if name in peeled:
            return peeled[name]
    if _SHA_RE.match(ref):
        return ref
    raise GitError("ref %r not found in engine repository %s" % (ref, repo))


def show_file(repo: str, commit: str, path: str) -> str | None:
    """A file's text at a commit of a local repository (None when it is not there)."""
    if not is_local(repo):
        return None
    proc = _run(["show", "%s:%s" % (commit, path)], repo, text=False)
    return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One line of ``git status``: ``code`` is the two letters ``git status --short`` shows
    (``??`` untracked, ``A `` staged, `` M`` modified, ...); ``submodule`` the porcelain v2
    field (``S<c><m><u>`` for a submodule: C its commit changed, M its tracked files, U it
    holds untracked files; ``N...`` otherwise)."""

    code: str
    path: str
    submodule: str = "N..."

    @property
    def is_submodule(self) -> bool:
        return self.submodule.startswith("S")

    def shown(self) -> str:
        """As ``git status --short`` shows it (a name that is not UTF-8 made printable)."""
        return "%s %s" % (self.code, self.path.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def parse_status(text: str) -> list[StatusEntry]:
    """The entries of ``git status --porcelain=v2 -z`` output (headers and ignored files
    left out); paths are exactly as git gives them, spaces and newlines included."""
    entries: list[StatusEntry] = []
    fields = text.split("\0")
    index = 0
    while index < len(fields):
        record = fields[index]
        index += 1
        if not record or record.startswith(("#", "! ")):
            continue
        if record.startswith("? "):
            entries.append(StatusEntry("??", record[2:]))
            continue
        kind = record[:1]
        parts = record.split(" ", {"1": 8, "2": 9, "u": 10}.get(kind, 0))
        if kind not in ("1", "2", "u") or len(parts) < 3:
            raise GitError("cannot read git status output: %r" % record[:200])
        if kind == "2":
            index += 1  # the rename's original path
        entries.append(StatusEntry(parts[1].replace(".", " "), parts[-1], parts[2]))
    return entries


def status(repo: str) -> list[StatusEntry]:
    """What ``git status`` reports in ``repo``: untracked files one by one, staged and
    modified files, submodules with their own changes. Ignored files are not reported."""
    proc = _run(["status", "--porcelain=v2", "-z", "--untracked-files=all", "--ignore-submodules=none"], repo,
                text=False)
    if proc.returncode != 0:
        raise GitError("git status failed in %s: %s" % (repo, os.fsdecode(proc.stderr or proc.stdout).strip()))
    return parse_status(os.fsdecode(proc.stdout))
