#!/usr/bin/env bash
# Builds, once, the lab's node image into the cache, exactly as the lab provider does on first use
# (`hardway up` builds it itself when missing); useful to warm the cache before the end-to-end
# tests. A second call finds the cached image at once. Prints the image's path on stdout.
#
# Usage: sudo scripts/lab-image.sh [SUITE]      (default suite: bookworm)
# Env:   HARDWAY_CACHE_DIR   base of the cache (default /var/cache/hardway)
#        HARDWAY_LAB_MIRROR  Debian mirror (default: the one in this machine's apt sources)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
export HARDWAY_ROOT="$root" HARDWAY_SUITE="${1:-bookworm}"
exec node --input-type=module -e '
const root = process.env.HARDWAY_ROOT;
const { checkLabPrerequisites, hostFacts } = await import(`${root}/src/providers/lab/preflight.ts`);
const { ensureImage, IMAGE_PACKAGES } = await import(`${root}/src/providers/lab/image.ts`);
const { resolveMirror } = await import(`${root}/src/providers/lab/mirror.ts`);
const { cacheRoot } = await import(`${root}/src/providers/lab/names.ts`);
try {
  await checkLabPrerequisites(hostFacts(process.env));
  const suite = process.env.HARDWAY_SUITE;
  const mirror = await resolveMirror(process.env.HARDWAY_LAB_MIRROR || undefined, suite);
  const inputs = { suite, mirror, packages: IMAGE_PACKAGES, arch: process.arch };
  const image = await ensureImage({ cacheRoot: cacheRoot(process.env, undefined), inputs, log: (line) => console.error(line) });
  console.error(image.built ? `built ${image.name}` : `found ${image.name} in the cache`);
  console.log(image.path);
} catch (error) {
  console.error(`lab-image: ${error.message}${error.hint ? `\n${error.hint}` : ""}`);
  process.exit(error.exitCode ?? 1);
}
'
