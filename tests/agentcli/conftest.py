# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the tests that run the real agent CLIs (`make test-agents`): the model stub,
a temp HOME, a private tmux server per test, and the cached binaries. A missing cache fails
the test with the command that fills it; nothing here is skipped."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import AgentHome, AgentTmux, binary  # noqa: E402 - after the path is set
from model_stub import ModelStub  # noqa: E402


@pytest.fixture
def stub() -> Iterator[ModelStub]:
    with ModelStub() as server:
        yield server


@pytest.fixture
def home(tmp_path: Path) -> Iterator[AgentHome]:
    agent_home = AgentHome(tmp_path / "home")
    yield agent_home
    agent_home.end_leftovers()


@pytest.fixture
def agent_tmux(tmp_path: Path, home: AgentHome) -> Iterator[AgentTmux]:
    """Torn down before `home`, so what the server's panes left behind is ended after it."""
    sock_dir = tmp_path / "s"  # short: unix socket paths are limited to ~107 bytes
    sock_dir.mkdir()
    server = AgentTmux(str(sock_dir / "tmux.sock"))
    yield server
    server.kill()


@pytest.fixture
def claude() -> str:
    try:
        return binary("claude")
    except FileNotFoundError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def codex() -> str:
    try:
        return binary("codex")
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
