# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Projects: scaffold one (a git repository with the engine pinned as a submodule), move
its engine pin, and remove it.

A scaffolded project tracks exactly ``.gitignore``, ``.gitmodules``, ``agents.toml`` and
``engine`` — no orchestrator or fleet metadata. It is recognised by a key in its local git
config (``agentloops.scaffold``), which is not a tracked file. Everything that can be
checked is checked before anything is created; a failure half-way removes what was made.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

from . import config as config_mod
from .errors import ConfigError, OrchestratorError
from .fsutil import atomic_write, holds_home_or_root
from .gitutil import FILE_PROTOCOL, StatusEntry, git, identity_args, resolve_ref, show_file
from .gitutil import status as git_status
from .tomlcheck import read_text

TRACKED = (".gitignore", ".gitmodules", "agents.toml", "engine")
MARKER = "agentloops.scaffold"
ENGINE_DIR = "engine"
EXAMPLE = "agents.example.toml"
# What a project's engine checkout needs: the CLI shim, the core, the agent profiles, the
# example config and its kickoffs. store_engine commits exactly these.
ENGINE_FILES = ("LICENSE", "agents.py", EXAMPLE, "kickoffs", "plugins/module_utils", "profiles")
STORE_IDENTITY = ("-c", "user.name=agentloops.orchestrator", "-c", "user.email=agentloops@localhost")
# A fixed date: the same collection files make the same commit on every host.
STORE_DATE = "2026-01-01T00:00:00+00:00"


def engine_name(repo: str) -> str:
    base = os.path.basename(repo.rstrip("/"))
    return base[:-4] if base.endswith(".git") else base


