// The backup archive on its own: what goes in comes back byte for byte, with mode 0600 and a
// checksum `sha256sum -c` accepts; a damaged, foreign or padded archive is refused before a restore
// could use it. (Taking and restoring a real snapshot: test/e2e/backup.test.ts.)
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_FORMAT, type BackupManifest, clusterFiles, readBackup, SNAPSHOT_PATH, writeBackup } from '../../src/backup/archive.ts';
import { parseSnapshotStatus, restoreMemberCommands } from '../../src/backup/snapshot.ts';
import type { Node } from '../../src/inventory/node.ts';

let dir: string;
const manifest: Omit<BackupManifest, 'files'> = { format: BACKUP_FORMAT, cluster: 'demo', createdAt: '2026-12-02T16:00:00.000Z', etcd: { member: 'etcd-0', revision: 42, totalKey: 7, hash: 123 }, etcdMembers: ['etcd-0', 'etcd-1', 'etcd-2'] };
const files = () =>
  new Map([
    [SNAPSHOT_PATH, Buffer.from('snapshot bytes \u0000\u0001')],
    ['pki/ca.pem', Buffer.from('-----BEGIN CERTIFICATE-----\n')],
    ['encryption-config.yaml', Buffer.from('kind: EncryptionConfig\n')],
  ]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-backup-test-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('backup archive', () => {
  it('round-trips every file, mode 0600, with a checksum sha256sum -c accepts', async () => {
    const out = join(dir, 'demo.tar.gz');
    const written = await writeBackup(out, { manifest, files: files() });
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(execFileSync('sha256sum', ['-c', `${out}.sha256`], { cwd: dir, encoding: 'utf8' })).toBe('demo.tar.gz: OK\n');
    expect(written.sha256).toMatch(/^[0-9a-f]{64}$/);
    const opened = await readBackup(out);
    expect(opened.manifest).toMatchObject({ ...manifest, files: expect.any(Array) });
    expect([...opened.files.keys()].sort()).toEqual([...files().keys()].sort());
    for (const [path, data] of files()) expect(opened.files.get(path)!.equals(data), path).toBe(true);
  });

  it('refuses an archive that does not match its .sha256', async () => {
    const out = join(dir, 'damaged.tar.gz');
    await writeBackup(out, { manifest, files: files() });
    const bytes = await readFile(out);
    bytes[bytes.length - 10]! ^= 0xff;
    await writeFile(out, bytes);
    await expect(readBackup(out)).rejects.toThrow(/does not match its checksum in .*damaged\.tar\.gz\.sha256/);
  });

  it('refuses a file that does not match the manifest, and files the manifest does not list', async () => {
    const staged = join(dir, 'forged');
    await mkdir(join(staged, 'etcd'), { recursive: true });
    await writeFile(join(staged, 'MANIFEST.json'), JSON.stringify({ ...manifest, files: [{ path: SNAPSHOT_PATH, sha256: '0'.repeat(64), bytes: 3 }] }));
    await writeFile(join(staged, SNAPSHOT_PATH), 'abc');
    await create({ gzip: true, file: join(dir, 'forged.tar.gz'), cwd: staged }, ['MANIFEST.json', SNAPSHOT_PATH]);
    await expect(readBackup(join(dir, 'forged.tar.gz'))).rejects.toThrow(/etcd\/snapshot\.db in .* does not match the sha256 its manifest gives/);

    await writeFile(join(staged, 'MANIFEST.json'), JSON.stringify({ ...manifest, files: [] }));
    await writeFile(join(staged, 'extra'), 'x');
    await create({ gzip: true, file: join(dir, 'padded.tar.gz'), cwd: staged }, ['MANIFEST.json', SNAPSHOT_PATH, 'extra']);
    await expect(readBackup(join(dir, 'padded.tar.gz'))).rejects.toThrow(/holds files its manifest does not list: etcd\/snapshot\.db, extra/);
  });

  it('refuses what is not a backup, naming the file', async () => {
    await writeFile(join(dir, 'plain.txt'), 'hello');
    await expect(readBackup(join(dir, 'plain.txt'))).rejects.toThrow(/plain\.txt is not a hardway backup/);
    await expect(readBackup(join(dir, 'missing.tar.gz'))).rejects.toThrow(/cannot read the backup .*missing\.tar\.gz: no such file/);
  });

  it('keeps the cluster directory files a restore needs: pki/, the encryption config, the spec, the state', async () => {
    const clusterDir = join(dir, 'cluster');
    await mkdir(join(clusterDir, 'pki'), { recursive: true });
    await mkdir(join(clusterDir, '.hardway'), { recursive: true });
    await writeFile(join(clusterDir, 'pki', 'ca-key.pem'), 'key');
    await writeFile(join(clusterDir, 'encryption-config.yaml'), 'enc');
    await writeFile(join(clusterDir, 'cluster.yaml'), 'name: demo');
    await writeFile(join(clusterDir, '.hardway', 'state.json'), '{}');
    const kept = await clusterFiles(clusterDir, join(clusterDir, 'cluster.yaml'));
    expect([...kept.keys()].sort()).toEqual(['cluster.yaml', 'encryption-config.yaml', 'pki/ca-key.pem', 'state.json']);
  });
});

describe('etcd snapshot commands', () => {
  it('reads etcdctl snapshot status -w json', () => {
    expect(parseSnapshotStatus('{"hash":3838794562,"revision":1052,"totalKey":1043,"totalSize":2187264}\n')).toEqual({ hash: 3838794562, revision: 1052, totalKey: 1043 });
    expect(() => parseSnapshotStatus('Error: snapshot file corrupted')).toThrow(/printed no hash, revision and totalKey/);
  });

  it('restores each member as one new cluster: its name and peer URL, every member, a new token', () => {
    const member = (name: string, ip: string): Node => ({ name, roles: ['etcd'], internalIP: ip, sshAddress: ip, sshPort: 22, user: 'root' });
    const members = [member('etcd-0', '10.240.0.20'), member('etcd-1', '10.240.0.21')];
    const commands = restoreMemberCommands(members[1]!, members, 'demo-etcd-restored-ab12', '/var/lib/hardway-backup/restore.db');
    expect(commands[2]).toBe(
      'env ETCDCTL_API=3 /usr/local/bin/etcdctl snapshot restore /var/lib/hardway-backup/restore.db --name=etcd-1 --initial-cluster=etcd-0=https://10.240.0.20:2380,etcd-1=https://10.240.0.21:2380 --initial-cluster-token=demo-etcd-restored-ab12 --initial-advertise-peer-urls=https://10.240.0.21:2380 --data-dir=/var/lib/etcd.restored',
    );
    expect(commands[3]).toBe('rm -rf /var/lib/etcd && mv /var/lib/etcd.restored /var/lib/etcd && chmod 0700 /var/lib/etcd');
  });
});
