#!/bin/sh
# The real agent CLIs for tests/agentcli: Anthropic's `claude` and OpenAI's `codex`, at pinned
# versions, installed with npm into DEST (default .build/agent-clis), never globally. A stamp
# naming the versions makes a second run a no-op. The executables end up in
# DEST/node_modules/.bin/{claude,codex}.
set -eu
dest=${1:-.build/agent-clis}
CLAUDE_VERSION=2.1.332
CODEX_VERSION=0.171.0
want="@anthropic-ai/claude-code@$CLAUDE_VERSION @openai/codex@$CODEX_VERSION"
stamp="$dest/.installed"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
    && [ -x "$dest/node_modules/.bin/claude" ] && [ -x "$dest/node_modules/.bin/codex" ]; then
    exit 0
fi
command -v npm >/dev/null || { echo "fetch-agent-clis: needs npm (Node.js 18 or later)" >&2; exit 1; }
mkdir -p "$dest"
rm -f "$stamp"
# A package.json of its own keeps npm from walking up to another project's.
[ -f "$dest/package.json" ] || echo '{"name": "agent-clis", "private": true}' >"$dest/package.json"
# shellcheck disable=SC2086 # the package list is meant to split into words
npm install --prefix "$dest" --no-audit --no-fund --save-exact --loglevel=error $want
"$dest/node_modules/.bin/claude" --version >/dev/null
"$dest/node_modules/.bin/codex" --version >/dev/null
echo "$want" >"$stamp"
