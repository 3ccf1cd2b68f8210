// The local artifact cache: each release file is downloaded once, checked against the sha256
// upstream publishes, and kept with a record of what was verified (cache-record.ts), so later runs
// (and the other nodes of this run) reuse it without downloading or re-hashing 100 MB files.
// Layout: <cacheDir>/<release>/v<version>/ holds archives and release-wide checksum files,
// <cacheDir>/<release>/v<version>/linux-<arch>/ the binaries, under their artifact names.
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TaskError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { keep, readOptional, unpackedCopy, verifiedCopy, writeRecord } from './cache-record.ts';
import type { ArchiveSource, ArtifactSource, FileSource, Release } from './catalog.ts';
import { parseSha256Sums, parseSingleDigest, sha256Buffer } from './checksum.ts';
import { downloadToTemp, fetchText } from './download.ts';
import { withLock } from '../util/lock-file.ts';
import type { ResolvedArtifact } from './resolved.ts';
import { extractTarGz } from './tar.ts';

export interface CacheOptions {
  cacheDir: string;
  signal?: AbortSignal;
  /** Progress lines for the task's output ("downloading ..."). */
  log?: (line: string) => void;
}

/** Why: readable directory names for each release (`versions.cniPlugins` -> `cni-plugins/`). */
const RELEASE_DIRS: Record<Release, string> = { kubernetes: 'kubernetes', etcd: 'etcd', containerd: 'containerd', runc: 'runc', cniPlugins: 'cni-plugins' };

/** A verified local copy of one artifact, downloading what the cache lacks. */
export function cachedArtifact(source: ArtifactSource, options: CacheOptions): Promise<ResolvedArtifact> {
  return source.kind === 'archive' ? cachedArchiveMember(source, options) : cachedFile(source, options);
}

/** Why: Kubernetes binaries and runc are published as files, each checked against a published digest. */
export async function cachedFile(source: FileSource, options: CacheOptions): Promise<ResolvedArtifact> {
  const directory = join(releaseDir(options.cacheDir, source), `linux-${source.arch}`);
  const path = join(directory, source.name);
  return withLock(join(directory, `.${source.name}.lock`), { what: `the download of ${source.name}`, log: options.log, signal: options.signal }, async () => {
    const published = await publishedDigest(source, join(directory, basename(source.checksumUrl)), options);
    const cached = await verifiedCopy(path, published, options.log);
    if (cached) return { name: source.name, path, sha256: cached, origin: source.url, from: 'cache' };

    options.log?.(`downloading ${source.url}`);
    const download = await downloadToTemp(source.url, path, { signal: options.signal, notFoundHint: notFoundHint(source) });
    if (download.sha256 !== published) {
      await rm(download.tempPath, { force: true });
      throw mismatch(source.name, source.url, published, download.sha256, source.checksumUrl);
    }
    await keep(download.tempPath, path, download.sha256, published);
    return { name: source.name, path, sha256: download.sha256, origin: source.url, from: 'download' };
  });
}

