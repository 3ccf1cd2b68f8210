import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideDirectory, directoryArgs, directoryModule } from '../../src/modules/directory.ts';
import type { FileFacts } from '../../src/transport/remote-file.ts';
import { testRunContext } from '../helpers/context.ts';
import { converge, remoteNode, type RemoteNode } from './remote-node.ts';

const args = directoryArgs.parse({ path: '/var/lib/etcd', mode: '0700', owner: 'root', group: 'root' });
const dir = (overrides: Partial<FileFacts> = {}): FileFacts => ({ state: 'present', type: 'directory', size: 4096, mode: '0700', owner: 'root', group: 'root', ...overrides });

describe('decideDirectory (fixtures)', () => {
  it('is ok when the directory has the mode and owner', () => {
    expect(decideDirectory(dir(), args)).toEqual({ changed: false, reason: 'exists, mode 0700, owner root:root' });
  });
  it('creates a missing directory (and missing parents)', () => {
    expect(decideDirectory({ state: 'missing' }, args)).toEqual({ changed: true, reason: 'create /var/lib/etcd', plan: { create: true } });
    expect(decideDirectory({ state: 'nodir' }, args)).toEqual({ changed: true, reason: 'create /var/lib/etcd and its parents', plan: { create: true } });
  });
  it('fixes mode and owner', () => {
    expect(decideDirectory(dir({ mode: '0755', owner: 'etcd' }), args)).toEqual({ changed: true, reason: 'set mode 0755 -> 0700, owner etcd -> root', plan: { create: false } });
  });
  it('refuses when a file is in the way', () => {
    expect(() => decideDirectory(dir({ type: 'regular file' }), args)).toThrow('/var/lib/etcd exists and is a regular file, not a directory');
  });
});

describe('directory describe', () => {
  it('prints the commands a person types', () => {
    const run = testRunContext();
    expect(directoryModule.describe({ run, node: run.inventory.nodes[0], vars: {} }, args)).toEqual(['mkdir -p /var/lib/etcd', 'chmod 0700 /var/lib/etcd', 'chown root:root /var/lib/etcd']);
  });
  it('shows only the mode and owner when check found the directory there', () => {
    const run = testRunContext();
    const plan = decideDirectory(dir({ mode: '0755' }), args);
    expect(plan.changed && directoryModule.describe({ run, node: run.inventory.nodes[0], vars: {} }, args, plan.plan)).toEqual(['chmod 0700 /var/lib/etcd', 'chown root:root /var/lib/etcd']);
  });
});

describe('directory on a node (real sshd)', () => {
  let remote: RemoteNode;
  beforeAll(async () => {
    remote = await remoteNode();
  });
  afterAll(() => remote.stop());

  it('creates, then reports ok, then fixes a changed mode', async () => {
    const path = join(remote.root, 'etc', 'etcd');
    const first = await converge(directoryModule, remote.context(), { path, mode: '0700' });
    expect(first.check).toMatchObject({ changed: true, reason: `create ${path} and its parents` });
    expect((await stat(path)).mode & 0o7777).toBe(0o700);

    const second = await converge(directoryModule, remote.context(), { path, mode: '0700' });
    expect(second.check).toEqual({ changed: false, reason: 'exists, mode 0700, owner root:root' });

    const third = await converge(directoryModule, remote.context(), { path, mode: '0750', group: 'daemon' });
    expect(third.check).toMatchObject({ changed: true, reason: 'set mode 0700 -> 0750, group root -> daemon' });
    expect((await stat(path)).mode & 0o7777).toBe(0o750);
  });

  it('fails naming the node when a file is in the way', async () => {
    const path = join(remote.root, 'file');
    await remote.transport.exec(`echo x > ${path}`);
    await expect(converge(directoryModule, remote.context(), { path })).rejects.toMatchObject({ where: { node: 'controller-0' }, message: expect.stringContaining('is a regular file') });
  });
});
