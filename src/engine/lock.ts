// .hardway/lock: refuses a second concurrent run on the same cluster; a lock left by a process
// that died (same host, PID gone) is taken over with a note.
import { readFile, rm, rmdir, writeFile, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FileError, HardwayError } from '../errors.ts';
import { stateDir } from './state.ts';

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}

export interface ClusterLock {
  /** Set when a stale lock was replaced: says whose. */
  recovered: LockInfo | undefined;
  release(): Promise<void>;
}

/** Why: two runs writing the same nodes and state.json would interleave; one must wait. */
export async function acquireLock(clusterDir: string, command: string): Promise<ClusterLock> {
  const dir = stateDir(clusterDir);
  // Made here: a command that ends without writing anything leaves no empty .hardway/ behind.
  const created = (await mkdir(dir, { recursive: true, mode: 0o700 })) !== undefined;
  const path = join(dir, 'lock');
  const mine: LockInfo = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
  let recovered: LockInfo | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(path, `${JSON.stringify(mine)}\n`, { flag: 'wx', mode: 0o600 });
      return { recovered, release: () => releaseLock(path, mine, created ? dir : undefined) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readLock(path);
    if (holder && !isStale(holder)) {
      throw new HardwayError(`another hardway run holds the lock on this cluster: pid ${holder.pid} on ${holder.host}, \`${holder.command}\`, since ${holder.startedAt}`, {
        exitCode: 1,
        where: { file: path },
        hint: `Wait for it to finish. If that process is gone on another machine, remove ${path}.`,
      });
    }
    recovered = holder;
    await rm(path, { force: true });
  }
  throw new HardwayError(`could not take the lock ${path}`, { exitCode: 1 });
}

/** The lock's holder; undefined when the file is gone. A lock that is not hardway's JSON is an error. */
async function readLock(path: string): Promise<LockInfo | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FileError(`cannot read the lock ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, path, { hint: LOCK_HINT });
  }
  let holder: Partial<LockInfo> | undefined;
  try {
    holder = JSON.parse(text) as Partial<LockInfo>;
  } catch {
    holder = undefined;
  }
  // Never guessed at: who holds it decides whether a run may go on.
  if (!holder || typeof holder.pid !== 'number' || typeof holder.host !== 'string') {
    throw new FileError(`${path} is not a hardway lock (expected {"pid", "host", "command", "startedAt"}, got ${JSON.stringify(text.slice(0, 40))})`, path, { hint: LOCK_HINT });
  }
  return holder as LockInfo;
}

const LOCK_HINT = 'If no hardway run is going on for this cluster, remove the file and run the command again.';

function isStale(holder: LockInfo): boolean {
  if (holder.host !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function releaseLock(path: string, mine: LockInfo, createdDir: string | undefined): Promise<void> {
  const holder = await readLock(path).catch(() => undefined);
  if (holder?.pid === mine.pid && holder.startedAt === mine.startedAt) await rm(path, { force: true });
  // Only if still empty: a run that wrote state.json keeps its directory.
  if (createdDir) await rmdir(createdDir).catch(() => undefined);
}
