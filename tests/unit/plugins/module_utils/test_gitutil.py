# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gitutil's own logic with git replaced by fakes: which repositories are local, how a remote
ref is picked from ``ls-remote``, and the errors. Real git: tests/integration/test_scaffold.py."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import gitutil
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import OrchestratorError

TAG, PEELED, BRANCH = "a" * 40, "b" * 40, "c" * 40


@pytest.mark.parametrize("repo, local", [("/srv/engine", True), ("engine", True), ("./a:b", True),
                                         ("https://example.invalid/engine.git", False),
                                         ("file:///srv/engine", False), ("git@example.invalid:team/engine.git", False),
                                         ("deploy.bot@git.example-host.invalid:x", False)])
def test_is_local(repo, local):
    assert gitutil.is_local(repo) is local


def fake_git(monkeypatch, listing: str) -> list:
    calls: list = []

    def git(args, cwd=None, check=True):
        calls.append(list(args))
        return listing

    monkeypatch.setattr(gitutil, "git", git)
    return calls


def test_a_remote_tag_resolves_to_its_peeled_commit(monkeypatch):
    calls = fake_git(monkeypatch, "%s\trefs/tags/v1\n%s\trefs/tags/v1^{}\n%s\trefs/heads/v1\n" % (TAG, PEELED, BRANCH))
    assert gitutil.resolve_ref("https://example.invalid/e.git", "v1") == PEELED
    assert calls == [["ls-remote", "https://example.invalid/e.git", "v1", "v1^{}"]]


@pytest.mark.parametrize("listing, expected", [
    ("%s\trefs/tags/v1\n%s\trefs/heads/v1\n" % (TAG, BRANCH), TAG),  # a lightweight tag before a branch
    ("%s\trefs/heads/v1\n" % BRANCH, BRANCH),
    ("%s\tv1\n" % BRANCH, BRANCH),
])
def test_remote_refs_are_tried_tag_then_branch(monkeypatch, listing, expected):
    fake_git(monkeypatch, listing)
    assert gitutil.resolve_ref("https://example.invalid/e.git", "v1") == expected


def test_an_unlisted_remote_commit_id_is_taken_as_given(monkeypatch):
    fake_git(monkeypatch, "")
    assert gitutil.resolve_ref("https://example.invalid/e.git", "deadbee") == "deadbee"
    with pytest.raises(gitutil.GitError, match="ref 'nope' not found in engine repository https://example"):
        gitutil.resolve_ref("https://example.invalid/e.git", "nope")


def test_a_missing_local_repository_is_named_without_running_git(monkeypatch, tmp_path):
    calls = fake_git(monkeypatch, "")
    with pytest.raises(gitutil.GitError, match="engine repository %s does not exist" % (tmp_path / "gone")):
        gitutil.resolve_ref(str(tmp_path / "gone"), "HEAD")
    assert calls == []


def test_a_local_ref_falls_back_to_the_origin_branch(monkeypatch, tmp_path):
    answers = {"main^{commit}": "", "origin/main^{commit}": BRANCH}
    calls: list = []

    def git(args, cwd=None, check=True):
        calls.append((args[-1], cwd, check))
        return answers[args[-1]]

    monkeypatch.setattr(gitutil, "git", git)
    assert gitutil.resolve_ref(str(tmp_path), "main") == BRANCH
    assert calls == [("main^{commit}", str(tmp_path), False), ("origin/main^{commit}", str(tmp_path), False)]
    answers["origin/main^{commit}"] = ""
    with pytest.raises(gitutil.GitError, match="ref 'main' not found"):
        gitutil.resolve_ref(str(tmp_path), "main")


def test_show_file_of_a_remote_repository_is_unknown(monkeypatch):
    monkeypatch.setattr(gitutil, "_run", lambda *a, **k: pytest.fail("git was run"))
    assert gitutil.show_file("https://example.invalid/e.git", TAG, "agents.example.toml") is None


