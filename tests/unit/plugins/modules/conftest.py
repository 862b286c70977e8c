# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def run_module(capsys):
    """Run a module's main() with args (``_ansible_check_mode``/``_ansible_diff`` allowed);
    return its JSON result and whether it failed."""

    def _run(module, args):
        with patch_module_args(args):
            with pytest.raises(SystemExit) as info:
                module.main()
        result = json.loads(capsys.readouterr().out)
        assert (info.value.code != 0) == bool(result.get("failed")), result
        return result

    return _run
