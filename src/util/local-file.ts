// Reading files a person may have edited, replaced or pointed hardway at (cluster.yaml, pki/,
// known_hosts, --out): only regular files, never more than a size limit, and every failure an
// error that names the path and says what to do, instead of a raw EISDIR or a read that never ends.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { FileError } from '../errors.ts';

/** Default cap for text inputs (specs, PEM, JSON): far above any real one, far below memory. */
export const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

export interface ReadLocalOptions {
  /** How the path appears in messages (as the user gave it, or relative to the cluster dir). */
  display?: string;
  /** Refuse files larger than this many bytes. */
  maxBytes?: number;
  /** What to do when the file is wrong, printed under the error. */
  hint?: string;
}

/** A node kind for messages: "a directory", "a FIFO", ... */
export function describeKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** Why: errno codes say nothing to a user; this says what is wrong with which path. */
export function fileErrorFrom(error: unknown, display: string, action: 'read' | 'write', hint?: string): FileError {
  if (error instanceof FileError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EISDIR: 'is a directory, not a file',
    ENOTDIR: 'a part of the path is not a directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ELOOP: 'is a symbolic link (or a loop of them)',
    ENAMETOOLONG: 'the path is too long',
    EROFS: 'the file system is read-only',
    ENOSPC: 'no space left on the device',
    EEXIST: 'already exists',
    ENXIO: 'is a FIFO or device with nothing on the other end',
    EINVAL: 'is not a valid path here',
  };
  const reason = (code && reasons[code]) ?? (error instanceof Error ? error.message : String(error));
  const defaultHint =
    code === 'EACCES' || code === 'EPERM'
      ? `Check the permissions of ${display}, or run as the user who owns the cluster directory.`
      : action === 'write'
        ? `Choose another path, or move ${display} aside.`
        : undefined;
  return new FileError(`cannot ${action} ${display}: ${reason}`, display, { hint: hint ?? defaultHint, cause: error });
}

/**
 * Why: `-c /dev/zero`, a FIFO or a directory must be refused, not read forever or crash. Opens
 * without blocking (a FIFO with no writer would hang), checks the opened file is regular, and reads
 * at most maxBytes.
 */
export async function readLocalFile(path: string, options: ReadLocalOptions = {}): Promise<string> {
  const display = options.display ?? path;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw fileErrorFrom(error, display, 'read', options.hint);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new FileError(`${display} is ${describeKind(stats)}, not a regular file; refusing to read it`, display, { hint: options.hint ?? `Point hardway at a regular file instead of ${display}.` });
    if (stats.size > maxBytes) throw tooLarge(display, maxBytes, options.hint);
    const chunks: Buffer[] = [];
    let total = 0;
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(display, maxBytes, options.hint);
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    throw fileErrorFrom(error, display, 'read', options.hint);
  } finally {
    await handle.close();
  }
}

/** The same, but a missing file is `undefined` (files hardway makes on first run). */
export async function readLocalFileOptional(path: string, options: ReadLocalOptions = {}): Promise<string | undefined> {
  try {
    return await readLocalFile(path, options);
  } catch (error) {
    if (((error as FileError).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
    throw error;
  }
}

function tooLarge(display: string, maxBytes: number, hint: string | undefined): FileError {
  return new FileError(`${display} is larger than ${formatBytes(maxBytes)}; refusing to read it`, display, { hint: hint ?? `This is not a file hardway wrote; check ${display}.` });
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes} bytes`;
}
