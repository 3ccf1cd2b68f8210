#!/usr/bin/env bash
# Builds real Kubernetes v1.20.2 server binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy) and the pause binary from Debian bookworm's own `kubernetes`
# source package, offline: no registry serves these binaries to this project's machines, and that
# source package is the full upstream tree with vendor/ (shared/ENVIRONMENT.md). Nothing is
# installed system-wide: Go 1.19, rsync and libpopt come from Debian .debs unpacked with dpkg -x
# into a private root, through a private apt configuration.
#
#   scripts/build-kubernetes.sh            prints the directory holding the binaries (last line)
#
# The result is cached under ${HARDWAY_CACHE_DIR:-/var/cache/hardway}/kubernetes/KEY, KEY being a
# hash of this script and the exact Debian versions it builds from; a second call prints the
# cached directory at once. Cold, on 2 cores: about 10-15 minutes, 1.5 GB of memory, 3 GB of
# temporary disk (removed afterwards; about 400 MB stay in the cache).
set -euo pipefail

source_version=1.20.5+really1.20.2-1.1+deb12u1
git_version=v1.20.2
git_commit=faecb196815e248d3ecfb03c680a4507229c2a56
targets=(cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet cmd/kube-proxy)
tools=(golang-1.19-go golang-1.19-src rsync libpopt0 golang-github-modern-go-reflect2-dev)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/debian-fetch.sh
. "$here/scripts/lib/debian-fetch.sh"
# shellcheck source=lib/progress.sh
. "$here/scripts/lib/progress.sh"

die() { echo "build-kubernetes: $*" >&2; exit "${2:-1}"; }
for tool in apt-get dpkg-deb sha256sum tar gcc make; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install build-essential dpkg-dev)" 3
done
arch="$(dpkg --print-architecture)"
base="${HARDWAY_CACHE_DIR:-/var/cache/hardway}"
apt_cache="$base/apt-bookworm-src-$arch"

# The key covers what decides the output: this script, the source and toolchain versions.
key="$( (cat "${BASH_SOURCE[0]}"; echo "$source_version $arch ${tools[*]}") | sha256sum | cut -c1-16)"
out="$base/kubernetes/$git_version-$key"
if [ -f "$out/SHA256SUMS" ] && (cd "$out" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1); then
  echo "build-kubernetes: cached in $out" >&2
  echo "$out"
  exit 0
fi

work="$base/kubernetes/.build-$key"
rm -rf "$work"
mkdir -p "$work/root"
trap 'progress_stop; rm -rf "$work"' EXIT

echo "build-kubernetes: Kubernetes $git_version from Debian's kubernetes $source_version (first build: 10-15 min on 2 cores)" >&2
mapfile -t debs < <(debian_fetch bookworm "$arch" "$apt_cache" "${tools[@]}")
[ "${#debs[@]}" -eq "${#tools[@]}" ] || die "could not download ${tools[*]} from bookworm"
for deb in "${debs[@]}"; do dpkg-deb -x "$deb" "$work/root"; done
orig="$(debian_source_orig bookworm "$apt_cache" kubernetes "$source_version")" || die "could not download the kubernetes source package $source_version"

echo "build-kubernetes: unpacking $(basename "$orig")" >&2
mkdir -p "$work/src"
tar -xf "$orig" -C "$work/src" --strip-components=1
tree="$work/src"
[ -f "$tree/build/pause/linux/pause.c" ] || die "the source tree in $orig has no build/pause/linux/pause.c"

# Go >= 1.18 crashes encoding maps with the vendored reflect2 1.0.1: take Debian's 1.0.2.
reflect2="$tree/vendor/github.com/modern-go/reflect2"
find "$reflect2" -maxdepth 1 \( -name '*.go' -o -name '*.s' \) -delete
cp "$work/root/usr/share/gocode/src/github.com/modern-go/reflect2/"*.go "$reflect2/"
cp "$work/root/usr/share/gocode/src/github.com/modern-go/reflect2/"*.s "$reflect2/" 2>/dev/null || true

export GOROOT="$work/root/usr/lib/go-1.19"
export PATH="$GOROOT/bin:$work/root/usr/bin:$PATH"
multiarch="$(gcc -print-multiarch)"
export LD_LIBRARY_PATH="$work/root/usr/lib/$multiarch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GOPROXY=off GOFLAGS=-mod=vendor CGO_ENABLED=0 GOCACHE="$work/gocache" GOPATH="$work/gopath"
export KUBE_GIT_VERSION="$git_version" KUBE_GIT_MAJOR=1 KUBE_GIT_MINOR=20 KUBE_GIT_TREE_STATE=archive KUBE_GIT_COMMIT="$git_commit"
go version >&2 || die "the private Go toolchain does not run"

progress_start "build-kubernetes: compiling ${targets[*]##*/}"
(cd "$tree" && make WHAT="${targets[*]}") > "$work/make.log" 2>&1 || {
  progress_stop
  tail -n 40 "$work/make.log" >&2
  die "make failed (the last 40 lines are above)"
}
progress_stop

bin="$tree/_output/local/bin/linux/$arch"
mkdir -p "$out.tmp"
for target in "${targets[@]}"; do cp "$bin/${target##*/}" "$out.tmp/"; done
gcc -Os -static -o "$out.tmp/pause" "$tree/build/pause/linux/pause.c" -DVERSION="$git_version" 2>>"$work/make.log" ||
  gcc -Os -static -o "$out.tmp/pause" "$tree/build/pause/linux/pause.c" || die "could not build the pause binary"
strip "$out.tmp/pause" 2>/dev/null || true
"$out.tmp/kube-apiserver" --version | grep -qx "Kubernetes $git_version" || die "the built kube-apiserver does not report $git_version"
(cd "$out.tmp" && sha256sum kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy pause > SHA256SUMS)
rm -rf "$out" && mv "$out.tmp" "$out"
echo "build-kubernetes: built $git_version into $out" >&2
echo "$out"