/** Why: etcd, containerd and the CNI plugins come inside a release archive with a published sha256. */
export async function cachedArchiveMember(source: ArchiveSource, options: CacheOptions): Promise<ResolvedArtifact> {
  const release = releaseDir(options.cacheDir, source);
  const directory = join(release, `linux-${source.arch}`);
  const path = join(directory, source.name);
  const origin = `${source.url} (${source.member})`;
  return withLock(join(release, `.${source.archive}.lock`), { what: `the download of ${source.archive}`, log: options.log, signal: options.signal }, async () => {
    const archiveDigest = await publishedDigest(source, join(release, basename(source.checksumUrl)), options);
    const unpacked = await unpackedCopy(path, archiveDigest);
    if (unpacked) return { name: source.name, path, sha256: unpacked.sha256, origin, from: 'cache' };

    const archivePath = join(release, source.archive);
    let from: ResolvedArtifact['from'] = 'cache';
    if (!(await verifiedCopy(archivePath, archiveDigest, options.log))) {
      options.log?.(`downloading ${source.url}`);
      const download = await downloadToTemp(source.url, archivePath, { signal: options.signal, notFoundHint: notFoundHint(source) });
      if (download.sha256 !== archiveDigest) {
        await rm(download.tempPath, { force: true });
        throw mismatch(source.archive, source.url, archiveDigest, download.sha256, source.checksumUrl);
      }
      await keep(download.tempPath, archivePath, download.sha256, archiveDigest, 0o644);
      from = 'download';
    }

    // Every binary hardway takes from this archive at once: they share the download and the unpacking.
    const extracted = await unpack(archivePath, source);
    if (!extracted.has(source.member)) {
      throw new TaskError(`${source.archive} (${source.url}) has no ${source.member}`, {}, {
        hint: `The archive matches its published sha256, so this release lays out its files differently: check versions.${source.release} (${source.version}) in cluster.yaml.`,
      });
    }
    let digest = '';
    await mkdir(directory, { recursive: true });
    for (const { name, member } of source.members) {
      const data = extracted.get(member);
      if (!data) continue;
      const target = join(directory, name);
      await writeFileAtomic(target, data, { mode: 0o755 });
      await chmod(target, 0o755);
      const sha256 = sha256Buffer(data);
      await writeRecord(target, sha256, archiveDigest);
      if (name === source.name) digest = sha256;
    }
    return { name: source.name, path, sha256: digest, origin, from };
  });
}

async function unpack(archivePath: string, source: ArchiveSource): Promise<Map<string, Buffer>> {
  try {
    return await extractTarGz(await readFile(archivePath), source.members.map(({ member }) => member));
  } catch (error) {
    throw new TaskError(`cannot unpack ${source.archive} (${source.url}): ${(error as Error).message}`, {}, {
      hint: `It matched its published sha256, so the release server publishes something other than a .tar.gz; check the release URL, or delete ${archivePath} and run again.`,
      cause: error,
    });
  }
}

/** The sha256 the release publishes for `source.url`: from the cached checksum file, else downloaded. */
async function publishedDigest(source: ArtifactSource, cachePath: string, options: CacheOptions): Promise<string> {
  const cached = await readOptional(cachePath);
  const text = cached ?? (await fetchText(source.checksumUrl, { signal: options.signal, notFoundHint: notFoundHint(source) }));
  let digest: string;
  try {
    digest = digestIn(text, source);
  } catch (error) {
    // Why: a bad cached checksum file must not fail every later run without asking upstream again.
    await rm(cachePath, { force: true });
    throw error;
  }
  if (cached === undefined) await writeFileAtomic(cachePath, text);
  return digest;
}

function digestIn(text: string, source: ArtifactSource): string {
  const checksum = source.checksum;
  if (checksum.format === 'digest') {
    const digest = parseSingleDigest(text);
    if (!digest) throw new TaskError(`${source.checksumUrl} is not a sha256 digest`, {}, { hint: 'The release server answered something else; check the URL.' });
    return digest;
  }
  const { sums } = parseSha256Sums(text);
  if (!sums.size) throw new TaskError(`${source.checksumUrl} has no sha256sum lines`, {}, { hint: 'The release server answered something else; check the URL.' });
  const digest = sums.get(checksum.listedAs);
  if (!digest) {
    throw new TaskError(`${source.checksumUrl} has no line for ${checksum.listedAs}`, {}, {
      hint: `Check versions.${source.release} in cluster.yaml and the node architecture: that release may not exist for it.`,
    });
  }
  return digest;
}

function releaseDir(cacheDir: string, source: ArtifactSource): string {
  return join(cacheDir, RELEASE_DIRS[source.release], `v${source.version}`);
}

function notFoundHint(source: ArtifactSource): string {
  return `Check versions.${source.release} in cluster.yaml (${source.version}): that release, or its linux/${source.arch} build, may not exist.`;
}

/** Why: a mismatch must say which file, both digests and where the expected one came from. */
export function mismatch(file: string, url: string, expected: string, actual: string, checksumUrl: string): TaskError {
  return new TaskError(
    `sha256 mismatch for ${file} downloaded from ${url}: expected ${expected} (published in ${checksumUrl}), got ${actual}`,
    {},
    { hint: 'The download is corrupt or was tampered with; it was not kept or installed. Run again to retry; if it persists, check proxies and mirrors.' },
  );
}
