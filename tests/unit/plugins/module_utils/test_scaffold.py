# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scaffolding without git: the checks made before anything is created, the agents.toml and
.gitignore a plan computes, and the refusals of removal. git itself is replaced by fakes that
fail the test if it is ever run; scaffolding with real git: tests/integration/test_scaffold.py."""

from __future__ import annotations

import os

import pytest

from ansible_collections.agentloops.orchestrator.plugins.module_utils import scaffold
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import ConfigError, OrchestratorError

COMMIT = "c0ffee" * 6 + "0123"
EXAMPLE = ('# the engine example\n[project]\nname = "cc-ci"\nsession_prefix = "cc-ci-"    # tmux prefix\n'
           'log_dir = ".ao-state"\nstate_dir = "state"\ntmux_socket = ""\n\n'
           '[agents.worker]\nkind = "persistent"\nbackend = "demo"\n')


def _write(path, text):
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def no_git(monkeypatch):
    """Every git call of scaffold fails the test; the engine's ref and example are fakes."""
    def forbidden(*args, **kwargs):
        raise AssertionError("git was run: %r" % (args,))

    shown = []
    monkeypatch.setattr(scaffold, "git", forbidden)
    monkeypatch.setattr(scaffold, "resolve_ref", lambda repo, ref: COMMIT)
    monkeypatch.setattr(scaffold, "show_file", lambda repo, commit, path: shown.append((repo, commit, path))
                        or (EXAMPLE if os.path.isabs(repo) else None))
    return shown


@pytest.mark.parametrize("repo, name", [("/srv/agent-orchestrator.git", "agent-orchestrator"),
                                        ("https://example.invalid/x/engine/", "engine"),
                                        ("git@host:team/eng.git", "eng")])
def test_engine_name(repo, name):
    assert scaffold.engine_name(repo) == name


def test_check_target_normalises_absolute_paths(tmp_path):
    assert scaffold.check_target(str(tmp_path) + "/a/../p/") == str(tmp_path / "p")


# The first four refusals of tests/integration/test_scaffold.py::test_bad_input_creates_nothing:
# they are made before git is asked anything.
@pytest.mark.parametrize("case", ["relative", "root", "home", "nonempty"])
def test_bad_input_creates_nothing(tmp_path, case):
    target = tmp_path / "p"
    if case == "relative":
        target = "relative/p"
    elif case == "root":
        target = "/"
    elif case == "home":
        target = os.path.expanduser("~")
    elif case == "nonempty":
        target.mkdir()
        (target / "keep.txt").write_text("x")
    listing = sorted(os.listdir(tmp_path))
    with pytest.raises(OrchestratorError) as info:
        scaffold.plan_create(str(target), "/srv/engine", "v0.1.0")
    assert {"relative": "absolute path", "root": "must not be /", "home": "home folder",
            "nonempty": "not an empty folder"}[case] in str(info.value)
    assert sorted(os.listdir(tmp_path)) == listing
    if case == "nonempty":
        assert os.listdir(target) == ["keep.txt"]


def test_a_file_in_the_way_is_refused(tmp_path):
    (tmp_path / "p").write_text("x")
    with pytest.raises(OrchestratorError, match="refusing to scaffold into %s: it exists" % (tmp_path / "p")):
        scaffold.plan_create(str(tmp_path / "p"), "/srv/engine", "v0.1.0")


@pytest.mark.parametrize("repo, message", [("", "engine_repo is required to scaffold a project"),
                                           ("engines/x", "a local engine_repo must be an absolute path, "
                                                         "got 'engines/x'")])
def test_the_engine_repo_is_checked_before_it_is_asked(tmp_path, repo, message):
    with pytest.raises(OrchestratorError, match=message):
        scaffold.plan_create(str(tmp_path / "p"), repo, "v0.1.0")


