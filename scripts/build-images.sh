#!/usr/bin/env bash
# Builds the lab's container images into an artifacts directory, offline, with no registry and no
# docker: pause.tar (k8s.gcr.io/pause:3.2, from the directory's own `pause` binary), smoke.tar
# (hardway.local/smoke:1.0, busybox httpd on port 8080 from Debian's busybox-static) and IMAGES
# ("FILE NAME" per line). docker-save archives: `ctr -n k8s.io images import FILE` loads them.
# scripts/fill-artifacts.sh calls the same code and lists the archives in SHA256SUMS; this script
# alone does not touch SHA256SUMS.
#
#   scripts/build-images.sh ARTIFACTS_DIR
#
# Cached (see scripts/lib/images.sh): a second call with unchanged inputs only copies.
set -euo pipefail
if [ $# -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  echo "usage: scripts/build-images.sh ARTIFACTS_DIR" >&2
  exit 2
fi
for tool in apt-get dpkg-deb sha256sum tar; do
  command -v "$tool" >/dev/null || { echo "build-images: $tool is missing (this script needs a Debian or Ubuntu machine)" >&2; exit 3; }
done
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/images.sh
. "$here/scripts/lib/images.sh"
build_images "$1"
