#!/usr/bin/env bash
# `npm run test:e2e`: the lab files one at a time (lab clusters share the machine's inotify
# instances, ENVIRONMENT.md) and, beside them, the moto files, which build no lab node and mostly
# wait on moto: the suite then takes about the time of the lab files alone. Extra arguments go to
# both vitest runs (`-t NAME`, `--reporter`); one file: `npx vitest run --project e2e FILE`.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

moto_files=()
lab_files=()
for file in test/e2e/*.test.ts; do
  case "$(basename "$file")" in
    aws*) moto_files+=("$file") ;;
    *) lab_files+=("$file") ;;
  esac
done

moto_log="$(mktemp -t hardway-e2e-moto.XXXXXX)"
trap 'rm -f "$moto_log"' EXIT
npx vitest run --project e2e "$@" "${moto_files[@]}" >"$moto_log" 2>&1 &
moto_pid=$!
npx vitest run --project e2e "$@" "${lab_files[@]}"
lab_code=$?
wait "$moto_pid"
moto_code=$?

echo "--- the moto files (${moto_files[*]}), run beside the lab files: exit $moto_code ---"
cat "$moto_log"
if ((lab_code || moto_code)); then
  echo "e2e: failed (lab files exit $lab_code, moto files exit $moto_code)" >&2
  exit 1
fi
