// The one lock file: takers of a shared entry wait for each other, a dead holder's lock is taken
// over, another host's never is, and a file that is not a lock is never guessed at.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isProcessAlive, takeLock, withLock } from '../../src/util/lock-file.ts';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The PID of a process that has exited: free, and not ours. */
async function deadPid(): Promise<number> {
  const exited = execa('true');
  const pid = exited.pid!;
  await exited;
  return pid;
}

describe('withLock', () => {
  it('runs takers one after the other, says whom a waiter waits for, and removes the lock', async () => {
    const lock = join(dir, 'image.lock');
    const events: string[] = [];
    const lines: string[] = [];
    const work = (name: string) =>
      withLock(lock, { log: (line) => lines.push(line), what: 'building the image', pollMs: 20 }, async () => {
        events.push(`${name} start`);
        expect(JSON.parse(await readFile(lock, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname(), command: 'building the image' });
        await new Promise((resolve) => setTimeout(resolve, 100));
        events.push(`${name} end`);
      });
    await Promise.all([work('a'), work('b')]);
    // Either may win the lock; the other starts only after the winner ended.
    const first = events[0]?.split(' ')[0] ?? '';
    const second = first === 'a' ? 'b' : 'a';
    expect(events).toEqual([`${first} start`, `${first} end`, `${second} start`, `${second} end`]);
    expect(lines).toEqual([`waiting for process ${process.pid}, which is working on building the image (lock ${lock})`]);
    await expect(readFile(lock)).rejects.toThrow();
    // No draft is left beside it either.
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes over a lock whose process is gone on this machine', async () => {
    const lock = join(dir, 'image.lock');
    await writeFile(lock, JSON.stringify({ pid: await deadPid(), host: hostname(), command: 'hardway up', startedAt: 'earlier' }));
    expect(await withLock(lock, { what: 'building the image', pollMs: 20, timeoutMs: 1000 }, async () => 'built')).toBe('built');
  });

  it('waits for, and times out on, a lock of another host however dead its PID looks here', async () => {
    const lock = join(dir, 'image.lock');
    await writeFile(lock, JSON.stringify({ pid: await deadPid(), host: 'elsewhere', command: 'x', startedAt: 'now' }));
    await expect(withLock(lock, { what: 'building the image', pollMs: 20, timeoutMs: 200 }, async () => 'built')).rejects.toThrow(/timed out waiting for process \d+ on elsewhere to finish building the image/);
    expect(JSON.parse(await readFile(lock, 'utf8')).host).toBe('elsewhere');
  });

  it('refuses a file that is not a lock, naming it, and leaves it as it was', async () => {
    const lock = join(dir, 'image.lock');
    for (const text of ['', '12345\n', '{"pid": "12", "host": "x"}']) {
      await writeFile(lock, text);
      await expect(withLock(lock, { what: 'building the image', pollMs: 20, timeoutMs: 200 }, async () => 'built')).rejects.toThrow(`${lock} is not a hardway lock`);
      expect(await readFile(lock, 'utf8')).toBe(text);
    }
  });
});

describe('takeLock', () => {
  it('says who holds a live lock, and reports the dead holder it replaced', async () => {
    const lock = join(dir, 'lock');
    const held = await takeLock(lock, 'hardway up');
    expect(held.taken).toBe(true);
    const second = await takeLock(lock, 'hardway provision');
    expect(second).toMatchObject({ taken: false, holder: { pid: process.pid, command: 'hardway up' } });
    if (held.taken) await held.release();
    const pid = await deadPid();
    await writeFile(lock, JSON.stringify({ pid, host: hostname(), command: 'hardway up', startedAt: 'earlier' }));
    const third = await takeLock(lock, 'hardway provision');
    expect(third).toMatchObject({ taken: true, recovered: { pid, command: 'hardway up' } });
  });

  it('knows a live process from an exited one', async () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(await deadPid())).toBe(false);
  });
});
