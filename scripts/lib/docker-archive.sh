# shellcheck shell=bash
# Container images without a registry and without docker: a docker-save archive (what
# `docker save` writes and `ctr images import` / `docker load` read) made from a root directory.
#   source scripts/lib/docker-archive.sh
#   docker_archive OUT.tar REPO:TAG ROOTFS ARCH CONFIG_JSON
# ROOTFS becomes the image's one layer; CONFIG_JSON is the image's `config` object (Cmd, Env, ...).
# The archive is reproducible: same inputs, same bytes (sorted entries, fixed times and owners),
# so a rebuild changes nothing downstream.
#
# Layout (docker's image spec v1.2, as `docker save` writes it):
#   manifest.json      [{"Config": "<config sha256>.json", "RepoTags": ["REPO:TAG"], "Layers": ["<id>/layer.tar"]}]
#   repositories       {"REPO": {"TAG": "<id>"}}
#   <config sha256>.json  the image config; rootfs.diff_ids = sha256 of each uncompressed layer tar
#   <id>/layer.tar, <id>/VERSION, <id>/json   the layer (id = its diff id's hex)

# A fixed time for every file and for `created`: the images depend on their inputs only.
docker_archive_epoch=0
docker_archive_created="1970-01-01T00:00:00Z"

# tar of a directory's contents, byte for byte reproducible.
docker_archive_tar() {
  local dir="$1" out="$2"
  (cd "$dir" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort > "$out.list")
  tar --create --file="$out" --directory="$dir" --format=gnu --no-recursion --numeric-owner \
    --owner=0 --group=0 --mtime="@$docker_archive_epoch" --verbatim-files-from --files-from="$out.list"
  rm -f "$out.list"
}

# Debian architecture -> the OCI/Go name images use.
docker_archive_arch() {
  case "$1" in
    amd64 | arm64 | s390x | riscv64) echo "$1" ;;
    i386) echo 386 ;;
    armhf) echo arm ;;
    ppc64el) echo ppc64le ;;
    *) echo "docker-archive: no image architecture name for the Debian architecture $1" >&2; return 2 ;;
  esac
}

docker_archive() {
  local out="$1" ref="$2" rootfs="$3" arch="$4" config="$5"
  local repo="${ref%:*}" tag="${ref##*:}"
  if [ "$repo" = "$ref" ] || [ -z "$tag" ]; then echo "docker-archive: $ref is not REPO:TAG" >&2; return 2; fi
  [ -d "$rootfs" ] || { echo "docker-archive: $rootfs is not a directory" >&2; return 2; }
  local image_arch work diff_id config_json config_id
  image_arch="$(docker_archive_arch "$arch")" || return 2
  # Beside OUT, so the final rename stays on one filesystem; the caller's directory holds it.
  work="$(mktemp -d "$(dirname "$out")/.docker-archive.XXXXXX")"
  mkdir -p "$work/archive"

  docker_archive_tar "$rootfs" "$work/layer.tar"
  diff_id="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
  mkdir "$work/archive/$diff_id"
  mv "$work/layer.tar" "$work/archive/$diff_id/layer.tar"
  printf '1.0' > "$work/archive/$diff_id/VERSION"
  printf '{"id":"%s","created":"%s","os":"linux","architecture":"%s","config":%s}' \
    "$diff_id" "$docker_archive_created" "$image_arch" "$config" > "$work/archive/$diff_id/json"

  config_json="$(printf '{"architecture":"%s","os":"linux","created":"%s","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"hardway scripts/build-images.sh"}]}' \
    "$image_arch" "$docker_archive_created" "$config" "$diff_id" "$docker_archive_created")"
  config_id="$(printf '%s' "$config_json" | sha256sum | cut -d' ' -f1)"
  printf '%s' "$config_json" > "$work/archive/$config_id.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$config_id" "$ref" "$diff_id" > "$work/archive/manifest.json"
  printf '{"%s":{"%s":"%s"}}' "$repo" "$tag" "$diff_id" > "$work/archive/repositories"

  docker_archive_tar "$work/archive" "$work/image.tar"
  mv "$work/image.tar" "$out"
  rm -rf "$work"
}
