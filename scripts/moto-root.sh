#!/usr/bin/env bash
# Builds, once, a Debian trixie root holding Debian's python3-moto (moto_server), so the AWS
# provider's end-to-end test can run a real EC2/ELBv2 API without AWS and without a Python
# environment on the host. The root is cached under a directory keyed by the build's inputs;
# a second call prints the cached path at once. Prints the root's path on stdout (last line).
#
# Usage: scripts/moto-root.sh            (needs root, debootstrap and chroot)
# Env:   HARDWAY_CACHE_DIR   base of the cache (default /var/cache/hardway)
#        HARDWAY_MOTO_MIRROR Debian mirror (default: the first one in this machine's apt sources)
set -euo pipefail

suite=trixie
variant=minbase
# python3-cffi-backend must be named: debootstrap does not resolve the virtual package
# python3-cryptography depends on (shared/ENVIRONMENT.md).
include=python3-moto,python3-flask,python3-flask-cors,python3-cffi-backend
arch=$(dpkg --print-architecture)
base=${HARDWAY_CACHE_DIR:-/var/cache/hardway}

die() { echo "moto-root: $*" >&2; exit 3; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and chroot need it); try: sudo $0"
command -v debootstrap >/dev/null || die "debootstrap is missing; install it: apt-get install debootstrap"

# The mirror comes from this machine's apt sources (deb822 *.sources or one-line *.list), so a
# machine behind its own mirror keeps using it. Only the archive itself, not -security.
find_mirror() {
  local files=()
  shopt -s nullglob
  files=(/etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list)
  shopt -u nullglob
  local file uri
  for file in "${files[@]}"; do
    case "$file" in
      *.sources) uri=$(awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) print $i }' "$file") ;;
      *) uri=$(awk '$1=="deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break } }' "$file") ;;
    esac
    uri=$(printf '%s\n' "$uri" | grep -v -- '-security' | grep -E '/debian/?$' | head -n 1 || true)
    if [ -n "$uri" ]; then printf '%s\n' "${uri%/}"; return 0; fi
  done
  return 1
}

mirror=${HARDWAY_MOTO_MIRROR:-}
[ -n "$mirror" ] || mirror=$(find_mirror) || die "no Debian mirror found in /etc/apt/sources.list*; set HARDWAY_MOTO_MIRROR=http://YOUR-MIRROR/debian"

# The key names what the root contains; the mirror is left out because any Debian mirror serves
# the same suite, so switching mirrors must not force a rebuild.
key=$(printf '%s\n' "$suite" "$variant" "$include" "$arch" | sha256sum | cut -c1-12)
root="$base/moto-$key"

if [ -x "$root/usr/bin/moto_server" ] && [ -f "$root/.hardway-complete" ]; then
  echo "$root"
  exit 0
fi

mkdir -p "$base"
# One builder at a time: a second caller waits and then finds the finished root.
exec 9>"$base/moto-$key.lock"
flock 9
if [ -x "$root/usr/bin/moto_server" ] && [ -f "$root/.hardway-complete" ]; then
  echo "$root"
  exit 0
fi

work="$root.tmp-$$"
rm -rf "$work"
trap 'rm -rf "$work"' EXIT
echo "moto-root: debootstrap $suite ($include) from $mirror into $work (about a minute)" >&2
debootstrap --variant="$variant" --include="$include" "$suite" "$work" "$mirror" >"$work.log" 2>&1 || {
  tail -n 20 "$work.log" >&2
  die "debootstrap failed (full log: $work.log)"
}
rm -f "$work.log"
chroot "$work" python3 -c 'import moto.server, flask, flask_cors' || die "the built root cannot import moto.server"
touch "$work/.hardway-complete"
rm -rf "$root"
mv "$work" "$root"
trap - EXIT
echo "$root"
