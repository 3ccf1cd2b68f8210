import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { withBuildLock } from '../../../src/providers/lab/build-lock.ts';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('image build lock', () => {
  it('runs builders one after the other and removes the lock', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-lock-'));
    const lock = join(dir, 'image.lock');
    const events: string[] = [];
    const lines: string[] = [];
    const build = (name: string) =>
      withBuildLock(lock, { log: (line) => lines.push(line), what: 'the image', pollMs: 20 }, async () => {
        events.push(`${name} start`);
        expect((await readFile(lock, 'utf8')).trim()).toBe(String(process.pid));
        await new Promise((resolve) => setTimeout(resolve, 100));
        events.push(`${name} end`);
      });
    await Promise.all([build('a'), build('b')]);
    // Either may win the lock; the other starts only after the winner ended.
    const first = events[0]?.split(' ')[0] ?? '';
    const second = first === 'a' ? 'b' : 'a';
    expect(events).toEqual([`${first} start`, `${first} end`, `${second} start`, `${second} end`]);
    expect(lines.some((line) => line.includes(`process ${process.pid}`))).toBe(true);
    await expect(readFile(lock)).rejects.toThrow();
  });

  it('takes over a lock whose process is gone', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-lock-'));
    const lock = join(dir, 'image.lock');
    const exited = execa('true');
    const pid = exited.pid!;
    await exited;
    await writeFile(lock, `${pid}\n`);
    expect(await withBuildLock(lock, { log: () => undefined, what: 'the image', pollMs: 20, timeoutMs: 1000 }, async () => 'built')).toBe('built');
  });
});
