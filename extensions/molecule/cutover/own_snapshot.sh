#!/bin/sh
# The test's own evidence of the live world, independent of the live_snapshot module: every
# file's checksum and mode (outside git internals, the engine checkouts and the log folders),
# every tmux session with its id, creation time and pane ids and pids, and the pids of the
# watchdog processes running from this world.
set -eu
work=$1
socket=$2
cd "$work"
echo "# files"
find srv loops \( -name .git -o -name engine -o -name .cc-ci-logs -o -name .ao-state \) -prune -o -type f -print \
    | LC_ALL=C sort | while IFS= read -r f; do
        printf '%s %s %s\n' "$(sha256sum "$f" | cut -c1-64)" "$(stat -c %a "$f")" "$f"
    done
echo "# tmux"
tmux -L "$socket" list-panes -a -F '#{session_name} #{session_id} #{session_created} #{pane_id} #{pane_pid}' \
    | LC_ALL=C sort
echo "# watchdogs"
for dir in /proc/[0-9]*; do
    args=$(tr '\0' ' ' < "$dir/cmdline" 2>/dev/null) || continue
    case "$args" in
        *"$work"*agents.py*" watchdog "*) echo "${dir#/proc/} $args" ;;
    esac
done | LC_ALL=C sort -n
