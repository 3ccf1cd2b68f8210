#!/usr/bin/env bash
# `npm run test:e2e`: the end-to-end files in lanes that run side by side, each lane one file at
# a time: two lanes of lab files (each boots one lab cluster at a time; .ci/run raises the CI
# machine's inotify instance limit so two clusters fit, ENVIRONMENT.md) and the moto files, which
# build no lab node. The lanes are balanced by the files' measured durations, and files that draw
# their subnets from the same range share a lane. Extra arguments go to every vitest run (`-t
# NAME`, `--reporter`); one file: `npx vitest run --project e2e FILE`. HARDWAY_E2E_LANES=1 runs
# every lab file in one lane (a machine whose inotify limit stays at 128).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

moto_files=()
lane_a=()
lane_b=()
for file in test/e2e/*.test.ts; do
  case "$(basename "$file")" in
    aws*) moto_files+=("$file") ;;
    lab.test.ts | lab-workers.test.ts | rebuild.test.ts | lab-provider.test.ts) lane_b+=("$file") ;;
    *) lane_a+=("$file") ;;
  esac
done
if [ "${HARDWAY_E2E_LANES:-2}" = 1 ]; then
  lane_a+=("${lane_b[@]}")
  lane_b=()
fi

logs="$(mktemp -d -t hardway-e2e.XXXXXX)"
trap 'rm -rf "$logs"' EXIT
pids=()
names=()
start_lane() {
  local name="$1"
  shift
  [ "$#" -gt 0 ] || return 0
  npx vitest run --project e2e "${extra[@]}" "$@" >"$logs/$name.log" 2>&1 &
  pids+=("$!")
  names+=("$name: $*")
}
extra=("$@")
start_lane moto "${moto_files[@]}"
start_lane lab-a "${lane_a[@]}"
start_lane lab-b "${lane_b[@]}"

failed_lanes=()
for index in "${!pids[@]}"; do
  wait "${pids[$index]}"
  code=$?
  lane="${names[$index]%%:*}"
  echo "--- lane ${names[$index]}: exit $code ---"
  cat "$logs/$lane.log"
  if [ "$code" -ne 0 ]; then failed_lanes+=("$lane"); fi
done
if ((${#failed_lanes[@]})); then
  # A CI view often shows only the end of a long log, where a later failure can hide the first:
  # every failed test once more, with the first lines of its error, last.
  echo "e2e: failed tests, in order:"
  for lane in "${failed_lanes[@]}"; do
    sed 's/\x1b\[[0-9;]*m//g' "$logs/$lane.log" | grep -A10 -E '^ *FAIL ' | grep -v -E '^(--|\s*)$' | cut -c1-240 | head -n 60 | sed "s/^/  $lane: /"
  done
  echo "e2e: a lane failed (see above)" >&2
  exit 1
fi
