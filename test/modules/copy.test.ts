import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyArgs, copyModule, decideUpload } from '../../src/modules/copy.ts';
import { noteUnitChange, unitOfPath } from '../../src/modules/remote-support.ts';
import { newScratch, testRunContext } from '../helpers/context.ts';
import { converge, remoteNode, type RemoteNode } from './remote-node.ts';

const sha = 'c'.repeat(64);

describe('decideUpload (fixtures)', () => {
  const wanted = { mode: '0600', owner: 'root', group: 'root' };
  it('is ok when the remote sha256, mode and owner match', () => {
    expect(decideUpload('/etc/etcd/server-key.pem', { state: 'present', type: 'regular file', size: 10, mode: '0600', owner: 'root', group: 'root', sha256: sha }, { size: 10, sha256: sha }, wanted)).toEqual({
      changed: false,
      reason: 'sha256 matches, mode 0600, owner root:root',
    });
  });
  it('uploads when missing or different, and says why', () => {
    expect(decideUpload('/etc/etcd/ca.pem', { state: 'missing' }, { size: 10 }, wanted)).toMatchObject({ changed: true, reason: 'upload (missing)' });
    expect(decideUpload('/etc/etcd/ca.pem', { state: 'present', type: 'regular file', size: 10, mode: '0600', owner: 'root', group: 'root', sha256: 'd'.repeat(64) }, { size: 10, sha256: sha }, wanted)).toMatchObject({
      changed: true,
      reason: 'upload (content differs: sha256)',
    });
  });
  it('fixes a mode without re-uploading', () => {
    expect(decideUpload('/etc/etcd/ca.pem', { state: 'present', type: 'regular file', size: 10, mode: '0644', owner: 'root', group: 'root', sha256: sha }, { size: 10, sha256: sha }, wanted)).toMatchObject({
      changed: true,
      reason: 'set mode 0644 -> 0600',
      plan: { action: 'metadata' },
    });
  });
});

describe('units written this run', () => {
  it('recognises unit files and drop-ins under /etc/systemd/system only', () => {
    expect(unitOfPath('/etc/systemd/system/etcd.service')).toBe('etcd.service');
    expect(unitOfPath('/etc/systemd/system/etcd.service.d/10-flags.conf')).toBe('etcd.service');
    expect(unitOfPath('/etc/etcd/etcd.service')).toBeUndefined();
    expect(unitOfPath('/lib/systemd/system/etcd.service')).toBeUndefined();
    const scratch = newScratch();
    noteUnitChange(scratch, '/etc/systemd/system/kube-apiserver.service');
    noteUnitChange(scratch, '/var/lib/kubernetes/ca.pem');
    expect([...scratch.changedUnits]).toEqual(['kube-apiserver.service']);
  });
});

describe('copy describe', () => {
  it('prints scp and chmod, with the source as written in the playbook', () => {
    const run = testRunContext();
    const node = run.inventory.nodes.find((candidate) => candidate.name === 'etcd-0')!;
    const args = copyArgs.parse({ src: 'pki/etcd-server-etcd-0.pem', dest: '/etc/etcd/server.pem', mode: '0644' });
    expect(copyModule.describe({ run, node, vars: {} }, args)).toEqual([{ upload: { source: 'pki/etcd-server-etcd-0.pem', dest: '/etc/etcd/server.pem' } }, 'chmod 0644 /etc/etcd/server.pem']);
  });
});

describe('copy to a node (real sshd)', () => {
  let remote: RemoteNode;
  beforeAll(async () => {
    remote = await remoteNode();
    await mkdir(join(remote.clusterDir, 'pki'));
    await writeFile(join(remote.clusterDir, 'pki', 'ca.pem'), 'CA CERT\n');
  });
  afterAll(() => remote.stop());

  it('uploads from the cluster directory, then finds nothing to do', async () => {
    const dest = join(remote.root, 'ca.pem');
    const first = await converge(copyModule, remote.context(), { src: 'pki/ca.pem', dest, mode: '0600' });
    expect(first.check).toMatchObject({ changed: true, reason: 'upload (missing)' });
    expect(first.applied).toEqual({ changed: true, reason: 'upload (missing)' });
    expect(await readFile(dest, 'utf8')).toBe('CA CERT\n');

    const second = await converge(copyModule, remote.context(), { src: 'pki/ca.pem', dest, mode: '0600' });
    expect(second.check).toEqual({ changed: false, reason: 'sha256 matches, mode 0600, owner root:root' });

    await writeFile(join(remote.clusterDir, 'pki', 'ca.pem'), 'NEW CA!\n');
    const third = await converge(copyModule, remote.context(), { src: 'pki/ca.pem', dest, mode: '0600' });
    expect(third.check).toMatchObject({ changed: true, reason: 'upload (content differs: sha256)' });
    expect(await readFile(dest, 'utf8')).toBe('NEW CA!\n');
    expect(await readdir(remote.root)).toEqual(['ca.pem']);
  });

  it('takes absolute sources (the artifact cache) and names a missing source', async () => {
    const cached = join(remote.clusterDir, 'cache-etcd');
    await writeFile(cached, 'binary');
    const outcome = await converge(copyModule, remote.context(), { src: cached, dest: join(remote.root, 'etcd'), mode: '0755' });
    expect(outcome.applied).toMatchObject({ changed: true });
    await expect(converge(copyModule, remote.context(), { src: 'pki/absent.pem', dest: join(remote.root, 'x') })).rejects.toMatchObject({
      message: expect.stringContaining('the source file pki/absent.pem does not exist'),
      hint: expect.stringContaining('run that step first'),
    });
  });
});
