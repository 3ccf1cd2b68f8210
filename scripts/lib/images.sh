# shellcheck shell=bash
# The two container images a lab cluster's pods run, built offline (no registry, no docker) into
# an artifacts directory that already holds the `pause` binary (scripts/build-kubernetes.sh):
#   pause.tar   k8s.gcr.io/pause:3.2      the pod sandbox: the name must equal containerd's
#                                         sandbox_image, or containerd tries to pull it
#   smoke.tar   hardway.local/smoke:1.0   busybox's httpd serving "hardway smoke" on port 8080
#                                         (no root needed for the port), each request logged
#                                         (-vv) for `kubectl logs`, busybox applets for exec
#   IMAGES      one "FILE NAME" line per image, for the step that imports them
#
#   source scripts/lib/images.sh
#   build_images ARTIFACTS_DIR
# Results are cached under ${HARDWAY_CACHE_DIR:-/var/cache/hardway}/images/KEY, KEY covering this
# file, docker-archive.sh, the pause binary and the busybox package: unchanged inputs, no work.
# busybox-static comes from Debian bookworm through scripts/lib/debian-fetch.sh (cached).

images_lib_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=debian-fetch.sh
. "$images_lib_dir/debian-fetch.sh"
# shellcheck source=docker-archive.sh
. "$images_lib_dir/docker-archive.sh"

pause_image="k8s.gcr.io/pause:3.2"
smoke_image="hardway.local/smoke:1.0"

build_images() {
  local dir="$1" arch cache busybox key out
  [ -x "$dir/pause" ] || { echo "build-images: $dir has no pause binary (scripts/build-kubernetes.sh builds it)" >&2; return 2; }
  arch="$(dpkg --print-architecture)"
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/hardway/fill-artifacts/bookworm-$arch"
  busybox="$(debian_fetch bookworm "$arch" "$cache" busybox-static)" || { echo "build-images: could not download busybox-static from bookworm" >&2; return 1; }
  key="$( (cat "$images_lib_dir/images.sh" "$images_lib_dir/docker-archive.sh"; sha256sum < "$dir/pause"; sha256sum < "$busybox"; echo "$arch") | sha256sum | cut -c1-16)"
  out="${HARDWAY_CACHE_DIR:-/var/cache/hardway}/images/$key"
  if [ -f "$out/SHA256SUMS" ] && (cd "$out" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1); then
    echo "build-images: cached in $out" >&2
  else
    build_images_into "$out" "$dir/pause" "$busybox" "$arch" || return 1
  fi
  cp "$out/pause.tar" "$out/smoke.tar" "$out/IMAGES" "$dir/"
}

build_images_into() {
  local out="$1" pause="$2" busybox="$3" arch="$4" tmp applet
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp"
  tmp="$out.tmp"

  # pause: the binary alone, as upstream's image is.
  mkdir -p "$tmp/pause-root"
  install -m 0755 "$pause" "$tmp/pause-root/pause"
  docker_archive "$tmp/pause.tar" "$pause_image" "$tmp/pause-root" "$arch" '{"Entrypoint":["/pause"]}' || return 1

  # smoke: static busybox, its applets as links (sh, ls, wget... for exec), a page, nobody.
  dpkg-deb -x "$busybox" "$tmp/busybox-deb"
  local root="$tmp/smoke-root"
  mkdir -p "$root/bin" "$root/etc" "$root/www" "$root/tmp"
  chmod 1777 "$root/tmp"
  install -m 0755 "$tmp/busybox-deb/bin/busybox" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  printf 'hardway smoke\n' > "$root/www/index.html"
  chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/www/index.html"
  docker_archive "$tmp/smoke.tar" "$smoke_image" "$root" "$arch" \
    '{"Cmd":["/bin/busybox","httpd","-f","-vv","-p","8080","-h","/www"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"ExposedPorts":{"8080/tcp":{}},"WorkingDir":"/"}' || return 1

  rm -rf "$tmp/pause-root" "$tmp/busybox-deb" "$root"
  printf 'pause.tar %s\nsmoke.tar %s\n' "$pause_image" "$smoke_image" > "$tmp/IMAGES"
  (cd "$tmp" && sha256sum pause.tar smoke.tar IMAGES > SHA256SUMS)
  rm -rf "$out" && mv "$tmp" "$out"
  echo "build-images: built $pause_image and $smoke_image into $out" >&2
}
