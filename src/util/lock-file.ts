// The one lock file of hardway: the cluster's .hardway/lock (a second run is refused), the
// artifact cache's entries and the lab's image builds (a second taker waits). One rule for all:
// the file says who holds it ({pid, host, command, startedAt}, made whole in one link(2), so it is
// never seen half-written); a lock is stale only when its host is this machine and its process is
// gone. A lock of another host is never judged, and a file that is not such a lock is never guessed
// at: the error names it.
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileError, HardwayError } from '../errors.ts';
import { pollOr } from './poll.ts';

export interface LockHolder {
  pid: number;
  host: string;
  /** What holds it, for messages: `hardway up`, `the node image ...`. */
  command: string;
  startedAt: string;
}

export interface HeldLock {
  /** Set when a stale lock was replaced: whose it was. */
  recovered: LockHolder | undefined;
  /** Removes the lock if it is still this one. */
  release(): Promise<void>;
}

export type TakeResult = ({ taken: true } & HeldLock) | { taken: false; holder: LockHolder };

const LOCK_HINT = 'If no hardway run is using it, remove the file and run the command again.';

/** Alive and not a zombie (a zombie still answers kill 0 until its parent reaps it). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return process.platform !== 'linux';
  }
}

/** Why: one attempt at the lock, taking over a stale one; says who holds it otherwise. */
export async function takeLock(path: string, command: string, options: { mode?: number } = {}): Promise<TakeResult> {
  await mkdir(dirname(path), { recursive: true });
  const mine: LockHolder = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
  // Written whole under a private name, then linked: link fails if the lock exists, and a reader
  // never sees an empty or partial lock.
  const draft = join(dirname(path), `.${randomBytes(6).toString('hex')}.lock-draft`);
  await writeFile(draft, `${JSON.stringify(mine)}\n`, { mode: options.mode ?? 0o600 });
  let recovered: LockHolder | undefined;
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(draft, path);
        return { taken: true, recovered, release: () => releaseLock(path, mine) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readLock(path);
      if (holder && !isStale(holder)) return { taken: false, holder };
      recovered = holder ?? recovered;
      await rm(path, { force: true });
    }
  } finally {
    await rm(draft, { force: true });
  }
  throw new HardwayError(`could not take the lock ${path}: it came back each time it was removed`, { exitCode: 1, where: { file: path } });
}

export interface WaitForLockOptions {
  /** What the work is, for messages ("the node image X"). */
  what: string;
  /** Said once when another holder is waited for. */
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** How long to wait for another holder (default 20 min). */
  timeoutMs?: number;
  /** How often to look whether the other holder is done (default 100 ms). */
  pollMs?: number;
}

/** Why: work on a shared cache entry (a download, an image build) happens once; a second taker waits for the first. */
export async function withLock<T>(path: string, options: WaitForLockOptions, work: () => Promise<T>): Promise<T> {
  let who = '';
  const held = await pollOr<HeldLock | undefined>(
    async (attempt) => {
      const result = await takeLock(path, options.what, { mode: 0o644 });
      if (result.taken) return result;
      who = `process ${result.holder.pid}${result.holder.host === hostname() ? '' : ` on ${result.holder.host}`}`;
      if (attempt === 1) options.log?.(`waiting for ${who}, which is working on ${options.what} (lock ${path})`);
      return undefined;
    },
    { timeoutMs: options.timeoutMs ?? 20 * 60_000, intervalMs: options.pollMs ?? 100, signal: options.signal },
    () => new HardwayError(`timed out waiting for ${who} to finish ${options.what}`, { where: { file: path }, hint: `If that process is stuck, stop it and remove ${path}.` }),
  );
  try {
    return await work();
  } finally {
    await held!.release();
  }
}

/** The lock's holder; undefined when the file is gone. A file that is not a lock is an error. */
async function readLock(path: string): Promise<LockHolder | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FileError(`cannot read the lock ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, path, { hint: LOCK_HINT });
  }
  let holder: Partial<LockHolder> | undefined;
  try {
    holder = JSON.parse(text) as Partial<LockHolder>;
  } catch {
    holder = undefined;
  }
  if (!holder || typeof holder.pid !== 'number' || typeof holder.host !== 'string') {
    throw new FileError(`${path} is not a hardway lock (expected {"pid", "host", "command", "startedAt"}, got ${JSON.stringify(text.slice(0, 40))})`, path, { hint: LOCK_HINT });
  }
  return { pid: holder.pid, host: holder.host, command: String(holder.command ?? ''), startedAt: String(holder.startedAt ?? '') };
}

function isStale(holder: LockHolder): boolean {
  return holder.host === hostname() && !isProcessAlive(holder.pid);
}

async function releaseLock(path: string, mine: LockHolder): Promise<void> {
  const holder = await readLock(path).catch(() => undefined);
  if (holder?.pid === mine.pid && holder.startedAt === mine.startedAt) await rm(path, { force: true });
}
