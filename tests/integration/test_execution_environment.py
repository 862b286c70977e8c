# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""execution-environment.yml: `ansible-builder create` writes a complete build context
(building the image itself needs a container runtime, which this test does not assume)."""

from __future__ import annotations

import os
import subprocess
import sys

from test_playbooks import REPO

BIN = os.path.dirname(sys.executable)


def test_ansible_builder_create_writes_the_build_context(tmp_path):
    tarballs = os.path.join(REPO, ".build", "ee")
    built = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", REPO, "--force",
                            "--output-path", tarballs], capture_output=True, text=True, check=False, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    context = tmp_path / "context"
    proc = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml",
                           "--context", str(context), "--output-filename", "Containerfile"], cwd=REPO, capture_output=True, text=True, check=False,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = (context / "Containerfile").read_text()
    assert "quay.io/fedora/fedora:41" in containerfile and "ansible-galaxy" in containerfile
    build = context / "_build"
    assert "libtmux" in (build / "requirements.txt").read_text()
    bindep = (build / "bindep.txt").read_text()
    assert "tmux" in bindep and "git" in bindep
    assert (build / "collections" / "agentloops-orchestrator-0.1.0.tar.gz").is_file()
    assert "agentloops-orchestrator-0.1.0.tar.gz" in (build / "requirements.yml").read_text()


def test_collection_metadata_names_the_same_dependencies():
    with open(os.path.join(REPO, "meta", "execution-environment.yml"), encoding="utf-8") as handle:
        text = handle.read()
    assert "python: requirements.txt" in text and "system: bindep.txt" in text
