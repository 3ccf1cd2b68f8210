import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/engine/state.ts';
import { SpecError } from '../../src/errors.ts';
import { writeFile } from 'node:fs/promises';

const run = promisify(execFile);
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-state-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('StateStore', () => {
  it('persists updates with mode 0600 and reads them back', async () => {
    const store = await StateStore.open(dir, 'demo');
    await store.recordStep('pki', { local: { status: 'done', at: 'now', changed: 3 } });
    const path = join(dir, '.hardway', 'state.json');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await StateStore.open(dir, 'demo')).stepRecord('pki', 'local')).toEqual({ status: 'done', at: 'now', changed: 3 });
  });

  it('loses no write when many tasks update at once', async () => {
    const store = await StateStore.open(dir, 'demo');
    await Promise.all(Array.from({ length: 40 }, (_, index) => store.recordStep('hosts', { [`node-${index}`]: { status: 'done', at: 'now', changed: 0 } })));
    const reread = await StateStore.open(dir, 'demo');
    expect(Object.keys(reread.data.steps.hosts ?? {})).toHaveLength(40);
  });

  it('keeps the previous state when the process dies between write and rename', async () => {
    const store = await StateStore.open(dir, 'demo');
    await store.recordStep('pki', { local: { status: 'done', at: 'before', changed: 1 } });
    const script = `
      import { StateStore } from ${JSON.stringify(new URL('../../src/engine/state.ts', import.meta.url).pathname)};
      const store = await StateStore.open(${JSON.stringify(dir)}, 'demo');
      await store.update((d) => { d.steps.pki = { local: { status: 'failed', at: 'after', changed: 0 } }; },
        { beforeRename: () => process.kill(process.pid, 'SIGKILL') });
    `;
    await expect(run(process.execPath, ['--input-type=module', '-e', script])).rejects.toMatchObject({ signal: 'SIGKILL' });
    const files = await readdir(join(dir, '.hardway'));
    // The crash left its temp file, fully written, beside an untouched state.json.
    expect(files.filter((name) => name.endsWith('.tmp'))).toHaveLength(1);
    expect(JSON.parse(await readFile(join(dir, '.hardway', 'state.json'), 'utf8')).steps.pki.local.at).toBe('before');
    expect((await StateStore.open(dir, 'demo')).stepRecord('pki', 'local')?.status).toBe('done');
  });

  it('removes its temp file when the rename fails in-process', async () => {
    const store = await StateStore.open(dir, 'demo');
    await store.recordStep('pki', { local: { status: 'done', at: 'before', changed: 1 } });
    await expect(store.update((d) => void (d.cluster = 'changed'), { beforeRename: () => Promise.reject(new Error('disk full')) })).rejects.toThrow('disk full');
    expect((await readdir(join(dir, '.hardway'))).sort()).toEqual(['state.json']);
    expect(store.data.cluster).toBe('demo');
    // The store keeps working after a failed write.
    await store.recordStep('hosts', { a: { status: 'done', at: 'x', changed: 0 } });
    expect((await StateStore.open(dir, 'demo')).stepRecord('hosts', 'a')?.status).toBe('done');
  });

  it('refuses a corrupt state file with the path and a way out, exit 2', async () => {
    await (await StateStore.open(dir, 'demo')).recordStep('a', {});
    await writeFile(join(dir, '.hardway', 'state.json'), '{"version": 1, "steps": {');
    const error = await StateStore.open(dir, 'demo').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).exitCode).toBe(2);
    expect((error as SpecError).message).toContain('state.json: unreadable state');
  });
});
