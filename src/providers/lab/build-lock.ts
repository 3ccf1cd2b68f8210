// A lock file so two hardway processes (two clusters coming up at once) never build the same
// image together; a lock left by a dead process is taken over.
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { HardwayError } from '../../errors.ts';
import { isProcessAlive } from './processes.ts';

export interface BuildLockOptions {
  log: (line: string) => void;
  signal?: AbortSignal;
  /** What is being built, for messages. */
  what: string;
  /** How long to wait for another builder. */
  timeoutMs?: number;
  /** How often to look whether the other builder is done. */
  pollMs?: number;
}

/** Why: debootstrap into one cache from two processes would waste minutes or collide on rename. */
export async function withBuildLock<T>(path: string, options: BuildLockOptions, build: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20 * 60_000);
  let announced = false;
  for (;;) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await lockHolder(path);
    if (holder === undefined) {
      await rm(path, { force: true });
      continue;
    }
    if (!announced) {
      options.log(`waiting for ${holder > 0 ? `process ${holder}` : 'another process'}, which is building ${options.what} (lock ${path})`);
      announced = true;
    }
    if (Date.now() > deadline) {
      throw new HardwayError(`timed out waiting for ${holder > 0 ? `process ${holder}` : 'another process'} to finish building ${options.what}`, {
        hint: `If that process is stuck, stop it and remove ${path}.`,
      });
    }
    await sleep(options.pollMs ?? 2000, undefined, { signal: options.signal });
  }
  try {
    return await build();
  } finally {
    await rm(path, { force: true });
  }
}

/** The live PID holding the lock (0: not yet written), or undefined when the lock is stale. */
async function lockHolder(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    // Empty: the holder may be between creating and writing it; stale only once old.
    const age = Date.now() - (await stat(path).then((s) => s.mtimeMs).catch(() => 0));
    return age > 30_000 ? undefined : 0;
  }
  return isProcessAlive(pid) ? pid : undefined;
}
