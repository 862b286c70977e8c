# agentloops.orchestrator — quick start: `make demo`, `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINK := .build/collections/ansible_collections/agentloops/orchestrator
PYTEST := $(BIN)/python -m pytest
# Ansible's own files (temp dirs, molecule's ephemeral state) stay in the build tree.
export ANSIBLE_HOME := $(CURDIR)/.build/ansible-home
export ANSIBLE_LOCAL_TEMP := $(ANSIBLE_HOME)/tmp
export ANSIBLE_REMOTE_TEMP := $(ANSIBLE_HOME)/tmp
# Tests and the demo name their private tmux servers; should anything still reach for the
# "default" server, it finds a throwaway one here instead of the user's.
export TMUX_TMPDIR := $(CURDIR)/.build/tmux
unexport TMUX TMUX_PANE

.PHONY: setup demo test test-types test-unit test-integration test-playbooks test-sanity test-lint test-ssh test-molecule test-agents bench clean

setup: $(STAMP) $(LINK)

$(STAMP): requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-test.txt
	touch $@

# The playbooks and tests find the collection by its FQCN through this link.
$(LINK):
	mkdir -p $(dir $(LINK)) .build/tmux
	ln -sfn ../../../.. $(LINK)

demo: setup
	$(BIN)/python scripts/demo.py

test: setup test-types test-unit test-integration test-agents test-sanity test-lint test-ssh test-molecule

# The engine core's types (mypy.ini).
test-types: setup
	$(BIN)/mypy -p module_utils

test-unit: setup
	$(PYTEST) -q tests/unit

test-integration: setup
	$(PYTEST) -q tests/integration

test-sanity: setup
	scripts/ansible-test-sanity.sh

test-lint: setup
	$(BIN)/antsibull-changelog lint
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/ansible-lint --offline --profile production

# A remote host over real SSH on loopback (needs root: it creates a dedicated user).
test-ssh: setup
	scripts/fetch-sshd.sh .build/sshd
	$(PYTEST) -q tests/ssh

# The real claude and codex CLIs, offline against a model stub (tests/agentcli/README.md).
# The first fetch on a machine brings ~800 MB of npm packages into .build (seconds once npm's
# own cache has them).
test-agents: setup
	scripts/fetch-agent-clis.sh .build/agent-clis
	$(PYTEST) -q tests/agentcli

test-molecule: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/molecule test --all

bench: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	$(BIN)/python bench/all.py

clean:
	rm -rf .build tests/output
