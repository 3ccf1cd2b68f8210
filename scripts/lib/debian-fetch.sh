# shellcheck shell=bash
# Download Debian packages of any suite (e.g. trixie on a bookworm machine) without touching the
# machine's own apt configuration: a private sources.list, lists and cache under a cache dir.
#   source scripts/lib/debian-fetch.sh
#   debian_fetch SUITE ARCH CACHE PACKAGE...   -> prints one .deb path per package
# The mirror comes from this machine's apt sources (or HARDWAY_DEBIAN_MIRROR); never hard-coded.

debian_mirror() {
  local mirror="${HARDWAY_DEBIAN_MIRROR:-}"
  if [ -z "$mirror" ]; then
    mirror="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
      /^URIs:/ { uri = $2 } /^Suites:/ { suites = $0 }
      /^$/ { if (uri ~ /debian\/?$/ && suites !~ /security/ && !found) { print uri; found = 1 } uri = ""; suites = "" }
      END { if (uri ~ /debian\/?$/ && suites !~ /security/ && !found) print uri }')"
  fi
  if [ -z "$mirror" ]; then
    mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/ && $i ~ /debian\/?$/) { print $i; exit } }')"
  fi
  [ -n "$mirror" ] || { echo "no Debian mirror in /etc/apt/sources.list*; set HARDWAY_DEBIAN_MIRROR" >&2; return 3; }
  echo "${mirror%/}"
}

# apt options for a private configuration under CACHE (its own sources.list, lists and archives),
# appended to the caller's `apt_options` array; the machine's own apt state is never touched.
private_apt_options() {
  local cache="$1"
  # An empty dpkg status of its own: packages installed on this machine from elsewhere (a cloud
  # SDK's kubectl) must not shadow the suite's versions.
  [ -f "$cache/status" ] || : > "$cache/status"
  apt_options+=(
    -o "Dir::State::status=$cache/status"
    -o "Dir::Etc::SourceList=$cache/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
    -o "Dir::State::Lists=$cache/lists" -o "Dir::Cache=$cache" -o "Dir::Cache::archives=$cache/archives"
    -o "APT::Sandbox::User=$(id -un)" -o "Debug::NoLocking=1" -o "APT::Get::List-Cleanup=0"
  )
}

debian_fetch() {
  local suite="$1" arch="$2" cache="$3"
  shift 3
  local mirror keyring
  mirror="$(debian_mirror)" || return 3
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || { echo "$keyring is missing: apt-get install debian-archive-keyring" >&2; return 3; }
  mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$cache/debs"
  echo "deb [arch=$arch signed-by=$keyring] $mirror $suite main" > "$cache/sources.list"
  local apt_options=()
  private_apt_options "$cache"
  apt_options+=(-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch")
  # apt lists: refreshed when missing or older than a day.
  if [ -z "$(find "$cache/lists" -maxdepth 1 -name '*Packages*' -mtime -1 -print -quit)" ]; then
    echo "apt-get update ($mirror $suite, $arch)" >&2
    apt-get "${apt_options[@]}" -qq update >&2 || return 1
  fi
  local package version deb found
  for package in "$@"; do
    version="$(apt-cache "${apt_options[@]}" show --no-all-versions "$package:$arch" 2>/dev/null | awk '/^Version:/ { print $2; exit }')"
    [ -n "$version" ] || { echo "$package is not in $suite for $arch" >&2; return 1; }
    # Architecture-independent packages (golang-1.19-src, *-dev) are named _all.deb.
    deb="$(ls "$cache/debs/${package}_${version//:/%3a}_"{"$arch",all}.deb 2>/dev/null | head -n 1 || true)"
    if [ -z "$deb" ] || [ ! -s "$deb" ]; then
      echo "downloading $package $version ($suite)" >&2
      (cd "$cache/debs" && apt-get "${apt_options[@]}" -qq download "$package:$arch=$version" >&2) || return 1
      found="$(ls -t "$cache/debs/${package}_"*.deb | head -n 1)"
      deb="$cache/debs/$(basename "$found" | sed "s/_[^_]*_\\([^_]*\\)\\.deb\$/_${version//:/%3a}_\\1.deb/")"
      [ "$found" = "$deb" ] || mv "$found" "$deb"
    fi
    echo "$deb"
  done
}

# Download a source package's upstream (orig) tarball, cached:
#   debian_source_orig SUITE CACHE PACKAGE VERSION   -> prints the orig tarball's path
# apt checks the .dsc against the signed Sources index; nothing is unpacked or installed.
debian_source_orig() {
  local suite="$1" cache="$2/src" package="$3" version="$4"
  local mirror keyring upstream found
  mirror="$(debian_mirror)" || return 3
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || { echo "$keyring is missing: apt-get install debian-archive-keyring" >&2; return 3; }
  upstream="${version#*:}"
  upstream="${upstream%-*}"
  found="$(ls "$cache/files/${package}_${upstream}.orig.tar."* 2>/dev/null | head -n 1 || true)"
  if [ -n "$found" ] && [ -s "$found" ]; then echo "$found"; return 0; fi
  mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$cache/files"
  echo "deb-src [signed-by=$keyring] $mirror $suite main" > "$cache/sources.list"
  local apt_options=()
  private_apt_options "$cache"
  echo "apt-get update ($mirror $suite, sources)" >&2
  apt-get "${apt_options[@]}" -qq update >&2 || return 1
  echo "downloading the $package $version source package ($suite)" >&2
  (cd "$cache/files" && apt-get "${apt_options[@]}" -qq source --download-only "$package=$version" >&2) || return 1
  found="$(ls "$cache/files/${package}_${upstream}.orig.tar."* 2>/dev/null | head -n 1 || true)"
  [ -n "$found" ] || { echo "no ${package}_${upstream}.orig.tar.* after apt-get source" >&2; return 1; }
  echo "$found"
}
