// The static provider against machines that already exist: lab nodes made by a separate lab
// cluster stand in for bare metal. `up` builds the control plane on them, a re-run changes
// nothing, and `destroy --wipe` removes what hardway installed and nothing else.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardway } from '../helpers/cli.ts';
import { artifactsDir, expectOk, freeSubnet, labLeftovers, labSpec, requireRoot } from './lab-helpers.ts';

describe('static provider on existing machines', () => {
  const labName = `sm${randomBytes(2).toString('hex')}`;
  let subnet = '';
  let labDir = '';
  let staticDir = '';
  const lab = (...args: string[]) => hardway(['-c', join(labDir, 'cluster.yaml'), ...args], { timeoutMs: 600_000 });
  const cli = (...args: string[]) => hardway(['-c', join(staticDir, 'cluster.yaml'), ...args], { timeoutMs: 600_000 });

  beforeAll(async () => {
    requireRoot();
    subnet = await freeSubnet('10.248');
    labDir = await mkdtemp(join(tmpdir(), 'hardway-static-machines-'));
    staticDir = await mkdtemp(join(tmpdir(), 'hardway-static-e2e-'));
    await writeFile(join(labDir, 'cluster.yaml'), await labSpec('cluster.yaml', labName, subnet));
    // Only the machines: the static cluster does the rest.
    expectOk(await lab('provision', '--step', 'infra'));
    const host = (offset: number) => `      - { address: ${subnet}.${offset} }`;
    await writeFile(
      join(staticDir, 'cluster.yaml'),
      [
        `name: st${randomBytes(2).toString('hex')}`,
        'provider: static',
        // What the offline artifacts hold: real Kubernetes v1.20.2 built from Debian's source.
        'versions: { kubernetes: "1.20.2", etcd: "3.5.16" }',
        'network:',
        `  nodeSubnet: ${subnet}.0/24`,
        'nodes:',
        '  controllers:',
        '    hosts:',
        host(10),
        host(11),
        '  etcd:',
        '    hosts:',
        host(20),
        host(21),
        host(22),
        'loadBalancer:',
        '  type: haproxy',
        `  address: ${subnet}.30`,
        'ssh:',
        `  keyPath: ${join(labDir, 'ssh/id_ed25519')}`,
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    if (labDir) {
      expectOk(await lab('destroy', '--yes', '--purge'));
      expect(await labLeftovers(labName)).toEqual([]);
    }
    await rm(labDir, { recursive: true, force: true });
    await rm(staticDir, { recursive: true, force: true });
  });

  it('builds and verifies the control plane on the hosts, and a re-run changes nothing', async () => {
    const artifacts = await artifactsDir();
    const up = await cli('up', '--artifacts-dir', artifacts);
    expectOk(up);
    expect(up.stdout).toMatch(/11 steps \(infra, pki, kubeconfigs, encryption, hosts, binaries, etcd, control-plane, loadbalancer, kubelet-access, verify\), .* 0 failed/);
    const again = await cli('--json', 'up');
    expectOk(again);
    expect((JSON.parse(again.stdout) as { totals: { changed: number } }).totals.changed).toBe(0);
  });

  it('destroy needs --wipe, and --wipe removes what hardway installed and nothing else', async () => {
    const refused = await cli('destroy', '--yes');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/pass --wipe/);
    expectOk(await cli('destroy', '--yes', '--wipe'));
    for (const node of ['etcd-0', 'controller-1']) {
      const check = await cli(
        'ssh',
        node,
        '--',
        'for p in /etc/systemd/system/etcd.service /etc/systemd/system/kube-apiserver.service /usr/local/bin/etcd /usr/local/bin/kube-apiserver /var/lib/etcd /etc/etcd /var/lib/kubernetes; do [ -e $p ] && echo "left $p"; done; hostname; systemctl is-active ssh',
      );
      expectOk(check);
      expect(check.stdout.trim().split('\n')).toEqual([node, 'active']);
    }
  });
});