def fake_run(monkeypatch, returncode=0, stdout="", stderr=""):
    seen: list = []

    def run(args, cwd, text):
        seen.append((list(args), cwd, text))
        return subprocess.CompletedProcess(["git"] + list(args), returncode, stdout, stderr)

    monkeypatch.setattr(gitutil, "_run", run)
    return seen


def test_git_returns_stripped_output(monkeypatch):
    seen = fake_run(monkeypatch, stdout="  abc\n")
    assert gitutil.git(["rev-parse", "HEAD"], cwd="/r") == "abc"
    assert seen == [(["rev-parse", "HEAD"], "/r", True)]


def test_a_failure_is_a_git_error_without_the_identity_arguments(monkeypatch):
    fake_run(monkeypatch, returncode=128, stderr="fatal: bad thing\n")
    with pytest.raises(gitutil.GitError) as info:
        gitutil.git(list(gitutil.FALLBACK_IDENTITY) + ["commit", "-m", "x"])
    assert str(info.value) == "git commit -m x failed: fatal: bad thing"
    assert isinstance(info.value, OrchestratorError)
    assert gitutil.git(["status"], check=False) == ""


def test_a_failure_without_stderr_shows_stdout(monkeypatch):
    fake_run(monkeypatch, returncode=1, stdout="nothing to commit\n")
    with pytest.raises(gitutil.GitError, match="^git commit failed: nothing to commit$"):
        gitutil.git(["commit"])


@pytest.mark.parametrize("email, expected", [("me@example.invalid", ()), ("", gitutil.FALLBACK_IDENTITY)])
def test_the_fallback_identity_only_when_none_is_configured(monkeypatch, email, expected):
    fake_run(monkeypatch, stdout=email)
    assert gitutil.identity_args("/r") == expected


def test_a_git_that_cannot_start_is_a_git_error_naming_the_folder(monkeypatch):
    seen: list = []

    def run(argv, **kwargs):
        seen.append((argv, kwargs["env"]["GIT_TERMINAL_PROMPT"], kwargs["env"]["LC_ALL"], kwargs["stdin"]))
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(gitutil.subprocess, "run", run)
    with pytest.raises(gitutil.GitError, match="^cannot run git in /gone: No such file or directory$"):
        gitutil.git(["status"], cwd="/gone")
    assert seen == [(["git", "status"], "0", "C", subprocess.DEVNULL)]


# What `git status --porcelain=v2 -z` printed for a tree with each kind of change (a header
# of --branch, an ignored file, a rename with its original path, a conflict, a name with a
# space, a submodule with a new commit and untracked content).
PORCELAIN = "\0".join([
    "# branch.oid " + TAG,
    "1 .M N... 100644 100644 100644 %s %s agents.toml" % (TAG, TAG),
    "1 A. N... 000000 100644 100644 %s %s staged.txt" % ("0" * 40, TAG),
    "2 R. N... 100644 100644 100644 %s %s R100 new name.md" % (TAG, TAG), "old name.md",
    "u UU N... 100644 100644 100644 100644 %s %s %s both.txt" % (TAG, PEELED, BRANCH),
    "1 .M SC.U 160000 160000 160000 %s %s engine" % (TAG, TAG),
    "? NOTES.md",
    "? sp ace/x y.txt",
    "! build/out.o",
    ""])


def test_porcelain_v2_is_read_as_git_status_short_shows_it():
    entries = gitutil.parse_status(PORCELAIN)
    assert [e.shown() for e in entries] == [" M agents.toml", "A  staged.txt", "R  new name.md", "UU both.txt",
                                            " M engine", "?? NOTES.md", "?? sp ace/x y.txt"]
    assert [e.path for e in entries if e.is_submodule] == ["engine"]
    assert entries[4].submodule == "SC.U"
    assert gitutil.parse_status("") == []


def test_a_name_that_is_not_utf8_is_shown_printable():
    entry = gitutil.parse_status("? we\udcffird\0")[0]
    assert entry.path == "we\udcffird" and entry.shown() == "?? we\ufffdird"


def test_unreadable_status_output_is_an_error():
    with pytest.raises(gitutil.GitError, match="cannot read git status output: 'X what'"):
        gitutil.parse_status("X what\0")