def test_plan_edits_the_engine_example_and_touches_nothing(tmp_path, no_git):
    plan = scaffold.plan_create(str(tmp_path / "p"), "/srv/agent-orchestrator", "v0.1.0", project_name="scratch-e2e",
                                session_prefix="poe2e-scratch-", tmux_socket="/tmp/s")
    assert no_git == [("/srv/agent-orchestrator", COMMIT, "agents.example.toml")]
    assert plan.agents_text == (EXAMPLE.replace('"cc-ci"', '"scratch-e2e"').replace('"cc-ci-"', '"poe2e-scratch-"')
                                .replace('tmux_socket = ""', 'tmux_socket = "/tmp/s"'))
    assert plan.gitignore_text == ("# Kept out of git: the engine's runtime state and the agents' logs.\n"
                                   "/state/\n/.ao-state/\n__pycache__/\n")
    assert (plan.exists, plan.engine_commit) == (False, COMMIT)
    assert plan.as_dict() == {"project_dir": str(tmp_path / "p"), "name": "scratch-e2e",
                              "session_prefix": "poe2e-scratch-",
                              "engine": {"repo": "/srv/agent-orchestrator", "ref": "v0.1.0", "commit": COMMIT,
                                         "pin": "agent-orchestrator@v0.1.0"},
                              "tracked_files": [".gitignore", ".gitmodules", "agents.toml", "engine"]}
    assert not (tmp_path / "p").exists()


def test_the_name_and_a_tmux_safe_prefix_come_from_the_folder(tmp_path):
    plan = scaffold.plan_create(str(tmp_path / "my.proj v2"), "/srv/engine", "HEAD")
    assert (plan.name, plan.session_prefix) == ("my.proj v2", "my-proj-v2-")
    assert 'session_prefix = "my-proj-v2-"' in plan.agents_text


def test_an_empty_folder_may_be_scaffolded_into(tmp_path):
    (tmp_path / "p").mkdir()
    assert scaffold.plan_create(str(tmp_path / "p"), "/srv/engine", "HEAD").exists is False


def test_a_remote_engine_example_is_known_only_after_the_clone(tmp_path):
    plan = scaffold.plan_create(str(tmp_path / "p"), "https://example.invalid/engine.git", "main")
    assert (plan.agents_text, plan.gitignore_text) == (None, None)
    assert plan.as_dict()["engine"]["pin"] == "engine@main"


def test_an_operator_config_replaces_the_example(tmp_path, no_git):
    own = tmp_path / "own.toml"
    own.write_text('# mine\n[agents.w]\nkind = "task"\nbackend = "demo"\n')
    plan = scaffold.plan_create(str(tmp_path / "p"), "/srv/engine", "HEAD", agents_config=str(own))
    assert no_git == []
    assert plan.agents_text == own.read_text() + '\n[project]\nname = "p"\nsession_prefix = "p-"\n'


def test_a_broken_source_config_is_reported_against_its_own_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[agents.x]\nkind = "sometimes"\nbackend = "demo"\n')
    with pytest.raises(ConfigError, match=r"bad.toml:2:1: agents.x.kind"):
        scaffold.plan_create(str(tmp_path / "p"), "/srv/engine", "HEAD", agents_config=str(bad))
    assert not (tmp_path / "p").exists()


def test_an_edit_that_breaks_the_config_is_reported_against_the_project_file(tmp_path):
    with pytest.raises(ConfigError, match=r"p/agents.toml:4:1: project.session_prefix"):
        scaffold.plan_create(str(tmp_path / "p"), "/srv/engine", "HEAD", session_prefix="a:b")


def test_gitignore_leaves_out_folders_outside_the_project(tmp_path):
    plan = scaffold.plan_create(str(tmp_path / "p"), "/srv/engine", "HEAD",
                                agents_config=str(_write(tmp_path / "c.toml", '[project]\nlog_dir = "/var/log/x"\n'
                                                         'state_dir = "run/state"\n')))
    assert plan.gitignore_text.splitlines()[1:] == ["/run/state/", "__pycache__/"]


# The refusals of tests/integration/test_scaffold.py::test_remove_only_scaffolded_projects_whose_agents_are_down
# that need neither git nor tmux.
def test_only_scaffolded_projects_are_removed(tmp_path):
    def live(_project):
        raise AssertionError("sessions are asked only about a scaffolded project")

    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(OrchestratorError, match="not a project scaffolded"):
        scaffold.check_removable(str(plain), live)
    for path in ("/", os.path.expanduser("~"), "rel"):
        with pytest.raises(OrchestratorError):
            scaffold.check_removable(path, live)
    assert scaffold.check_removable(str(tmp_path / "gone"), live) is None
    assert plain.is_dir()


def test_pin_engine_refuses_a_folder_that_is_not_a_project(tmp_path):
    with pytest.raises(OrchestratorError, match="%s is not a project scaffolded" % tmp_path):
        scaffold.pin_engine(str(tmp_path), "v0.2.0")


