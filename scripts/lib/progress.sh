# shellcheck shell=bash
# A progress line for long work in scripts: in a terminal one line that moves (elapsed time
# rewritten in place), without one a line every minute, so a CI log shows the work is alive.
#   source scripts/lib/progress.sh
#   progress_start "what is happening"; long_command; progress_stop

progress_pid=""

progress_start() {
  local label="$1" start
  start="$(date +%s)"
  progress_stop
  (
    if [ -t 2 ]; then
      while sleep 1; do printf '\r%s ... %ss ' "$label" "$(($(date +%s) - start))" >&2; done
    else
      while sleep 60; do printf '%s ... %s min\n' "$label" "$((($(date +%s) - start) / 60))" >&2; done
    fi
  ) &
  progress_pid=$!
}

progress_stop() {
  [ -n "$progress_pid" ] || return 0
  kill "$progress_pid" 2>/dev/null || true
  wait "$progress_pid" 2>/dev/null || true
  progress_pid=""
  if [ -t 2 ]; then printf '\n' >&2; fi
}
