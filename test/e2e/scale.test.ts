// Scaling through the spec, as an operator does it (issue 16). etcd: 3 -> 5 -> 3 members with
// `hardway up` after each edit of nodes.etcd.count, 10,000 keys kept and every member healthy at
// each step; the members that stay are never restarted; the members dropped leave the cluster
// before their machines go. Controllers: 2 -> 3 -> 2 behind haproxy with /healthz through the load
// balancer polled every 100 ms throughout and no failed poll; the API server certificate's SANs
// follow; a dropped controller leaves the load balancer before its machine goes. A re-run changes
// nothing. Real etcd and control plane. Root and Linux.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineName } from '../../src/providers/lab/names.ts';
import { findNspawnPids } from '../../src/providers/lab/processes.ts';
import { hardway } from '../helpers/cli.ts';
import { artifactsDir, destroyAndCheck, eventually, expectConvergedUp, expectOk, freeSubnet, labSpec, requireRoot, unitStarts } from './lab-helpers.ts';

const KEYS = 10_000;

describe('lab: etcd 3 -> 5 -> 3 and controllers 2 -> 3 -> 2 through the spec', () => {
  const name = `e2s${randomBytes(2).toString('hex')}`;
  let subnet = '';
  let dir = '';
  let artifacts = '';
  const cli = (...args: string[]) => hardway(['-c', join(dir, 'cluster.yaml'), ...args], { timeoutMs: 900_000 });
  const endpoints = (count: number) => Array.from({ length: count }, (_, index) => `https://${subnet}.${20 + index}:2379`).join(',');
  const etcdctl = async (count: number, args: string[], input?: string) =>
    (
      await execa('etcdctl', [`--endpoints=${endpoints(count)}`, `--cacert=${join(dir, 'pki/etcd-ca.pem')}`, `--cert=${join(dir, 'pki/etcd-healthcheck-client.pem')}`, `--key=${join(dir, 'pki/etcd-healthcheck-client-key.pem')}`, ...args], {
        env: { ETCDCTL_API: '3' },
        input,
      })
    ).stdout;
  const members = async (count: number) =>
    (await etcdctl(count, ['member', 'list', '-w', 'simple']))
      .split('\n')
      .map((line) => line.split(', ')[2])
      .filter(Boolean)
      .sort();
  const healthy = async (count: number) => ((await execa('sh', ['-c', 'etcdctl "$@" endpoint health 2>&1', 'etcdctl', `--endpoints=${endpoints(count)}`, `--cacert=${join(dir, 'pki/etcd-ca.pem')}`, `--cert=${join(dir, 'pki/etcd-healthcheck-client.pem')}`, `--key=${join(dir, 'pki/etcd-healthcheck-client-key.pem')}`], { env: { ETCDCTL_API: '3' }, reject: false })).stdout.match(/is healthy/g) ?? []).length;
  // The host's etcdctl (Debian's 3.4) has no --count-only: the JSON answer's count is the range's size.
  const keyCount = async (count: number) => (JSON.parse(await etcdctl(count, ['get', '/scale/', '--prefix', '--limit=1', '-w', 'json'])) as { count: number }).count;
  const setCount = async (count: number, pool = 'etcd') => {
    const spec = await readFile(join(dir, 'cluster.yaml'), 'utf8');
    const edited = spec.replace(new RegExp(`(  ${pool}:\\n    count: )\\d+`), `$1${count}`);
    expect(edited).not.toBe(spec);
    await writeFile(join(dir, 'cluster.yaml'), edited);
  };
  const kubectl = async (...args: string[]) => (await execa('kubectl', ['--kubeconfig', join(dir, 'kubeconfigs/admin.kubeconfig'), ...args])).stdout.trim();
  /** The IP SANs of the API server certificate on the workstation. */
  const apiserverSANs = async () => (await execa('openssl', ['x509', '-noout', '-ext', 'subjectAltName', '-in', join(dir, 'pki/kube-apiserver.pem')])).stdout;
  const haproxyServers = async () => {
    const config = await cli('ssh', 'lb-0', '--', 'cat /etc/haproxy/haproxy.cfg');
    expectOk(config);
    return [...config.stdout.matchAll(/^\s*server (\S+) /gm)].map((match) => match[1]);
  };
  /** `hardway up` while a client polls /healthz through the load balancer every 100 ms. */
  const upWhilePolling = async () => {
    let polling = true;
    const polls = { ok: 0, failed: [] as string[] };
    const poller = (async () => {
      while (polling) {
        const started = Date.now();
        try {
          await execa('curl', ['-fsS', '-m', '5', '--cacert', join(dir, 'pki/ca.pem'), '--cert', join(dir, 'pki/admin.pem'), '--key', join(dir, 'pki/admin-key.pem'), `https://${subnet}.30:6443/healthz`]);
          polls.ok++;
        } catch (error) {
          polls.failed.push(`${new Date().toISOString()} ${(error as Error).message.slice(0, 300)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (Date.now() - started))));
      }
    })();
    const up = await cli('up', '--artifacts-dir', artifacts).finally(() => (polling = false));
    await poller;
    console.info(`/healthz through the load balancer every 100 ms during up: ${polls.ok} ok, ${polls.failed.length} failed`);
    return { up, polls };
  };
  const etcdStarts = (nodes: string[]) => unitStarts(cli, nodes.map((node) => [node, 'etcd'] as const));

  beforeAll(async () => {
    requireRoot();
    subnet = await freeSubnet('10.248');
    artifacts = await artifactsDir();
    dir = await mkdtemp(join(tmpdir(), 'hardway-scale-e2e-'));
    // The HA example: 3 etcd members, 2 controllers behind haproxy.
    const spec = await labSpec('cluster.yaml', name, subnet);
    expect(spec).toMatch(/  controllers:\n    count: 2/);
    await writeFile(join(dir, 'cluster.yaml'), spec);
  });

  afterAll(async () => {
    if (dir) await destroyAndCheck(cli, name, dir);
  });

  it('comes up with 3 members and takes 10,000 keys', async () => {
    expectOk(await cli('up', '--artifacts-dir', artifacts));
    // 125 transactions of 80 puts each (etcd allows 128 operations per transaction).
    for (let batch = 0; batch < KEYS / 80; batch++) {
      const puts = Array.from({ length: 80 }, (_, index) => `put /scale/${String(batch * 80 + index).padStart(5, '0')} v${batch}`).join('\n');
      await etcdctl(3, ['txn'], `\n${puts}\n\n\n`);
    }
    expect(await keyCount(3)).toBe(KEYS);
    expect(await members(3)).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
  });

  it('grows to 5 members one at a time; the 3 that stay are not restarted; every key is kept', async () => {
    const before = await etcdStarts(['etcd-0', 'etcd-1', 'etcd-2']);
    await setCount(5);
    // plan and a dry run say what will change, and change nothing.
    const plan = await cli('plan');
    expectOk(plan);
    expect(plan.stdout).toContain('add etcd member etcd-3 (');
    expect(plan.stdout).toContain(', 2 of 2, one at a time');
    const dry = await cli('provision', '--dry-run', '--artifacts-dir', artifacts);
    expect(dry.stdout).toContain('would add etcd member etcd-4');
    expect(await members(3)).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    const up = await cli('up', '--artifacts-dir', artifacts);
    expectOk(up);
    expect(up.stdout).toMatch(/etcd-3 joined etcd as member [0-9a-f]+ \(4 members\)/);
    expect(up.stdout).toMatch(/etcd-4 joined etcd as member [0-9a-f]+ \(5 members\)/);
    expect(await members(5)).toEqual(['etcd-0', 'etcd-1', 'etcd-2', 'etcd-3', 'etcd-4']);
    expect(await healthy(5)).toBe(5);
    expect(await keyCount(5)).toBe(KEYS);
    expect(await etcdStarts(['etcd-0', 'etcd-1', 'etcd-2'])).toEqual(before);
    await expectConvergedUp(cli, artifacts, ['etcd-0', 'etcd-3', 'etcd-4'].map((node) => [node, 'etcd'] as const));
  });

  it('shrinks to 3: the dropped members leave the cluster, then their machines go; every key is kept', async () => {
    const before = await etcdStarts(['etcd-0', 'etcd-1', 'etcd-2']);
    await setCount(3);
    expect((await cli('plan')).stdout).toContain('remove etcd member etcd-4 after the run');
    const up = await cli('up', '--artifacts-dir', artifacts);
    expectOk(up);
    expect(up.stdout).toMatch(/removed etcd member [0-9a-f]+ \(etcd-3\) via etcd-\d/);
    expect(up.stdout).toMatch(/removed etcd member [0-9a-f]+ \(etcd-4\) via etcd-\d/);
    expect(up.stdout).toMatch(/removed lab node etcd-4/);
    expect(await members(3)).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    expect(await healthy(3)).toBe(3);
    expect(await keyCount(3)).toBe(KEYS);
    expect(await etcdStarts(['etcd-0', 'etcd-1', 'etcd-2'])).toEqual(before);
    for (const gone of ['etcd-3', 'etcd-4']) expect(await findNspawnPids(machineName(name, gone))).toEqual([]);
    await expectConvergedUp(cli, artifacts, ['etcd-0', 'etcd-1', 'etcd-2'].map((node) => [node, 'etcd'] as const));
  });

  it('grows to 3 controllers: the new one joins the load balancer once ready, the SANs follow, no poll fails', async () => {
    expect(await haproxyServers()).toEqual(['controller-0', 'controller-1']);
    expect(await apiserverSANs()).not.toContain(`IP Address:${subnet}.12`);
    await setCount(3, 'controllers');
    const { up, polls } = await upWhilePolling();
    expectOk(up);
    expect(polls.failed).toEqual([]);
    expect(polls.ok).toBeGreaterThan(100);
    expect(await haproxyServers()).toEqual(['controller-0', 'controller-1', 'controller-2']);
    expect(await apiserverSANs()).toContain(`IP Address:${subnet}.12`);
    // It serves, with the certificate that names it.
    const direct = await execa('curl', ['-fsS', '--cacert', join(dir, 'pki/ca.pem'), `https://${subnet}.12:6443/readyz`]);
    expect(direct.stdout).toBe('ok');
    await eventually('the kubernetes Service to list 3 API servers', 60_000, async () =>
      (await kubectl('get', 'endpoints', 'kubernetes', '-o', 'jsonpath={.subsets[*].addresses[*].ip}')).split(' ').length === 3 ? true : undefined,
    );
    await expectConvergedUp(cli, artifacts, ['controller-0', 'controller-1', 'controller-2'].map((node) => [node, 'kube-apiserver kube-controller-manager kube-scheduler'] as const));
  });

  it('shrinks to 2 controllers: the dropped one leaves the load balancer, then its machine goes; no poll fails', async () => {
    // The controller about to go leads both the controller-managers and the schedulers: the
    // others stop until it holds the leases, then start again.
    const holder = (lease: string) => kubectl('-n', 'kube-system', 'get', 'lease', lease, '-o', 'jsonpath={.spec.holderIdentity}');
    for (const node of ['controller-0', 'controller-1']) expectOk(await cli('ssh', node, '--', 'systemctl stop kube-controller-manager kube-scheduler'));
    await eventually('controller-2 to lead both', 90_000, async () => ((await holder('kube-controller-manager')).startsWith('controller-2_') && (await holder('kube-scheduler')).startsWith('controller-2_') ? true : undefined));
    for (const node of ['controller-0', 'controller-1']) expectOk(await cli('ssh', node, '--', 'systemctl start kube-controller-manager kube-scheduler'));
    await setCount(2, 'controllers');
    const plan = await cli('plan');
    expectOk(plan);
    expect(plan.stdout).toContain("stop controller controller-2's control plane before the run");
    const { up, polls } = await upWhilePolling();
    expectOk(up);
    expect(polls.failed).toEqual([]);
    expect(polls.ok).toBeGreaterThan(100);
    expect(up.stdout).toContain('stopped kube-apiserver, kube-controller-manager, kube-scheduler on controller-2 (the spec dropped it)');
    expect(up.stdout).toMatch(/removed lab node controller-2/);
    // The controller-managers and schedulers that stay lead (verify checks it too).
    for (const lease of ['kube-controller-manager', 'kube-scheduler']) {
      expect(await kubectl('-n', 'kube-system', 'get', 'lease', lease, '-o', 'jsonpath={.spec.holderIdentity}')).toMatch(/^controller-[01]_/);
    }
    expect(await haproxyServers()).toEqual(['controller-0', 'controller-1']);
    expect(await apiserverSANs()).not.toContain(`IP Address:${subnet}.12`);
    expect(await findNspawnPids(machineName(name, 'controller-2'))).toEqual([]);
    await eventually('the kubernetes Service to list 2 API servers', 60_000, async () =>
      (await kubectl('get', 'endpoints', 'kubernetes', '-o', 'jsonpath={.subsets[*].addresses[*].ip}')).split(' ').sort().join(' ') === `${subnet}.10 ${subnet}.11` ? true : undefined,
    );
    // Nothing is owed to the machine that went: status and a re-run see two controllers.
    await expectConvergedUp(cli, artifacts, ['controller-0', 'controller-1'].map((node) => [node, 'kube-apiserver kube-controller-manager kube-scheduler'] as const));
  });
});
