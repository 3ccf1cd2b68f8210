// What the artifact cache knows about a file it verified: a small record beside it (digest, size,
// mtime, inode, the published digest it was checked against), so later runs and the other nodes of
// a run trust it without re-hashing 100 MB binaries, and a changed file is hashed (and replaced) again.
import { chmod, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { sha256File } from './checksum.ts';

/** Trusted while the file's size, mtime and inode are unchanged. */
export interface VerifiedRecord {
  sha256: string;
  size: number;
  mtimeMs: number;
  ino: number;
  /** The published digest it was checked against: its own, or its archive's. */
  checkedAgainst: string;
}

/** The cached file's digest when it is there and matches `expected`; a corrupt copy is removed. */
export async function verifiedCopy(path: string, expected: string, log?: (line: string) => void): Promise<string | undefined> {
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
  log?.(`cached ${path} does not match its published sha256; downloading it again`);
  await rm(path, { force: true });
  await rm(recordPath(path), { force: true });
  return undefined;
}

/** The record of a file unpacked from an archive with digest `archiveDigest`, if still valid. */
export async function unpackedCopy(path: string, archiveDigest: string): Promise<VerifiedRecord | undefined> {
  const record = await readRecord(path);
  return record && record.checkedAgainst === archiveDigest && (await unchanged(path, record)) ? record : undefined;
}

/** Moves a verified download into place and records it. */
export async function keep(tempPath: string, path: string, sha256: string, checkedAgainst: string, mode = 0o755): Promise<void> {
  await chmod(tempPath, mode);
  await rename(tempPath, path);
  await writeRecord(path, sha256, checkedAgainst);
}

export async function writeRecord(path: string, sha256: string, checkedAgainst: string): Promise<void> {
  const info = await stat(path);
  const record: VerifiedRecord = { sha256, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino, checkedAgainst };
  await writeFileAtomic(recordPath(path), `${JSON.stringify(record)}\n`);
}

export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function recordPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.verified.json`);
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

async function unchanged(path: string, record: VerifiedRecord): Promise<boolean> {
  try {
    const info = await stat(path);
    return info.size === record.size && info.mtimeMs === record.mtimeMs && info.ino === record.ino;
  } catch {
    return false;
  }
}