def test_remove_names_what_it_cannot_remove(tmp_path):
    with pytest.raises(OrchestratorError, match="cannot remove %s: No such file or directory" % (tmp_path / "x")):
        scaffold.remove(str(tmp_path / "x"))


# Work git does not hold: git status is a fake fed entries, so these run without git; the
# same refusals with real git: tests/integration/test_scaffold.py.
def entry(code, path, submodule="N..."):
    return scaffold.StatusEntry(code, path, submodule)


def test_lost_work_lists_what_git_does_not_hold_but_not_what_the_engine_writes():
    entries = [entry("??", "NOTES.md"), entry("A ", "staged.txt"), entry(" M", "agents.toml"),
               entry("??", "state/worker.run"), entry("??", "logs/x/worker.log"), entry("??", "statefile"),
               entry(" M", "engine", "S..U")]
    inner = {"engine": [entry("??", "scratch.py"), entry(" M", "agents.py")]}
    assert scaffold.lost_work(entries, ("state", "logs/x"), inner.__getitem__) == [
        "?? NOTES.md", "A  staged.txt", " M agents.toml", "?? statefile", "?? engine/scratch.py", " M engine/agents.py"]


@pytest.mark.parametrize("flags, inner, shown", [
    ("SC..", {}, [" M engine (new commits)"]),
    ("SCM.", {"engine": [entry(" M", "x.py")]}, [" M engine (new commits)", " M engine/x.py"]),
    ("S.M.", {"engine": []}, [" M engine (modified content)"]),
    ("S.MU", {"engine": [entry(" M", "lib", "S..U")], "engine/lib": [entry("??", "a")]}, ["?? engine/lib/a"]),
])
def test_a_changed_submodule_is_listed_file_by_file_or_by_what_changed(flags, inner, shown):
    assert scaffold.lost_work([entry(" M", "engine", flags)], (), inner.__getitem__) == shown


def test_engine_folders_are_the_state_and_log_folders_inside_the_project(tmp_path):
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import config

    agents = tmp_path / "agents.toml"
    agents.write_text('[project]\nstate_dir = "run/state"\nlog_dir = "/var/log/x"\n')
    assert scaffold.engine_folders(config.load(str(agents))) == ("run/state",)
    agents.write_text('[project]\nstate_dir = "."\nlog_dir = ".ao-state"\n')
    assert scaffold.engine_folders(config.load(str(agents))) == (".ao-state",)


@pytest.fixture
def dirty_project(tmp_path, monkeypatch):
    """A scaffolded project (as far as ``is_project`` says) whose git status is a fake."""
    project = tmp_path / "p"
    project.mkdir()
    (project / "agents.toml").write_text('[agents.worker]\nkind = "persistent"\nbackend = "demo"\n')
    (project / "NOTES.md").write_text("mine")
    statuses = {str(project): [entry("??", "NOTES.md"), entry("??", "state/worker.run")]}
    monkeypatch.setattr(scaffold, "is_project", lambda path: path == str(project))
    monkeypatch.setattr(scaffold, "git_status", statuses.__getitem__)
    return project, statuses


def test_a_tree_with_work_git_does_not_hold_is_refused_before_sessions_are_asked(dirty_project):
    project, _statuses = dirty_project

    def live(_project):
        raise AssertionError("sessions are asked only about a removable project")

    with pytest.raises(OrchestratorError, match=r"refusing to remove %s: git does not hold this work, it would be "
                                                r"lost: \?\? NOTES.md; commit it or move it away first, or force "
                                                r"the removal \(force_remove=true\)" % project):
        scaffold.check_removable(str(project), live)
    assert (project / "NOTES.md").read_text() == "mine"


def test_a_forced_removal_names_what_it_discards_and_still_asks_the_sessions(dirty_project):
    project, _statuses = dirty_project
    asked = []
    removal = scaffold.check_removable(str(project), lambda p: asked.append(p.name) or [], force=True)
    assert (removal.path, removal.target, removal.lost, asked) == (str(project), "", ["?? NOTES.md"], ["p"])
    with pytest.raises(OrchestratorError, match=r"its agents still run \(p-worker\)"):
        scaffold.check_removable(str(project), lambda p: ["p-worker"], force=True)


