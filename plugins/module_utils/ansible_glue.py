# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module of the collection shares: the project options and the one place where
an engine error becomes ``fail_json``. The engine core itself never imports Ansible; this
file is the seam."""

from __future__ import annotations

import os

from .errors import (
    ConfigError,
    OrchestratorError,
)

BLANK_TYPES = ("str", "path")

PROJECT_ARGS = dict(
    project_dir=dict(type="path"),
    config=dict(type="path"),
    tmux_socket=dict(type="str"),
)
PROJECT_REQUIRED_ONE_OF = [("project_dir", "config")]


def unset_blanks(params, argument_spec):
    """Options given blank are not given: an empty (or whitespace) string, as AWX sends for an
    optional survey field left blank and ``-e name=`` gives, becomes None in ``params`` (in
    place) for every str or path option whose default is not itself a string. A blank
    ``tmux_socket`` is then the config's server, never the default one (that is ``default``).
    Return the names of required options left blank (sorted)."""
    missing = []
    for name, spec in argument_spec.items():
        if spec.get("type", "str") not in BLANK_TYPES or isinstance(spec.get("default"), str):
            continue
        value = params.get(name)
        if isinstance(value, str) and not value.strip():
            params[name] = None
            if spec.get("required"):
                missing.append(name)
    return sorted(missing)


def config_path(params):
    """The agents.toml a module acts on, from O(config) or O(project_dir) (a blank value is
    not given: ``unset_blanks``)."""
    for name in ("config", "project_dir"):
        if isinstance(params.get(name), str) and not params[name].strip():
            params[name] = None
    if params.get("config"):
        return params["config"]
    if not params.get("project_dir"):
        raise OrchestratorError("project_dir is required (or config): it was not given, or given empty")
    return os.path.join(params["project_dir"], "agents.toml")


def require(module, *libraries):
    """Fail the task cleanly when a Python library the engine needs for this module is
    missing on the target (the engine imports them only when it needs them)."""
    from importlib.util import find_spec

    from ansible.module_utils.basic import missing_required_lib

    for name in libraries:
        if find_spec(name) is None:
            module.fail_json(msg=missing_required_lib(name))


def run(module, body):
    """Run ``body()`` and exit with its result; any engine error fails the task cleanly
    (with every config issue as data when the config is invalid). Anything else is a bug:
    the task fails with its traceback in ``exception`` (shown with -vvv), never a bare crash.
    Blank options are made not given first (``unset_blanks``); a required one fails the task."""
    params = getattr(module, "params", None)
    missing = unset_blanks(params, getattr(module, "argument_spec", None) or {}) if params is not None else []
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        module.fail_json(msg="%s %s required (given empty)" % (" and ".join(missing), verb))
    try:
        result = body()
    except ConfigError as exc:
        module.fail_json(msg=str(exc), issues=[i.as_dict() for i in exc.issues])
    except OrchestratorError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # the last resort: fail_json itself exits through SystemExit
        import traceback

        module.fail_json(msg="unexpected error: %s: %s" % (type(exc).__name__, exc),
                         exception=traceback.format_exc())
    module.exit_json(**result)
