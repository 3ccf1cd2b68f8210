// A lock file around work on one cache entry, so parallel nodes of a run (or two runs) download a
// release once. A lock left by a process that no longer exists on this machine is taken over.
import { hostname } from 'node:os';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Why: the cache is shared by every task and run on this workstation; one writer per entry. */
export async function withFileLock<T>(path: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  for (;;) {
    signal?.throwIfAborted();
    try {
      const handle = await open(path, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n${hostname()}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await isStale(path)) {
        await rm(path, { force: true });
        continue;
      }
      await sleep(100, undefined, { signal });
    }
  }
  try {
    return await work();
  } finally {
    await rm(path, { force: true });
  }
}

async function isStale(path: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return false;
  }
  const [pidText = '', host = ''] = text.split('\n');
  const pid = Number(pidText);
  // Still being written, or held by another machine sharing the directory: not ours to judge.
  if (!Number.isInteger(pid) || pid <= 0 || host !== hostname()) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