def test_a_clean_tree_passes_and_a_preflight_asks_no_sessions(dirty_project):
    project, statuses = dirty_project
    statuses[str(project)] = [entry("??", "state/worker.run")]
    assert scaffold.check_removable(str(project), None).lost == []


def test_a_symlinked_project_dir_is_refused_unless_forced_then_both_go(dirty_project, tmp_path, monkeypatch):
    project, statuses = dirty_project
    statuses[str(project)] = []
    link = tmp_path / "current"
    link.symlink_to(project)
    statuses[str(link)] = []
    monkeypatch.setattr(scaffold, "is_project", lambda path: os.path.realpath(path) == str(project))
    with pytest.raises(OrchestratorError, match="refusing to remove %s: it is a symbolic link to %s, and removing it "
                                                "would delete the project there" % (link, project)):
        scaffold.check_removable(str(link), None)
    removal = scaffold.check_removable(str(link), None, force=True)
    assert (removal.path, removal.target) == (str(link), str(project))
    scaffold.remove(removal.path)
    assert not os.path.lexists(link) and not project.exists()


def _collection(root, version_file):
    for rel in scaffold.ENGINE_FILES:
        if "." in os.path.basename(rel) or rel == "LICENSE":
            _write(root / rel, "x\n")
        else:
            (root / rel).mkdir(parents=True)
            _write(root / rel / "a.py", "a\n")
    (root / "plugins" / "module_utils" / "__pycache__").mkdir()
    _write(root / "plugins" / "module_utils" / "__pycache__" / "a.cpython-311.pyc", "")
    _write(root / "plugins" / "module_utils" / "b.pyc", "")
    _write(root / "README.md", "not the engine\n")
    name, text = version_file
    _write(root / name, text)
    return root


@pytest.mark.parametrize("version_file", [
    ("MANIFEST.json", '{"collection_info": {"namespace": "agentloops", "version": "1.2.3"}}'),
    ("galaxy.yml", "namespace: agentloops\nname: orchestrator\nversion: '1.2.3'  # released\n"),
])
def test_collection_version_from_an_installed_or_checked_out_collection(tmp_path, version_file):
    _collection(tmp_path, version_file)
    assert scaffold.collection_version(str(tmp_path)) == "1.2.3"


def test_engine_paths_are_the_engine_files_without_caches(tmp_path):
    _collection(tmp_path, ("galaxy.yml", "version: 0.1.0\n"))
    assert scaffold._engine_paths(str(tmp_path)) == [
        "LICENSE", "agents.example.toml", "agents.py", "kickoffs/a.py", "plugins/module_utils/a.py", "profiles/a.py"]


def test_a_folder_that_is_not_a_collection_is_refused(tmp_path):
    with pytest.raises(OrchestratorError, match="is not a collection"):
        scaffold.collection_version(str(tmp_path))
    _write(tmp_path / "MANIFEST.json", '{"collection_info": {}}')
    with pytest.raises(OrchestratorError, match="cannot read the collection's version"):
        scaffold.collection_version(str(tmp_path))


def test_store_engine_refuses_a_missing_source_or_a_relative_store(tmp_path):
    with pytest.raises(OrchestratorError, match="not on this host .* give engine_repo"):
        scaffold.store_engine(str(tmp_path / "absent"), str(tmp_path / "store"))
    with pytest.raises(OrchestratorError, match="must be an absolute path"):
        scaffold.store_engine(str(tmp_path), "store")
    (tmp_path / "kickoffs").mkdir()
    _write(tmp_path / "galaxy.yml", "version: 0.1.0\n")
    with pytest.raises(OrchestratorError, match="incomplete: LICENSE is missing"):
        scaffold.store_engine(str(tmp_path), str(tmp_path / "store"))


def test_shipped_example_kickoffs_are_in_the_engine():
    """The example's kickoffs live in the engine (engine/ of a scaffolded project), so a
    project scaffolded from it runs as shipped."""
    from ansible_collections.agentloops.orchestrator.plugins.module_utils import config

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    project = config.parse(open(os.path.join(repo, scaffold.EXAMPLE)).read(), "/srv/p/agents.toml")
    kickoffs = [a.kickoff for a in project.agents if a.kickoff]
    assert kickoffs and all(k.startswith("engine/kickoffs/") for k in kickoffs)
    for kickoff in kickoffs:
        assert os.path.isfile(os.path.join(repo, kickoff[len("engine/"):])), kickoff