def collection_version(source: str) -> str:
    """The version of the collection at ``source``: its MANIFEST.json (an installed
    collection) or its galaxy.yml (a checkout)."""
    manifest = os.path.join(source, "MANIFEST.json")
    if os.path.isfile(manifest):
        try:
            with open(manifest, encoding="utf-8") as handle:
                version = json.load(handle)["collection_info"]["version"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise OrchestratorError("cannot read the collection's version from %s: %s" % (manifest, exc)) from None
        if isinstance(version, str) and version:
            return version
        raise OrchestratorError("%s has no collection_info.version" % manifest)
    galaxy = os.path.join(source, "galaxy.yml")
    if os.path.isfile(galaxy):
        match = re.search(r"^version:\s*['\"]?([^'\"\s#]+)", read_text(galaxy), re.MULTILINE)
        if match:
            return match.group(1)
    raise OrchestratorError("%s is not a collection (no MANIFEST.json or galaxy.yml with a version)" % source)


def _engine_paths(source: str) -> list[str]:
    """The engine's files under ``source``, relative, sorted (caches left out)."""
    out: list[str] = []
    for entry in ENGINE_FILES:
        top = os.path.join(source, entry)
        if os.path.isfile(top):
            out.append(entry)
            continue
        if not os.path.isdir(top):
            raise OrchestratorError("the engine at %s is incomplete: %s is missing" % (source, entry))
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            rel = os.path.relpath(folder, source)
            out.extend(os.path.join(rel, name) for name in files if not name.endswith((".pyc", ".pyo")))
    return sorted(out)


def store_engine(source: str, store: str, check_mode: bool = False) -> dict:
    """Record the engine files of the collection at ``source`` (installed or checked out) as
    one commit tagged ``v<version>`` in the git repository ``store`` (made when missing), so
    that a project can pin it as a submodule like any engine repository. Idempotent: a tag
    already holding exactly these files is kept; the same version with other files is refused
    (it would move a pin projects rely on). Returns ``repo``, ``ref``, ``commit``, ``changed``."""
    if not os.path.isabs(store):
        raise OrchestratorError("the engine store must be an absolute path, got %r" % store)
    if not os.path.isdir(source):
        raise OrchestratorError("the collection's engine is not on this host (%s does not exist): for a project on "
                                "another host than the controller, give engine_repo (a repository that host can "
                                "clone)" % source)
    version = collection_version(source)
    tag = "v" + version
    paths = _engine_paths(source)
    result: dict = {"repo": store, "ref": tag, "commit": "", "changed": False}
    fresh = not os.path.isdir(os.path.join(store, ".git"))
    if not fresh:
        result["commit"] = git(["rev-parse", "--verify", "--quiet", tag + "^{commit}"], cwd=store, check=False)
    if check_mode:  # a tag already there is taken as it is; its files are compared in a real run
        result["changed"] = not result["commit"]
        return result
    if fresh:
        if os.path.exists(store) and (not os.path.isdir(store) or os.listdir(store)):
            raise OrchestratorError("refusing to make the engine store %s: it exists and is not an empty folder or a "
                                    "git repository" % store)
        os.makedirs(store, exist_ok=True)
        git(["init", "-q", "-b", "main", store])
    work = store
    for rel in git(["ls-files", "-z"], cwd=work).split("\0"):
        if rel and rel not in paths and os.path.lexists(os.path.join(work, rel)):
            os.unlink(os.path.join(work, rel))
    for rel in paths:
        os.makedirs(os.path.dirname(os.path.join(work, rel)), exist_ok=True)
        shutil.copyfile(os.path.join(source, rel), os.path.join(work, rel))
        shutil.copymode(os.path.join(source, rel), os.path.join(work, rel))
    git(["add", "-A", "--"] + list(ENGINE_FILES), cwd=work)
    tree = git(["write-tree"], cwd=work)
    if result["commit"]:
        tagged = git(["rev-parse", tag + "^{tree}"], cwd=work)
        if tagged != tree:
            raise OrchestratorError("the engine store %s already has %s with other files (a collection rebuilt with the "
                                    "same version?): give engine_repo and engine_ref, or bump the collection's version"
                                    % (store, tag))
        return result
    head = git(["rev-parse", "--verify", "--quiet", "HEAD"], cwd=work, check=False)
    parents = ["-p", head] if head else []
    commit = _commit_tree(work, tree, parents, "agentloops.orchestrator %s: the engine of the collection" % version)
    git(["update-ref", "refs/heads/main", commit], cwd=work)
    git(["tag", tag, commit], cwd=work)
    result.update(commit=commit, changed=True)
    return result


def _commit_tree(work: str, tree: str, parents: list[str], message: str) -> str:
    """A commit of ``tree`` with the store's fixed identity and date (so it is reproducible)."""
    import subprocess

    env = dict(os.environ, GIT_AUTHOR_DATE=STORE_DATE, GIT_COMMITTER_DATE=STORE_DATE, LC_ALL="C")
    proc = subprocess.run(["git"] + list(STORE_IDENTITY) + ["commit-tree", tree] + parents + ["-m", message],
                          cwd=work, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        raise OrchestratorError("git commit-tree failed in %s: %s" % (work, proc.stderr.strip()))
    return proc.stdout.strip()


def check_target(project_dir: str) -> str:
    """The normalised project folder; refuses paths a project must never be."""
    if not project_dir or not os.path.isabs(project_dir):
        raise OrchestratorError("project_dir must be an absolute path, got %r" % project_dir)
    path = os.path.normpath(project_dir)
    if holds_home_or_root(os.path.realpath(path)):
        raise OrchestratorError("refusing %s: a project folder must not be / , your home folder or one of its "
                                "parents" % path)
    return path


def is_project(path: str) -> bool:
    return (os.path.isdir(os.path.join(path, ".git"))
            and git(["config", "--local", "--get", MARKER], cwd=path, check=False) != "")


def render_agents(source: str, source_path: str, target_path: str, name: str | None, prefix: str | None,
                  tmux_socket: str | None) -> str:
    """The project's agents.toml: the source with name, prefix and socket set by
    style-preserving edits, validated as the project's file."""
    from .config_edit import set_project_keys

    config_mod.parse(source, source_path)  # a broken source is reported against its own file
    return set_project_keys(source, {"name": name, "session_prefix": prefix, "tmux_socket": tmux_socket},
                            target_path)


def gitignore_for(project) -> str:
    lines = ["# Kept out of git: the engine's runtime state and the agents' logs."]
    for folder in (project.state_dir, project.log_dir):
        rel = os.path.relpath(folder, project.root)
        if not rel.startswith(".."):
            lines.append("/%s/" % rel)
    lines.append("__pycache__/")
    return "\n".join(lines) + "\n"


@dataclass(slots=True)
class Plan:
    """What scaffolding would do (or found already done). ``agents_text`` is None until a
    remote engine's example is known (``create`` fills it in)."""

    project_dir: str
    exists: bool
    engine_repo: str
    engine_ref: str
    engine_commit: str
    agents_text: str | None
    gitignore_text: str | None
    name: str | None
    session_prefix: str | None

    def as_dict(self) -> dict:
        return {"project_dir": self.project_dir, "name": self.name, "session_prefix": self.session_prefix,
                "engine": {"repo": self.engine_repo, "ref": self.engine_ref, "commit": self.engine_commit,
                           "pin": "%s@%s" % (engine_name(self.engine_repo or ""), self.engine_ref)},
                "tracked_files": list(TRACKED)}


@dataclass(frozen=True, slots=True)
class Removal:
    """A removal ``check_removable`` allows: the folder, the real folder when ``path`` is a
    symbolic link (else ""), and the work git does not hold that it discards (forced)."""

    path: str
    target: str = ""
    lost: list[str] = field(default_factory=list)


def existing(project_dir: str) -> Plan:
    """Describe a scaffolded project as it is."""
    url = git(["config", "-f", ".gitmodules", "--get", "submodule.%s.url" % ENGINE_DIR], cwd=project_dir, check=False)
    commit = git(["rev-parse", "HEAD:%s" % ENGINE_DIR], cwd=project_dir, check=False)
    ref = git(["config", "--local", "--get", MARKER], cwd=project_dir, check=False)
    agents_path = os.path.join(project_dir, "agents.toml")
    text = read_text(agents_path) if os.path.exists(agents_path) else ""
    name = prefix = None
    try:
        project = config_mod.parse(text, agents_path)
        name, prefix = project.name, project.session_prefix
    except ConfigError:
        pass
    return Plan(project_dir=project_dir, exists=True, engine_repo=url, engine_ref=ref, engine_commit=commit,
                agents_text=text, gitignore_text=None, name=name, session_prefix=prefix)


def plan_create(project_dir: str, engine_repo: str, engine_ref: str, *, agents_config: str | None = None,
                project_name: str | None = None, session_prefix: str | None = None,
                tmux_socket: str | None = None) -> Plan:
    """Check everything and compute the files; touch nothing. An existing scaffolded
    project is returned as it is (scaffolding is idempotent)."""
    path = check_target(project_dir)
    if os.path.exists(path):
        if is_project(path):
            return existing(path)
        if not os.path.isdir(path) or os.listdir(path):
            raise OrchestratorError("refusing to scaffold into %s: it exists and is not an empty folder or a "
                                    "scaffolded project" % path)
    if not engine_repo:
        raise OrchestratorError("engine_repo is required to scaffold a project")
    if "://" not in engine_repo and not os.path.isabs(engine_repo) and ":" not in engine_repo:
        raise OrchestratorError("a local engine_repo must be an absolute path, got %r" % engine_repo)
    commit = resolve_ref(engine_repo, engine_ref)
    name = project_name or os.path.basename(path)
    target = os.path.join(path, "agents.toml")
    source: str | None
    if agents_config:
        source_path = os.path.abspath(agents_config)
        source = read_text(source_path)
    else:
        source_path = "%s@%s:%s" % (engine_repo, engine_ref, EXAMPLE)
        source = show_file(engine_repo, commit, EXAMPLE)
    agents_text = None
    gitignore_text = None
    if source is not None:
        agents_text = render_agents(source, source_path, target, name,
                                    session_prefix if session_prefix is not None else config_mod.default_prefix(name), tmux_socket)
        gitignore_text = gitignore_for(config_mod.parse(agents_text, target))
    return Plan(project_dir=path, exists=False, engine_repo=engine_repo, engine_ref=engine_ref,
                engine_commit=commit, agents_text=agents_text, gitignore_text=gitignore_text, name=name,
                session_prefix=session_prefix if session_prefix is not None else config_mod.default_prefix(name))


def create(plan: Plan, *, tmux_socket: str | None = None) -> Plan:
    """Carry out a plan from ``plan_create``: a git repository with the engine submodule
    pinned at the plan's commit, agents.toml, .gitignore and one commit."""
    if plan.exists:
        return plan
    path = plan.project_dir
    made_dir = not os.path.exists(path)
    try:
        os.makedirs(path, exist_ok=True)
        git(["init", "-q", path])
        git(list(FILE_PROTOCOL) + ["submodule", "add", "-q", plan.engine_repo, ENGINE_DIR], cwd=path)
        engine = os.path.join(path, ENGINE_DIR)
        git(list(FILE_PROTOCOL) + ["fetch", "-q", "--tags", "origin"], cwd=engine, check=False)
        git(["checkout", "-q", "--detach", plan.engine_commit], cwd=engine)
        plan.engine_commit = git(["rev-parse", "HEAD"], cwd=engine)
        if plan.agents_text is None:  # a remote engine: its example is known only now
            source_path = os.path.join(engine, EXAMPLE)
            plan.agents_text = render_agents(read_text(source_path), source_path, os.path.join(path, "agents.toml"),
                                             plan.name, plan.session_prefix, tmux_socket)
            plan.gitignore_text = gitignore_for(config_mod.parse(plan.agents_text, os.path.join(path, "agents.toml")))
        atomic_write(os.path.join(path, "agents.toml"), plan.agents_text)
        atomic_write(os.path.join(path, ".gitignore"), plan.gitignore_text or "")
        git(["add", ".gitignore", ".gitmodules", "agents.toml", ENGINE_DIR], cwd=path)
        message = "Scaffold project %s with engine %s@%s\n\nEngine pinned at %s." % (
            plan.name, engine_name(plan.engine_repo), plan.engine_ref, plan.engine_commit)
        git(list(identity_args(path)) + ["commit", "-q", "-m", message], cwd=path)
        git(["config", "--local", MARKER, plan.engine_ref], cwd=path)
    except BaseException:
        if made_dir:
            shutil.rmtree(path, ignore_errors=True)
        else:
            for entry in os.listdir(path):
                target = os.path.join(path, entry)
                shutil.rmtree(target, ignore_errors=True) if os.path.isdir(target) else os.unlink(target)
        raise
    return plan


def tracked_files(project_dir: str) -> list:
    return sorted(git(["ls-files"], cwd=project_dir).splitlines())


def engine_folders(project) -> tuple[str, ...]:
    """The project's folders the engine itself writes (its state_dir and log_dir), relative
    to its root with ``/`` separators, when they are inside it."""
    out = []
    for folder in (project.state_dir, project.log_dir):
        rel = os.path.relpath(folder, project.root)
        if rel != "." and not rel.startswith(".."):
            out.append(rel.replace(os.sep, "/"))
    return tuple(out)


def _inside(path: str, folders: tuple[str, ...]) -> bool:
    return any(path == folder or path.startswith(folder + "/") for folder in folders)


def _below(inner: Callable[[str], list[StatusEntry]], base: str) -> Callable[[str], list[StatusEntry]]:
    return lambda sub: inner(base + "/" + sub)


def lost_work(entries: list[StatusEntry], skipped: tuple[str, ...],
              inner: Callable[[str], list[StatusEntry]]) -> list[str]:
    """What removing a work tree would lose that git does not hold, one ``git status
    --short`` line each: untracked, staged and modified files, outside the ``skipped``
    folders (what the engine writes). A submodule with changes of its own is listed file by
    file (``inner(path)`` is its ``git status``), a submodule checked out at a commit other
    than the one recorded as ``(new commits)``. What .gitignore ignores is not listed."""
    out: list[str] = []
    for entry in entries:
        if _inside(entry.path, skipped):
            continue
        if not entry.is_submodule:
            out.append(entry.shown())
            continue
        flags = entry.submodule
        inside: list[str] = []
        if "M" in flags[2:] or "U" in flags[2:]:
            inside = ["%s %s/%s" % (line[:2], entry.path, line[3:])
                      for line in lost_work(inner(entry.path), (), _below(inner, entry.path))]
        notes = ["new commits"] if flags[1] == "C" else []
        if not inside and not notes:
            notes = [word for flag, word in ((flags[2], "modified content"), (flags[3], "untracked content"))
                     if flag != "."] or ["changed"]
        if notes:
            out.append("%s (%s)" % (entry.shown(), ", ".join(notes)))
        out.extend(inside)
    return out


def work_at_risk(path: str) -> list[str]:
    """``lost_work`` of the project at ``path`` (its state and log folders skipped; all of
    the tree when its agents.toml cannot be read)."""
    try:
        skipped = engine_folders(config_mod.load(os.path.join(path, "agents.toml")))
    except OrchestratorError:
        skipped = ()
    return lost_work(git_status(path), skipped, lambda sub: git_status(os.path.join(path, sub)))


def check_removable(project_dir: str, live_sessions: Callable | None, stopping: tuple = (), *,
                    force: bool = False) -> Removal | None:
    """What removing the project at ``project_dir`` means, None when there is nothing to
    remove. Refused: anything that is not a scaffolded project; unless ``force``, a
    project_dir that is a symbolic link (the real project would go with it) and a work tree
    holding work git does not (``work_at_risk``: only the work tree and index are looked at,
    not unpushed commits); a project whose agents still run.

    ``live_sessions(project)`` returns the names of the project's running sessions (None:
    not asked, for a check made before they are stopped); ``stopping`` names sessions an
    earlier step of a check-mode plan would stop.
    """
    path = check_target(project_dir)
    if not os.path.exists(path):
        return None
    if not is_project(path):
        raise OrchestratorError("refusing to remove %s: it is not a project scaffolded by agentloops.orchestrator "
                                "(no %s key in its git config)" % (path, MARKER))
    target = os.path.realpath(path) if os.path.islink(path) else ""
    if target and not force:
        raise OrchestratorError("refusing to remove %s: it is a symbolic link to %s, and removing it would delete "
                                "the project there; give the real folder, or force the removal (force_remove=true) "
                                "to remove both" % (path, target))
    try:
        lost = work_at_risk(path)
    except OrchestratorError as exc:
        if not force:
            raise
        lost = ["(not known: %s)" % exc]
    if lost and not force:
        raise OrchestratorError("refusing to remove %s: git does not hold this work, it would be lost: %s; commit it "
                                "or move it away first, or force the removal (force_remove=true)"
                                % (path, "; ".join(lost)))
    if live_sessions is not None:
        project = config_mod.load(os.path.join(path, "agents.toml"))
        running = [name for name in live_sessions(project) if name not in stopping]
        if running:
            raise OrchestratorError("refusing to remove %s: its agents still run (%s); tear them down first"
                                    % (path, ", ".join(running)))
    return Removal(path, target, lost)


def remove(path: str) -> None:
    """Remove the project folder; through a symbolic link, the real folder and the link."""
    try:
        if os.path.islink(path):
            shutil.rmtree(os.path.realpath(path))
            os.unlink(path)
        else:
            shutil.rmtree(path)
    except OSError as exc:
        raise OrchestratorError("cannot remove %s: %s" % (path, exc.strerror or exc)) from None


def pin_engine(project_dir: str, ref: str, check_mode: bool = False) -> dict:
    """Move the project's engine pin to ``ref`` and commit; returns old and new commits."""
    path = check_target(project_dir)
    if not is_project(path):
        raise OrchestratorError("%s is not a project scaffolded by agentloops.orchestrator" % path)
    info = existing(path)
    old = info.engine_commit
    new = resolve_ref(info.engine_repo, ref)
    result: dict = {"project_dir": path, "repo": info.engine_repo, "old": old, "new": new,
                    "old_ref": info.engine_ref, "new_ref": ref,
                    "changed": not (old and new and (old.startswith(new) or new.startswith(old)))}
    if not result["changed"] or check_mode:
        return result
    engine = os.path.join(path, ENGINE_DIR)
    git(list(FILE_PROTOCOL) + ["fetch", "-q", "--tags", "origin"], cwd=engine)
    git(["checkout", "-q", "--detach", new], cwd=engine)
    result["new"] = git(["rev-parse", "HEAD"], cwd=engine)
    git(["add", ENGINE_DIR], cwd=path)
    message = "Move engine pin %s -> %s (%s)" % (old[:12], result["new"][:12], ref)
    git(list(identity_args(path)) + ["commit", "-q", "-m", message], cwd=path)
    git(["config", "--local", MARKER, ref], cwd=path)
    return result
