// Back up and restore, as an operator does it (issue 16): a lab cluster with the real control
// plane, objects written with kubectl, `hardway backup`, `hardway destroy --yes`, then `hardway
// restore` onto new machines: the objects are there again, Secrets still decrypt (same encryption
// key), and etcd is a new cluster (a new cluster ID). A restore over a running cluster is refused.
// Root and Linux only.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardway } from '../helpers/cli.ts';
import { artifactsDir, destroyAndCheck, expectConvergedUp, expectOk, freeSubnet, labSpec, requireRoot, unitStarts, type RunJson } from './lab-helpers.ts';

describe('lab: backup, destroy, restore', () => {
  const name = `e2b${randomBytes(2).toString('hex')}`;
  let dir = '';
  let artifacts = '';
  const cli = (...args: string[]) => hardway(['-c', join(dir, 'cluster.yaml'), ...args], { timeoutMs: 900_000 });
  const kubectl = async (...args: string[]) => (await execa('kubectl', ['--kubeconfig', join(dir, 'kubeconfigs/admin.kubeconfig'), ...args])).stdout.trim();
  const unitStartsOf = (units: string) => unitStarts(cli, [['controller-0', units]]);
  const clusterId = async () => {
    const status = await cli('ssh', 'controller-0', '--', 'ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/ca.pem --cert=/etc/etcd/server.pem --key=/etc/etcd/server-key.pem endpoint status -w json');
    expectOk(status);
    return String((JSON.parse(status.stdout) as { Status: { header: { cluster_id: number } } }[])[0]!.Status.header.cluster_id);
  };

  beforeAll(async () => {
    requireRoot();
    const subnet = await freeSubnet('10.247');
    artifacts = await artifactsDir();
    dir = await mkdtemp(join(tmpdir(), 'hardway-backup-e2e-'));
    // The workers example without its workers: one controller running etcd too.
    const spec = (await labSpec('workers.yaml', name, subnet)).replace(/  workers:\n    count: 2\n/, '');
    expect(spec).not.toMatch(/workers:\n/);
    await writeFile(join(dir, 'cluster.yaml'), spec);
  });

  afterAll(async () => {
    if (dir) await destroyAndCheck(cli, name, dir);
  });

  it('backs up a running cluster into one 0600 archive with a checksum', async () => {
    expectOk(await cli('up', '--artifacts-dir', artifacts));
    await kubectl('create', 'configmap', 'kept', '--from-literal=answer=42');
    await kubectl('create', 'secret', 'generic', 'kept', '--from-literal=password=hunter2');
    const backup = await cli('--json', 'backup', '--out', join(dir, 'saved.tar.gz'), '--transcript', join(dir, 'backup.sh'));
    expectOk(backup);
    // What it did, as a person would type it: the snapshot on the member, then the copy and the archive.
    const script = await readFile(join(dir, 'backup.sh'), 'utf8');
    expect(script).toContain('steps=(etcd-snapshot backup)');
    expect(script).toMatch(/root@\S+ '.*etcdctl .*snapshot save \/var\/lib\/hardway-backup\/snapshot\.db'/);
    expect((await execa('bash', ['-n', join(dir, 'backup.sh')])).exitCode).toBe(0);
    const summary = JSON.parse(backup.stdout) as { file: string; etcd: { member: string; revision: number; totalKey: number } };
    expect(summary.etcd.member).toBe('controller-0');
    expect(summary.etcd.totalKey).toBeGreaterThan(50);
    expect((await stat(summary.file)).mode & 0o777).toBe(0o600);
    expect((await execa('sha256sum', ['-c', 'saved.tar.gz.sha256'], { cwd: dir })).stdout).toBe('saved.tar.gz: OK');
  });

  it('after `pki renew`, status names what is renewed but not on the nodes; the next up installs it and restarts etcd', async () => {
    const before = await unitStartsOf('etcd');
    expectOk(await cli('pki', 'renew', 'etcd-server-*'));
    const status = await cli('status');
    expectOk(status);
    expect(status.stdout).toContain('renewed on the workstation, not yet on the nodes');
    expect(status.stdout).toContain('controller-0: pki/etcd-server-controller-0.pem -> /etc/etcd/server.pem (differs)');
    const up = await cli('--json', 'up', '--artifacts-dir', artifacts);
    expectOk(up);
    const changed = (JSON.parse(up.stdout) as RunJson).results.filter((result) => result.status === 'changed').map((result) => `${result.step}: ${result.task}`);
    expect(changed).toContain("etcd: Install this member's server certificate");
    expect(changed).toContain('etcd: Restart etcd');
    expect(await unitStartsOf('etcd')).not.toEqual(before);
    expect((await cli('status')).stdout).not.toContain('not yet on the nodes');
  });

  it('refuses to restore over the running cluster', async () => {
    const refused = await cli('restore', join(dir, 'saved.tar.gz'), '--yes');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/etcd of cluster .* is running \(controller-0 answers healthy\): restoring would replace its data/);
    expect(await kubectl('get', 'configmap', 'kept', '-o', 'jsonpath={.data.answer}')).toBe('42');
  });

  it('brings the objects back onto new machines after destroy: a new etcd cluster, Secrets still decrypt', async () => {
    const before = await clusterId();
    expectOk(await cli('destroy', '--yes'));
    const restored = await cli('restore', join(dir, 'saved.tar.gz'), '--yes', '--artifacts-dir', artifacts, '--transcript', join(dir, 'restore.sh'));
    expectOk(restored);
    // One script for the whole restore: the PKI back, the steps before etcd, each member's data
    // restored from the snapshot, then the remaining steps.
    const script = await readFile(join(dir, 'restore.sh'), 'utf8');
    const steps = /\nsteps=\(([^)]*)\)/.exec(script)?.[1]?.split(' ') ?? [];
    expect(steps.slice(0, 2)).toEqual(['restore-pki', 'infra']);
    expect(steps.indexOf('etcd-restore')).toBeGreaterThan(steps.indexOf('binaries'));
    expect(steps.indexOf('etcd-restore')).toBeLessThan(steps.indexOf('etcd'));
    expect(script).toMatch(/etcdctl snapshot restore \/var\/lib\/hardway-backup\/restore\.db --name=controller-0 .*--initial-cluster-token=\S+-etcd-restored-/);
    expect((await execa('bash', ['-n', join(dir, 'restore.sh')])).exitCode).toBe(0);
    expect(restored.stdout).toMatch(/restored etcd on controller-0 from the snapshot \(revision \d+\)/);
    expect(await kubectl('get', 'configmap', 'kept', '-o', 'jsonpath={.data.answer}')).toBe('42');
    expect(Buffer.from(await kubectl('get', 'secret', 'kept', '-o', 'jsonpath={.data.password}'), 'base64').toString()).toBe('hunter2');
    expect(await clusterId()).not.toBe(before);
    // Converged: a plain `up` after the restore changes nothing.
    await expectConvergedUp(cli, artifacts, [['controller-0', 'etcd kube-apiserver']]);
  });
});
