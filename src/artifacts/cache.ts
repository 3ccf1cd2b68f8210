// The local artifact cache: each release binary is downloaded once, checked against the sha256
// upstream publishes, and kept with a small record of what was verified, so later runs (and the
// other nodes of this run) reuse it without downloading or re-hashing 100 MB files.
import { chmod, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TaskError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { EtcdSource, KubernetesSource } from './catalog.ts';
import { parseSha256Sums, parseSingleDigest, sha256Buffer, sha256File } from './checksum.ts';
import { downloadToTemp, fetchText } from './download.ts';
import { withFileLock } from './lock.ts';
import type { ResolvedArtifact } from './resolved.ts';
import { extractTarGz } from './tar.ts';

export interface CacheOptions {
  cacheDir: string;
  signal?: AbortSignal;
  /** Progress lines for the task's output ("downloading ..."). */
  log?: (line: string) => void;
}

/** What was verified about a cached file; trusted while the file's size, mtime and inode are unchanged. */
interface VerifiedRecord {
  sha256: string;
  size: number;
  mtimeMs: number;
  ino: number;
  /** The published digest it was checked against (kubernetes) or the tarball's (etcd). */
  checkedAgainst: string;
}

/** Why: a Kubernetes binary is published as a file with its own .sha256. */
export async function cachedKubernetesBinary(source: KubernetesSource, options: CacheOptions): Promise<ResolvedArtifact> {
  const directory = join(options.cacheDir, 'kubernetes', `v${source.version}`, `linux-${source.arch}`);
  const path = join(directory, source.name);
  return withFileLock(join(directory, `.${source.name}.lock`), async () => {
    const published = await publishedDigest(source, join(directory, `${source.name}.sha256`), options);
    const cached = await verifiedCopy(path, published, options);
    if (cached) return { name: source.name, path, sha256: cached, origin: source.url, from: 'cache' };

    options.log?.(`downloading ${source.url}`);
    const download = await downloadToTemp(source.url, path, options.signal);
    if (download.sha256 !== published) {
      await rm(download.tempPath, { force: true });
      throw mismatch(source.name, source.url, published, download.sha256, source.checksumUrl);
    }
    await keep(download.tempPath, path, download.sha256, published);
    return { name: source.name, path, sha256: download.sha256, origin: source.url, from: 'download' };
  }, options.signal);
}

/** Why: etcd binaries come inside a release tarball whose sha256 is a line of SHA256SUMS. */
export async function cachedEtcdBinary(source: EtcdSource, options: CacheOptions): Promise<ResolvedArtifact> {
  const release = join(options.cacheDir, 'etcd', `v${source.version}`);
  const directory = join(release, `linux-${source.arch}`);
  const path = join(directory, source.name);
  return withFileLock(join(release, `.${source.archive}.lock`), async () => {
    const sums = await publishedSums(source, join(release, 'SHA256SUMS'), options);
    const archiveDigest = sums.get(source.archive);
    if (!archiveDigest) {
      throw new TaskError(`${source.checksumUrl} has no line for ${source.archive}`, {}, {
        hint: 'Check versions.etcd in cluster.yaml and the node architecture: that release may not exist for it.',
      });
    }
    const record = await readRecord(path);
    if (record && record.checkedAgainst === archiveDigest && (await unchanged(path, record))) {
      return { name: source.name, path, sha256: record.sha256, origin: `${source.url} (${source.member})`, from: 'cache' };
    }

    const archivePath = join(release, source.archive);
    let from: ResolvedArtifact['from'] = 'cache';
    if (!(await verifiedCopy(archivePath, archiveDigest, options))) {
      options.log?.(`downloading ${source.url}`);
      const download = await downloadToTemp(source.url, archivePath, options.signal);
      if (download.sha256 !== archiveDigest) {
        await rm(download.tempPath, { force: true });
        throw mismatch(source.archive, source.url, archiveDigest, download.sha256, source.checksumUrl);
      }
      await keep(download.tempPath, archivePath, download.sha256, archiveDigest, 0o644);
      from = 'download';
    }

    // Both binaries of the release at once: etcd and etcdctl share the tarball.
    const prefix = source.member.slice(0, source.member.lastIndexOf('/') + 1);
    const members = ['etcd', 'etcdctl'].map((name) => `${prefix}${name}`);
    const extracted = extractTarGz(await readFile(archivePath), members);
    if (!extracted.has(source.member)) {
      throw new TaskError(`${source.archive} (${source.url}) has no ${source.member}`, {}, { hint: `Delete ${archivePath} and run again.` });
    }
    let digest = '';
    await mkdir(directory, { recursive: true });
    for (const [member, data] of extracted) {
      const target = join(directory, member.slice(prefix.length));
      await writeFileAtomic(target, data, { mode: 0o755 });
      await chmod(target, 0o755);
      const sha256 = sha256Buffer(data);
      await writeRecord(target, sha256, archiveDigest);
      if (member === source.member) digest = sha256;
    }
    return { name: source.name, path, sha256: digest, origin: `${source.url} (${source.member})`, from };
  }, options.signal);
}

async function publishedDigest(source: KubernetesSource, cachePath: string, options: CacheOptions): Promise<string> {
  const text = (await readOptional(cachePath)) ?? (await fetchText(source.checksumUrl, options.signal));
  const digest = parseSingleDigest(text);
  if (!digest) {
    await rm(cachePath, { force: true });
    throw new TaskError(`${source.checksumUrl} is not a sha256 digest`, {}, { hint: 'The release server answered something else; check the URL.' });
  }
  await writeFileAtomic(cachePath, `${digest}\n`);
  return digest;
}

async function publishedSums(source: EtcdSource, cachePath: string, options: CacheOptions): Promise<Map<string, string>> {
  const text = (await readOptional(cachePath)) ?? (await fetchText(source.checksumUrl, options.signal));
  const { sums } = parseSha256Sums(text);
  if (!sums.size) {
    await rm(cachePath, { force: true });
    throw new TaskError(`${source.checksumUrl} has no sha256sum lines`, {}, { hint: 'The release server answered something else; check the URL.' });
  }
  await writeFileAtomic(cachePath, text);
  return sums;
}

/** The cached file's digest when it is there and matches `expected`; a corrupt copy is removed. */
async function verifiedCopy(path: string, expected: string, options: CacheOptions): Promise<string | undefined> {
  const record = await readRecord(path);
  if (record && record.sha256 === expected && (await unchanged(path, record))) return expected;
  let actual: string;
  try {
    actual = await sha256File(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (actual === expected) {
    await writeRecord(path, actual, expected);
    return actual;
  }
  options.log?.(`cached ${path} does not match its published sha256; downloading it again`);
  await rm(path, { force: true });
  await rm(recordPath(path), { force: true });
  return undefined;
}

async function keep(tempPath: string, path: string, sha256: string, checkedAgainst: string, mode = 0o755): Promise<void> {
  await chmod(tempPath, mode);
  await rename(tempPath, path);
  await writeRecord(path, sha256, checkedAgainst);
}

function recordPath(path: string): string {
  return join(dirname(path), `.${path.slice(dirname(path).length + 1)}.verified.json`);
}

async function readRecord(path: string): Promise<VerifiedRecord | undefined> {
  const text = await readOptional(recordPath(path));
  if (!text) return undefined;
  try {
    return JSON.parse(text) as VerifiedRecord;
  } catch {
    return undefined;
  }
}

async function writeRecord(path: string, sha256: string, checkedAgainst: string): Promise<void> {
  const info = await stat(path);
  const record: VerifiedRecord = { sha256, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino, checkedAgainst };
  await writeFileAtomic(recordPath(path), `${JSON.stringify(record)}\n`);
}

async function unchanged(path: string, record: VerifiedRecord): Promise<boolean> {
  try {
    const info = await stat(path);
    return info.size === record.size && info.mtimeMs === record.mtimeMs && info.ino === record.ino;
  } catch {
    return false;
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Why: a mismatch must say which file, both digests and where the expected one came from. */
export function mismatch(file: string, url: string, expected: string, actual: string, checksumUrl: string): TaskError {
  return new TaskError(
    `sha256 mismatch for ${file} downloaded from ${url}: expected ${expected} (published in ${checksumUrl}), got ${actual}`,
    {},
    { hint: 'The download is corrupt or was tampered with; it was not kept or installed. Run again to retry; if it persists, check proxies and mirrors.' },
  );
}
