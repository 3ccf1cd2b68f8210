// Write a file so that a crash leaves either the old content or the new one, never a mix; and
// never replace something that is not a regular file (a directory, a FIFO, a device, a link), nor
// write through a link out of the directory a secret belongs in.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, isAbsolute } from 'node:path';
import { FileError } from '../errors.ts';
import { describeKind, fileErrorFrom } from './local-file.ts';

export interface AtomicWriteOptions {
  /** File mode, e.g. 0o600 for keys and state; set exactly, whatever the umask. */
  mode?: number;
  /** Test hook: runs after the temp file is durable and before the rename. */
  beforeRename?: (tempPath: string) => void | Promise<void>;
  /**
   * The directory the file must really be inside (the cluster directory, for secrets): a parent
   * directory that is a symbolic link leading elsewhere is refused.
   */
  within?: string;
  /** How the path appears in messages. */
  display?: string;
}

/** Why: state.json and PKI files must survive a crash mid-write (DESIGN §2). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const display = options.display ?? path;
  const directory = dirname(path);
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new FileError(`cannot write ${display}: ${dirname(display)} (or a directory above it) is not a directory`, display, { hint: 'Choose a path whose directories exist or can be made.', cause: error });
    }
    throw fileErrorFrom(error, dirname(display), 'write');
  }
  if (options.within) await assertWithin(directory, options.within, display);
  await assertReplaceable(path, display);
  const tempPath = join(directory, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(tempPath, 'wx', options.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      // The create mode is subject to the umask; the final mode must be exactly what was asked.
      if (options.mode !== undefined) await handle.chmod(options.mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await options.beforeRename?.(tempPath);
    await rename(tempPath, path);
  } catch (error) {
    await rm(tempPath, { force: true });
    if (error instanceof Error && !('code' in error)) throw error;
    throw fileErrorFrom(error, display, 'write');
  }
  const dirHandle = await open(directory, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

/** Why: `--out /dev/null` as root must not replace the device, nor `--out somedir` fail with EISDIR. */
async function assertReplaceable(path: string, display: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fileErrorFrom(error, display, 'write');
  }
  if (stats.isFile()) return;
  throw new FileError(`${display} is ${describeKind(stats)}; hardway only replaces regular files, so it wrote nothing`, display, {
    hint: stats.isSymbolicLink() ? `Write to the file the link points at instead, or remove the link ${display}.` : `Choose another path, or move ${display} aside.`,
  });
}

/** Why: keys written into pki/ must land in the cluster directory, not where a planted link points. */
async function assertWithin(directory: string, within: string, display: string): Promise<void> {
  let real: string;
  let root: string;
  try {
    [real, root] = await Promise.all([realpath(directory), realpath(within)]);
  } catch (error) {
    throw fileErrorFrom(error, display, 'write');
  }
  const inside = relative(root, real);
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) return;
  throw new FileError(`${display}: its directory leads out of ${within} (to ${real}) through a symbolic link; refusing to write a secret there`, display, {
    hint: `Replace the link with a real directory inside ${within}.`,
  });
}
