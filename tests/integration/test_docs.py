# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation as users reach it: ansible-doc renders every module and every role entry
point, and antsibull-changelog turns the fragments into CHANGELOG.md."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from test_playbooks import REPO

BIN = os.path.dirname(sys.executable)
MODULES = sorted(n[:-3] for n in os.listdir(os.path.join(REPO, "plugins", "modules")) if n.endswith(".py")
                 and n != "__init__.py")
ROLES = sorted(os.listdir(os.path.join(REPO, "roles")))


def env():
    out = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    out.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".build", "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=os.path.join(REPO, ".build", "ansible-home"), PAGER="cat",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    return out


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_every_module(module):
    proc = subprocess.run([os.path.join(BIN, "ansible-doc"), "agentloops.orchestrator.%s" % module],
                          capture_output=True, text=True, env=env(), check=False, timeout=120)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    for section in ("OPTIONS", "ATTRIBUTES", "EXAMPLES:", "RETURN VALUES:"):
        assert section in proc.stdout, (module, section)


@pytest.mark.parametrize("role", ROLES)
def test_ansible_doc_renders_every_role_entry_point(role):
    with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        entries = yaml.safe_load(handle)["argument_specs"]
    proc = subprocess.run([os.path.join(BIN, "ansible-doc"), "-t", "role", "agentloops.orchestrator.%s" % role],
                          capture_output=True, text=True, env=env(), check=False, timeout=120)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    for entry in entries:
        assert re.search(r"ENTRY POINT: \W*%s\W* - " % entry, proc.stdout), (role, entry)


def test_changelog_fragments_make_changelog_md(tmp_path):
    for name in ("galaxy.yml", "changelogs", "plugins", "meta", "README.md"):
        src = os.path.join(REPO, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, tmp_path / name)
    proc = subprocess.run([os.path.join(BIN, "antsibull-changelog"), "release", "--version", "0.1.0",
                           "--date", "2026-11-24"], cwd=tmp_path, capture_output=True, text=True, env=env(),
                          check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (tmp_path / "CHANGELOG.md").read_text()
    assert "v0\\.1\\.0" in text or "v0.1.0" in text
    for heading in ("Major Changes", "Minor Changes"):
        assert heading in text
    assert "cutover" in text and "state\\_transfer" in text or "state_transfer" in text
    assert not os.listdir(tmp_path / "changelogs" / "fragments"), "fragments are folded into the release"
