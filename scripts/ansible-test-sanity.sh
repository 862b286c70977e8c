#!/usr/bin/env bash
# ansible-test sanity, offline but for PyPI, entirely inside the build tree.
#
# ansible-test wants the collection at .../ansible_collections/<ns>/<name>/, so the files
# git would ship (tracked, plus untracked ones not ignored) are copied there. Its HOME is
# kept in .build so its caches and venvs never touch the user's ~/.ansible. Its pip
# bootstrap would download get-pip.py; the stand-in in scripts/ seeds pip from the stdlib
# (ensurepip) and installs what ansible-test asks for from the package index.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build="$repo/.build/sanity"
dest="$build/ansible_collections/agentloops/orchestrator"
venv_bin="$repo/.venv/bin"

rm -rf "$build/ansible_collections"
mkdir -p "$dest"
cd "$repo"
git ls-files -z --cached --others --exclude-standard \
  | "$venv_bin/python" -c '
import os, shutil, sys
dest = sys.argv[1]
for path in sys.stdin.buffer.read().decode().split("\0"):
    if path and os.path.lexists(path):
        target = os.path.join(dest, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(path, target, follow_symlinks=False)
' "$dest"

export HOME="$build/home"
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
# the pip version ansible-test bootstraps (the name of the script it looks for)
pip_version=$("$venv_bin/python" - <<'PY'
import re, pathlib, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(re.search(r"\bpip='([0-9.]+)'", src.read_text()).group(1))
PY
)
cp "$repo/scripts/get_pip_offline.py" "$cache/get_pip_${pip_version//./_}.py"

cd "$dest"
git init -q . && git add -A  # ansible-test lists a collection's files with git when it can
log="$build/sanity.log"
set +e
PATH="$venv_bin:$PATH" "$venv_bin/ansible-test" sanity --venv --python 3.11 --color no "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# A copy that ansible-test cannot list (e.g. it found an outer git repo) passes vacuously.
if grep -q "All targets skipped" "$log"; then
  echo "ansible-test sanity saw no files: refusing a vacuous pass" >&2
  exit 1
fi
exit "$status"
