# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's metadata agrees with itself: requires_ansible is the ansible-core range the
tests install and the execution environment pins; galaxy.yml names the docs it ships."""

from __future__ import annotations

import os
import re

import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(rel):
    with open(os.path.join(REPO, rel), encoding="utf-8") as handle:
        return handle.read()


def core_range(requirement):
    match = re.fullmatch(r"ansible-core\s*([<>=!~,.\d\s]+)", requirement.split("#")[0].strip())
    assert match, requirement
    return SpecifierSet(match.group(1).replace(" ", ""))


def test_requires_ansible_is_what_is_tested_and_what_the_ee_installs():
    required = SpecifierSet(yaml.safe_load(load("meta/runtime.yml"))["requires_ansible"])
    tested = [core_range(line) for line in load("requirements-test.txt").splitlines() if line.startswith("ansible-core")]
    ee = core_range(yaml.safe_load(load("execution-environment.yml"))["dependencies"]["ansible_core"]["package_pip"])
    assert len(tested) == 1
    probes = [Version("2.%d.%d" % (minor, patch)) for minor in range(14, 23) for patch in (0, 5)]
    for probe in probes:
        assert (probe in required) == (probe in tested[0]) == (probe in ee), probe
    assert any(probe in required for probe in probes)


def test_the_readme_states_the_tested_ansible_core():
    required = SpecifierSet(yaml.safe_load(load("meta/runtime.yml"))["requires_ansible"])
    minors = sorted({"2.%d" % v.minor for v in (Version("2.%d.0" % m) for m in range(14, 23)) if v in required})
    assert "ansible-core %s" % minors[0] in load("README.md")


def test_galaxy_build_keeps_the_engine_files():
    """The scaffold role's default engine is the installed collection's own files."""
    ignored = yaml.safe_load(load("galaxy.yml"))["build_ignore"]
    for kept in ("agents.py", "agents.example.toml", "kickoffs", "profiles", "plugins/module_utils", "LICENSE"):
        assert not [p for p in ignored if p.rstrip("/*") == kept], kept
