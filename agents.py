# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine CLI shim: ``python3 engine/agents.py status`` from a project checkout.

Makes the engine core in ``plugins/module_utils/`` importable as a package without Ansible
(a host needs only Python 3.11, libtmux and tomlkit), then hands over to its CLI.
"""

import os
import sys
import types

_ROOT = os.path.dirname(os.path.realpath(__file__))
_PKG = "agentloops_engine"

if _PKG not in sys.modules:
    _pkg = types.ModuleType(_PKG)
    _pkg.__path__ = [os.path.join(_ROOT, "plugins", "module_utils")]
    sys.modules[_PKG] = _pkg

if __name__ == "__main__":  # status starts its one tmux read before the engine is imported (early.py)
    from agentloops_engine import early  # noqa: E402  (needs the package registered above)

    early.start(sys.argv[1:], _ROOT)
    if early.cached_view() is not None:  # and shows it from the validated project it cached, if it may (quick.py)
        from agentloops_engine import quick  # noqa: E402

        _code = quick.run(_ROOT)
        if _code is not None:
            sys.exit(_code)

from agentloops_engine import cli  # noqa: E402  (needs the package registered above)

if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:], _ROOT))
