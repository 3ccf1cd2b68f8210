#!/usr/bin/env bash
# Fill a directory with the binaries hardway installs, without the internet: for
# `hardway up --artifacts-dir DIR` (or `artifacts.dir` in cluster.yaml) on machines that can reach
# only Debian's archive.
#
#   scripts/fill-artifacts.sh [--etcd-suite trixie|bookworm] DIR
#
# DIR receives:
#   etcd, etcdctl            Debian's etcd-server / etcd-client packages (apt-get download + dpkg -x):
#                            trixie gives etcd 3.5.16 (the default; runs on bookworm), bookworm 3.4.23
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, pause
#                            real Kubernetes v1.20.2, built from Debian bookworm's kubernetes source
#                            package by scripts/build-kubernetes.sh (cached; the first build takes
#                            10-15 minutes on 2 cores)
#   pause.tar, smoke.tar     container images for workers, docker-save archives built with no
#                            registry (scripts/lib/images.sh, as scripts/build-images.sh does):
#                            k8s.gcr.io/pause:3.2 from the pause binary, hardway.local/smoke:1.0
#   IMAGES                   "FILE NAME" per image (pause.tar k8s.gcr.io/pause:3.2, ...)
#   SHA256SUMS               sha256sum format; hardway verifies every file against it
#   VERSIONS                 kubernetes=, etcd=, arch=; hardway refuses a spec whose versions differ
#
# Idempotent: files whose content is unchanged are not rewritten; Debian packages and apt lists
# are cached in ${XDG_CACHE_HOME:-~/.cache}/hardway/fill-artifacts (apt lists refreshed after a day).
# The mirror is the first Debian one in this machine's apt sources (override: HARDWAY_DEBIAN_MIRROR).
set -euo pipefail

etcd_suite=trixie
dir=""

usage() {
  sed -n '6,6p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --etcd-suite) etcd_suite="${2:?--etcd-suite needs a value}"; shift 2 ;;
    --etcd-suite=*) etcd_suite="${1#*=}"; shift ;;
    -h|--help) usage ;;
    -*) echo "fill-artifacts: unknown option $1" >&2; usage ;;
    *) [ -z "$dir" ] || usage; dir="$1"; shift ;;
  esac
done
[ -n "$dir" ] || usage
case "$etcd_suite" in
  trixie|bookworm) ;;
  *) echo "fill-artifacts: --etcd-suite must be trixie or bookworm, got $etcd_suite" >&2; exit 2 ;;
esac
for tool in apt-get dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null || { echo "fill-artifacts: $tool is missing (this script needs a Debian or Ubuntu machine)" >&2; exit 3; }
done
arch="$(dpkg --print-architecture)"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kubernetes="$(bash "$here/scripts/build-kubernetes.sh" | tail -n 1)"
kubernetes_version="$("$kubernetes/kube-apiserver" --version | sed -n 's/^Kubernetes v//p')"
[ -n "$kubernetes_version" ] || { echo "fill-artifacts: $kubernetes/kube-apiserver does not report its version" >&2; exit 1; }

# etcd and etcdctl from Debian's packages of the chosen suite (private apt config, cached).
# shellcheck source=lib/debian-fetch.sh
. "$here/scripts/lib/debian-fetch.sh"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/hardway/fill-artifacts/$etcd_suite-$arch"
mapfile -t debs < <(debian_fetch "$etcd_suite" "$arch" "$cache" etcd-server etcd-client)
[ "${#debs[@]}" -eq 2 ] || { echo "fill-artifacts: could not download etcd-server and etcd-client from $etcd_suite" >&2; exit 1; }
etcd_version="$(dpkg-deb -f "${debs[0]}" Version | sed -e 's/^[0-9]*://' -e 's/[-+~].*$//')"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for deb in "${debs[@]}"; do dpkg-deb -x "$deb" "$work/root"; done
mkdir -p "$work/out"
cp "$work/root/usr/bin/etcd" "$work/out/etcd"
cp "$work/root/usr/bin/etcdctl" "$work/out/etcdctl"
for program in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy pause; do cp "$kubernetes/$program" "$work/out/$program"; done
chmod 0755 "$work/out"/*
# The images workers import (pause from the binary just copied); cached, so a refill is quick.
# shellcheck source=lib/images.sh
. "$here/scripts/lib/images.sh"
build_images "$work/out"
printf 'kubernetes=%s\netcd=%s\narch=%s\n' "$kubernetes_version" "$etcd_version" "$arch" > "$work/out/VERSIONS"
(cd "$work/out" && sha256sum etcd etcdctl kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy pause pause.tar smoke.tar > SHA256SUMS)

# Replace only what changed, each file atomically (same directory, then rename).
mkdir -p "$dir"
changed=0
for file in etcd etcdctl kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy pause pause.tar smoke.tar IMAGES VERSIONS SHA256SUMS; do
  if ! cmp -s "$work/out/$file" "$dir/$file"; then
    cp -p "$work/out/$file" "$dir/.$file.tmp"
    mv -f "$dir/.$file.tmp" "$dir/$file"
    changed=$((changed + 1))
  fi
done
echo "fill-artifacts: $dir: etcd $etcd_version ($etcd_suite), Kubernetes v$kubernetes_version (built from Debian sources), $arch; $changed file(s) updated" >&2
echo "fill-artifacts: use versions: { kubernetes: \"$kubernetes_version\", etcd: \"$etcd_version\" } in cluster.yaml" >&2
