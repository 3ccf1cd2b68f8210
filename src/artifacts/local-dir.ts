// Artifacts from a local directory (--artifacts-dir, artifacts.dir) instead of downloads: each
// file is verified against the directory's SHA256SUMS, and an optional VERSIONS file (written by
// scripts/fill-artifacts.sh) must agree with the spec's versions and the node's architecture.
// VERSIONS lines are `<field>=<version>` with the spec's field names (kubernetes, etcd,
// containerd, runc, cniPlugins) plus `arch=`; a release it does not list is not checked.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SpecError, TaskError } from '../errors.ts';
import { releaseOf, type Arch, type ArtifactName, type Release, type Versions } from './catalog.ts';
import { parseSha256Sums, sha256File } from './checksum.ts';
import type { FileHashes } from './file-hashes.ts';
import type { ResolvedArtifact } from './resolved.ts';

// Files are named as artifacts (`kubelet`, `containerd`, `cni-bridge`), whatever their name on the node.
const FILL_HINT = 'scripts/fill-artifacts.sh DIR fills such a directory; or write SHA256SUMS with `(cd DIR && sha256sum FILE... > SHA256SUMS)` for the files it holds (etcd, kube-apiserver, kubelet, containerd, runc, cni-bridge, ...).';

export interface DirectoryOptions {
  versions: Versions;
  arch: Arch;
  /** For errors: which file and field set the versions. */
  specFile?: string;
  /** Hashes known from earlier reads of the same file versions. */
  hashes?: FileHashes;
}

/** Why: offline installs still get every file checked against a checksum list before upload. */
export async function artifactsFromDirectory(dir: string, names: readonly ArtifactName[], options: DirectoryOptions): Promise<ResolvedArtifact[]> {
  const sumsPath = join(dir, 'SHA256SUMS');
  const text = await readText(sumsPath);
  if (text === undefined) throw new TaskError(`the artifacts directory ${dir} has no SHA256SUMS file`, { file: sumsPath }, { hint: FILL_HINT });
  const { sums, bad } = parseSha256Sums(text);
  if (bad.length) throw new TaskError(`${sumsPath}: line ${bad.join(', ')} is not "<sha256>  <file>"`, { file: sumsPath }, { hint: FILL_HINT });
  await checkVersions(dir, names, options);

  const resolved: ResolvedArtifact[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const expected = sums.get(name);
    if (!expected) throw new TaskError(`${sumsPath} has no line for ${name}`, { file: sumsPath }, { hint: `Add it: (cd ${dir} && sha256sum ${name} >> SHA256SUMS). ${FILL_HINT}` });
    let actual: string;
    try {
      actual = options.hashes ? await options.hashes.sha256(path) : await sha256File(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      throw new TaskError(`the artifacts directory ${dir} has no ${name}`, { file: path }, { hint: FILL_HINT });
    }
    if (actual !== expected) {
      throw new TaskError(`sha256 mismatch for ${path}: expected ${expected} (from ${sumsPath}), got ${actual}`, { file: path }, {
        hint: 'The file changed after SHA256SUMS was written. Refill the directory (scripts/fill-artifacts.sh) or update SHA256SUMS if the new file is intended.',
      });
    }
    resolved.push({ name, path, sha256: actual, origin: path, from: 'directory' });
  }
  return resolved;
}

async function checkVersions(dir: string, names: readonly ArtifactName[], options: DirectoryOptions): Promise<void> {
  const path = join(dir, 'VERSIONS');
  const text = await readText(path);
  if (text === undefined) return;
  const recorded = new Map(
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#') && line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')).trim(), line.slice(line.indexOf('=') + 1).trim()] as const),
  );
  // Only the releases asked for matter: a directory for other etcd versions still serves kubelet.
  const wanted = new Set<Release>(names.map(releaseOf));
  for (const release of wanted) {
    const have = recorded.get(release);
    const want = options.versions[release];
    if (have !== undefined && have !== want) {
      throw new SpecError(`the artifacts directory ${dir} has ${release} ${have} (${path}) but versions.${release} is ${want}`, { file: options.specFile, field: `versions.${release}` }, {
        hint: `Set versions.${release}: "${have}" in cluster.yaml, or refill the directory for ${want}.`,
      });
    }
  }
  const arch = recorded.get('arch');
  if (arch !== undefined && arch !== options.arch) {
    throw new TaskError(`the artifacts directory ${dir} holds ${arch} binaries (${path}) but the node is ${options.arch}`, { file: path }, {
      hint: `Fill a directory for ${options.arch}: scripts/fill-artifacts.sh --arch ${options.arch} DIR.`,
    });
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
