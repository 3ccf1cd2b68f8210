import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/engine/lock.ts';
import { HardwayError } from '../../src/errors.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-lock-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('acquireLock', () => {
  it('refuses a second run while the first holds the lock, and allows one after release', async () => {
    const first = await acquireLock(dir, 'hardway up');
    const error = await acquireLock(dir, 'hardway provision').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HardwayError);
    expect((error as HardwayError).message).toMatch(new RegExp(`another hardway run holds the lock on this cluster: pid ${process.pid} on ${hostname()}, \`hardway up\``));
    await first.release();
    const second = await acquireLock(dir, 'hardway provision');
    expect(second.recovered).toBeUndefined();
    await second.release();
  });

  it('takes over a lock whose process is gone, saying whose it was', async () => {
    // A real process that has exited: its PID is free.
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid!;
    await new Promise((resolve) => child.on('exit', resolve));
    await mkdir(join(dir, '.hardway'), { recursive: true });
    await writeFile(join(dir, '.hardway', 'lock'), JSON.stringify({ pid, host: hostname(), command: 'hardway up', startedAt: 'yesterday' }));
    const lock = await acquireLock(dir, 'hardway provision');
    expect(lock.recovered).toMatchObject({ pid, command: 'hardway up' });
    expect(JSON.parse(await readFile(join(dir, '.hardway', 'lock'), 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('leaves no empty .hardway/ behind when it made one and nothing was written, and keeps one that holds state', async () => {
    const { existsSync } = await import('node:fs');
    await (await acquireLock(dir, 'hardway provision')).release();
    expect(existsSync(join(dir, '.hardway'))).toBe(false);
    const lock = await acquireLock(dir, 'hardway provision');
    await writeFile(join(dir, '.hardway', 'state.json'), '{}\n');
    await lock.release();
    expect(await readFile(join(dir, '.hardway', 'state.json'), 'utf8')).toBe('{}\n');
  });

  it('refuses a lock file that is not a hardway lock, naming it, and leaves it as it was', async () => {
    await mkdir(join(dir, '.hardway'), { recursive: true });
    for (const text of ['{"pid": 12', '{"pid": "12", "host": "x"}', '']) {
      await writeFile(join(dir, '.hardway', 'lock'), text);
      const error = await acquireLock(dir, 'hardway provision').catch((caught: unknown) => caught);
      expect(error).toMatchObject({ exitCode: 2, message: expect.stringContaining(`${join(dir, '.hardway', 'lock')} is not a hardway lock`) });
      expect(await readFile(join(dir, '.hardway', 'lock'), 'utf8')).toBe(text);
    }
  });

  it('never takes over a lock of another host', async () => {
    await mkdir(join(dir, '.hardway'), { recursive: true });
    await writeFile(join(dir, '.hardway', 'lock'), JSON.stringify({ pid: 999999, host: 'elsewhere', command: 'hardway up', startedAt: 'now' }));
    await expect(acquireLock(dir, 'hardway provision')).rejects.toThrow(/pid 999999 on elsewhere/);
  });
});
