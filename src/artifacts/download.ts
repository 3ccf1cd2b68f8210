// HTTP(S) downloads for the artifact cache: a file streamed to a temporary path with its sha256
// computed on the way, and small text files (checksums). Node's fetch follows GitHub's redirects.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TaskError } from '../errors.ts';

const OFFLINE_HINT =
  'hardway downloads release binaries from dl.k8s.io and github.com. Without internet access, use --artifacts-dir DIR ' +
  '(or artifacts.dir in cluster.yaml) with a directory holding the binaries and a SHA256SUMS file; scripts/fill-artifacts.sh fills one.';

export interface DownloadOptions {
  signal?: AbortSignal;
  /** What to check when the server answers 404 (which versions field names a release that may not exist). */
  notFoundHint?: string;
}

export interface Downloaded {
  /** A temporary file next to the destination; the caller renames it after verifying. */
  tempPath: string;
  sha256: string;
  bytes: number;
}

/** Why: large binaries stream to disk while hashing, so a mismatch is known before anything is kept. */
export async function downloadToTemp(url: string, dest: string, options: DownloadOptions = {}): Promise<Downloaded> {
  const { signal } = options;
  const response = await request(url, options);
  const tempPath = `${dest}.${randomBytes(6).toString('hex')}.part`;
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    if (!response.body) throw new Error('empty response body');
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), tap, createWriteStream(tempPath, { mode: 0o644 }), { signal });
  } catch (error) {
    await rm(tempPath, { force: true });
    throw new TaskError(`downloading ${url} failed after ${bytes} bytes: ${describeCause(error)}`, {}, { hint: OFFLINE_HINT, cause: error });
  }
  return { tempPath, sha256: hash.digest('hex'), bytes };
}

/** A small text file (a checksum list). */
export async function fetchText(url: string, options: DownloadOptions = {}): Promise<string> {
  const response = await request(url, options);
  const text = await response.text();
  if (text.length > 1_000_000) throw new TaskError(`${url} is not a checksum file (${text.length} bytes)`, {});
  return text;
}

async function request(url: string, { signal, notFoundHint }: DownloadOptions): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow', headers: { 'user-agent': 'hardway' } });
  } catch (error) {
    throw new TaskError(`cannot download ${url}: ${describeCause(error)}`, {}, { hint: OFFLINE_HINT, cause: error });
  }
  if (!response.ok) {
    await response.body?.cancel();
    const hint =
      response.status === 404
        ? (notFoundHint ?? 'Check versions in cluster.yaml: that release or architecture may not exist.')
        : OFFLINE_HINT;
    throw new TaskError(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`, {}, { hint });
  }
  return response;
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return error instanceof Error ? error.message : String(error);
}
