// .hardway/lock: refuses a second concurrent run on the same cluster; a lock left by a process
// that died (same host, PID gone) is taken over with a note (util/lock-file.ts holds the rule).
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HardwayError } from '../errors.ts';
import { takeLock, type HeldLock } from '../util/lock-file.ts';
import { stateDir } from './state.ts';

/** Why: two runs writing the same nodes and state.json would interleave; one must wait. */
export async function acquireLock(clusterDir: string, command: string): Promise<HeldLock> {
  const dir = stateDir(clusterDir);
  // Made here: a command that ends without writing anything leaves no empty .hardway/ behind.
  const created = (await mkdir(dir, { recursive: true, mode: 0o700 })) !== undefined;
  const path = join(dir, 'lock');
  const result = await takeLock(path, command).catch(async (error: unknown) => {
    if (created) await rmdir(dir).catch(() => undefined);
    throw error;
  });
  if (!result.taken) {
    const { holder } = result;
    if (created) await rmdir(dir).catch(() => undefined);
    throw new HardwayError(`another hardway run holds the lock on this cluster: pid ${holder.pid} on ${holder.host}, \`${holder.command}\`, since ${holder.startedAt}`, {
      exitCode: 1,
      where: { file: path },
      hint: `Wait for it to finish. If that process is gone on another machine, remove ${path}.`,
    });
  }
  return {
    recovered: result.recovered,
    release: async () => {
      await result.release();
      // Only if still empty: a run that wrote state.json keeps its directory.
      if (created) await rmdir(dir).catch(() => undefined);
    },
  };
}
