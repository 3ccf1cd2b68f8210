// The lab end to end, as a user runs it: `hardway up` with offline artifacts (real Kubernetes
// v1.20.2 built from Debian's source, etcd from Debian), then checks from the host with kubectl,
// etcdctl and curl: namespaces, a Deployment turned into a ReplicaSet and a Pod, leader leases and
// their failover, Secrets encrypted in etcd, RBAC of the components, directly and through the load
// balancer; a converged re-run, partial runs, a stopped apiserver, a forced SAN mismatch, a rolling
// etcd upgrade 3.4 -> 3.5 (interrupted with Ctrl-C, finished by a second up), and destroy leaving
// nothing behind. Root and Linux only.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/engine/state.ts';
import { deriveInventory } from '../../src/inventory/derive.ts';
import { createLabProvider } from '../../src/providers/lab/index.ts';
import { loadSpecFile } from '../../src/spec/load.ts';
import { hardway, hardwayBin, type CliResult } from '../helpers/cli.ts';
import { artifactsDir, eventually, expectConvergedUp, expectOk, freeSubnet, labLeftovers, labSpec, requireRoot, unitStarts, type RunJson } from './lab-helpers.ts';

const exec = promisify(execFile);

type Results = RunJson;

function json<T>(result: CliResult): T {
  return JSON.parse(result.stdout) as T;
}


describe('lab: 3 etcd + 2 controllers + haproxy, real Kubernetes', () => {
  const name = `e2e${randomBytes(2).toString('hex')}`;
  let subnet = '';
  let dir = '';
  // The cluster starts on bookworm's etcd 3.4.23; the last test upgrades it to trixie's 3.5.16.
  let artifacts = '';
  const cli = (...args: string[]) => hardway(['-c', join(dir, 'cluster.yaml'), ...args], { timeoutMs: 600_000 });
  const kubeconfig = () => join(dir, 'admin.kubeconfig');
  /** kubectl through the load balancer (the kubeconfig's server), or straight at one API server. */
  const kubectl = async (args: string[], server?: string) => {
    const { stdout } = await exec('kubectl', ['--kubeconfig', kubeconfig(), ...(server ? ['--server', server] : []), ...args], { maxBuffer: 8 * 1024 * 1024 });
    return stdout;
  };
  const direct = () => `https://${subnet}.10:6443`;
  const etcdctl = (...args: string[]) =>
    exec('etcdctl', [
      `--endpoints=${[20, 21, 22].map((host) => `https://${subnet}.${host}:2379`).join(',')}`,
      `--cacert=${join(dir, 'pki/etcd-ca.pem')}`,
      `--cert=${join(dir, 'pki/etcd-healthcheck-client.pem')}`,
      `--key=${join(dir, 'pki/etcd-healthcheck-client-key.pem')}`,
      ...args,
    ], { encoding: 'buffer', maxBuffer: 8 * 1024 * 1024 });
  const leaseHolder = async (lease: string) => {
    const holder = await kubectl(['-n', 'kube-system', 'get', 'lease', lease, '-o', 'jsonpath={.spec.holderIdentity}']);
    return holder.slice(0, holder.lastIndexOf('_'));
  };

  beforeAll(async () => {
    requireRoot();
    subnet = await freeSubnet('10.245');
    artifacts = await artifactsDir('bookworm');
    dir = await mkdtemp(join(tmpdir(), 'hardway-lab-e2e-'));
    const spec = (await labSpec('cluster.yaml', name, subnet)).replace('etcd: "3.5.16"', 'etcd: "3.4.23"');
    expect(spec).toContain('etcd: "3.4.23"');
    await writeFile(join(dir, 'cluster.yaml'), spec);
  });

  afterAll(async () => {
    if (dir) {
      const destroyed = await cli('destroy', '--yes');
      expect(destroyed.code, destroyed.stderr).toBe(0);
      expect(await labLeftovers(name)).toEqual([]);
      // Without --purge the PKI stays for a cluster made again.
      expect((await readFile(join(dir, 'pki/ca.pem'), 'utf8')).startsWith('-----BEGIN CERTIFICATE-----')).toBe(true);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('comes up with `hardway up`, and the host sees 3 healthy etcd members and the API through the LB', async () => {
    const up = await cli('up', '--artifacts-dir', artifacts);
    expectOk(up);
    expect(up.stdout).toMatch(/11 steps \(infra, pki, kubeconfigs, encryption, hosts, binaries, etcd, control-plane, loadbalancer, kubelet-access, verify\), .* 0 failed/);
    // The inventory is in the state for people and tools.
    const state = JSON.parse(await readFile(join(dir, '.hardway/state.json'), 'utf8')) as { inventory: { nodes: { name: string; internalIP: string }[] } };
    expect(state.inventory.nodes.map((node) => `${node.name}=${node.internalIP}`)).toContain(`etcd-2=${subnet}.22`);
    const endpoints = [20, 21, 22].map((host) => `https://${subnet}.${host}:2379`).join(',');
    const { stdout, stderr } = await exec('etcdctl', [
      `--endpoints=${endpoints}`,
      `--cacert=${join(dir, 'pki/etcd-ca.pem')}`,
      `--cert=${join(dir, 'pki/etcd-healthcheck-client.pem')}`,
      `--key=${join(dir, 'pki/etcd-healthcheck-client-key.pem')}`,
      'endpoint',
      'health',
    ]);
    expect(`${stdout}${stderr}`.match(/is healthy/g)).toHaveLength(3);
    const curl = await exec('curl', ['-sS', '--cacert', join(dir, 'pki/ca.pem'), `https://${subnet}.30:6443/healthz`]);
    expect(curl.stdout).toBe('ok');
    // kubectl with the kubeconfig hardway hands out: the real API, through the LB and directly.
    expectOk(await cli('kubeconfig', '--out', kubeconfig()));
    for (const server of [undefined, direct()]) {
      expect(await kubectl(['get', '--raw', '/readyz'], server)).toBe('ok');
      const namespaces = (await kubectl(['get', 'ns', '-o', 'jsonpath={.items[*].metadata.name}'], server)).split(' ').sort();
      expect(namespaces).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
      expect(JSON.parse(await kubectl(['version', '-o', 'json'], server)).serverVersion.gitVersion).toBe('v1.20.2');
    }
  });

  it('runs a real controller-manager and scheduler: a Deployment becomes a ReplicaSet and a pending Pod', async () => {
    await kubectl(['create', 'deployment', 'web', '--image=registry.invalid/web:1']);
    const pod = await eventually('a Pod of deployment web', 60_000, async () => {
      const rs = await kubectl(['get', 'rs', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}'], direct());
      const pods = await kubectl(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].status.phase}']);
      return rs.startsWith('web-') && pods === 'Pending' ? pods : undefined;
    });
    expect(pod).toBe('Pending');
    // No worker yet: the scheduler looked at it and found no node.
    const reason = await eventually('the scheduler to mark the Pod unschedulable', 60_000, async () => {
      const conditions = await kubectl(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].status.conditions[?(@.type=="PodScheduled")].reason}']);
      return conditions || undefined;
    });
    expect(reason).toBe('Unschedulable');
    await kubectl(['delete', 'deployment', 'web']);
  });

  it('stores Secrets encrypted with aescbc in etcd', async () => {
    const secret = `s${randomBytes(3).toString('hex')}`;
    await kubectl(['create', 'secret', 'generic', secret, '--from-literal=password=hunter2-plaintext'], direct());
    const { stdout } = await etcdctl('get', `/registry/secrets/default/${secret}`, '--print-value-only');
    expect(stdout.subarray(0, 'k8s:enc:aescbc:v1:'.length).toString()).toBe('k8s:enc:aescbc:v1:');
    expect(stdout.includes(Buffer.from('hunter2-plaintext'))).toBe(false);
    expect(await kubectl(['get', 'secret', secret, '-o', 'jsonpath={.data.password}'])).toBe(Buffer.from('hunter2-plaintext').toString('base64'));
  });

  it('gives the controller-manager and the scheduler the RBAC they need and no more', async () => {
    const can = async (user: string, ...args: string[]) => {
      try {
        return (await kubectl(['auth', 'can-i', '--as', user, ...args])).trim();
      } catch (error) {
        return ((error as { stdout?: string }).stdout ?? '').trim();
      }
    };
    expect(await can('system:kube-scheduler', 'create', 'pods', '--subresource=binding')).toBe('yes');
    expect(await can('system:kube-scheduler', 'create', 'leases.coordination.k8s.io', '-n', 'kube-system')).toBe('yes');
    expect(await can('system:kube-scheduler', 'get', 'secrets')).toBe('no');
    expect(await can('system:kube-scheduler', 'delete', 'namespaces')).toBe('no');
    expect(await can('system:kube-controller-manager', 'create', 'leases.coordination.k8s.io', '-n', 'kube-system')).toBe('yes');
    expect(await can('system:kube-controller-manager', 'create', 'serviceaccounts/token', '-n', 'kube-system')).toBe('yes');
    expect(await can('system:kube-controller-manager', 'create', 'pods')).toBe('no');
    expect(await can('system:kube-controller-manager', 'create', 'clusterrolebindings')).toBe('no');
  });

  it('elects one controller-manager and one scheduler, and moves a lease when its leader stops', async () => {
    const controllers = ['controller-0', 'controller-1'];
    for (const lease of ['kube-controller-manager', 'kube-scheduler']) expect(controllers).toContain(await leaseHolder(lease));
    const status = json<{ leaders: { what: string; ok: boolean; detail: string }[] }>(await cli('--json', 'status'));
    expect(status.leaders.map((leader) => leader.ok)).toEqual([true, true]);
    for (const lease of ['kube-controller-manager', 'kube-scheduler']) {
      const leader = await leaseHolder(lease);
      const other = controllers.find((controller) => controller !== leader)!;
      expectOk(await cli('ssh', leader, '--', `systemctl stop ${lease}`));
      try {
        expect(await eventually(`the ${lease} lease to move to ${other}`, 90_000, async () => ((await leaseHolder(lease)) === other ? other : undefined))).toBe(other);
      } finally {
        expectOk(await cli('ssh', leader, '--', `systemctl start ${lease}`));
      }
    }
  });

  it('reports 0 changed on a second `up` and restarts nothing', async () => {
    const report = await expectConvergedUp(cli, artifacts, [
      ['etcd-0', 'etcd'],
      ['etcd-2', 'etcd'],
      ['controller-0', 'kube-apiserver kube-controller-manager kube-scheduler'],
      ['controller-1', 'kube-apiserver kube-controller-manager kube-scheduler'],
      ['lb-0', 'haproxy'],
    ]);
    expect(report.totals.ok).toBeGreaterThan(100);
  });

  it('--step etcd touches only etcd nodes, and --nodes etcd-1 only that node', async () => {
    const etcdOnly = await cli('--json', 'provision', '--step', 'etcd');
    expectOk(etcdOnly);
    expect([...new Set(json<Results>(etcdOnly).results.map((result) => result.node))].sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    const one = await cli('--json', 'provision', '--step', 'etcd', '--nodes', 'etcd-1');
    expectOk(one);
    expect([...new Set(json<Results>(one).results.map((result) => result.node))]).toEqual(['etcd-1']);
  });

  it('keeps /healthz through the LB ok while one apiserver is stopped, and status shows it down', async () => {
    expectOk(await cli('ssh', 'controller-0', '--', 'systemctl stop kube-apiserver'));
    try {
      for (let attempt = 0; attempt < 20; attempt++) {
        const curl = await exec('curl', ['-sS', '--cacert', join(dir, 'pki/ca.pem'), `https://${subnet}.30:6443/healthz`]);
        expect(curl.stdout).toBe('ok');
      }
      const status = await cli('--json', 'status');
      expectOk(status);
      const apiservers = json<{ apiservers: { what: string; ok: boolean }[] }>(status).apiservers;
      expect(apiservers.find((result) => result.what === 'kube-apiserver on controller-0')?.ok).toBe(false);
      expect(apiservers.find((result) => result.what === 'kube-apiserver on controller-1')?.ok).toBe(true);
      const text = await cli('status');
      expect(text.stdout).toMatch(/DOWN {2}kube-apiserver on controller-0/);
    } finally {
      expectOk(await cli('ssh', 'controller-0', '--', 'systemctl start kube-apiserver'));
    }
  });

  it('upgrades etcd 3.4.23 -> 3.5.16 one member at a time, healthy and every write kept throughout; a Ctrl-C mid-way and a second up finish it', async () => {
    const upgraded = await artifactsDir('trixie');
    const specPath = join(dir, 'cluster.yaml');
    await writeFile(specPath, (await readFile(specPath, 'utf8')).replace('etcd: "3.4.23"', 'etcd: "3.5.16"'));
    // The spec now wants 3.5.16: later tests run with these artifacts even if this one fails.
    artifacts = upgraded;
    // Meanwhile a client reads through the load balancer (a quorum read in etcd) every 200 ms.
    let polling = true;
    const polls = { ok: 0, failed: [] as string[] };
    const poller = (async () => {
      for (let count = 0; polling && count < 3000; count++) {
        try {
          await exec('curl', ['-fsS', '-m', '5', '--cacert', join(dir, 'pki/ca.pem'), '--cert', join(dir, 'pki/admin.pem'), '--key', join(dir, 'pki/admin-key.pem'), `https://${subnet}.30:6443/api/v1/namespaces/kube-system`]);
          polls.ok++;
        } catch (error) {
          polls.failed.push((error as Error).message.slice(0, 200));
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    // And a writer puts a key straight into etcd every 100 ms; every acknowledged key must survive.
    const writes = { acknowledged: [] as string[], failed: [] as string[] };
    const writer = (async () => {
      for (let count = 0; polling && count < 6000; count++) {
        const key = `upgrade/${String(count).padStart(5, '0')}`;
        try {
          await etcdctl('put', key, `written during the upgrade ${count}`);
          writes.acknowledged.push(key);
        } catch (error) {
          writes.failed.push(`${key}: ${(error as Error).message.slice(0, 200)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    // One member's version, asked of that member alone (etcdctl appends a repeated --endpoints).
    const versionOf = async (member: number) => {
      const status = await exec('etcdctl', [
        `--endpoints=https://${subnet}.${20 + member}:2379`,
        `--cacert=${join(dir, 'pki/etcd-ca.pem')}`,
        `--cert=${join(dir, 'pki/etcd-healthcheck-client.pem')}`,
        `--key=${join(dir, 'pki/etcd-healthcheck-client-key.pem')}`,
        '--command-timeout=2s',
        'endpoint', 'status', '-w', 'json',
      ]).catch(() => undefined);
      return status ? (JSON.parse(status.stdout) as { Status: { version: string } }[])[0]?.Status.version : undefined;
    };

    // Ctrl-C as soon as the first member runs 3.5.16: the roll-out stops part-way.
    const child = spawn(process.execPath, [hardwayBin, '-c', specPath, 'up', '--artifacts-dir', upgraded], { env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => void (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let running = true;
    void exited.then(() => (running = false));
    const deadline = Date.now() + 300_000;
    while (running && Date.now() < deadline && (await versionOf(0)) !== '3.5.16') await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGINT');
    expect(await exited, output.slice(-3000)).toBe(130);
    expect(await versionOf(0)).toBe('3.5.16');
    expect(await versionOf(2)).toBe('3.4.23');
    const [firstMember] = await unitStarts(cli, [['etcd-0', 'etcd']]);

    // Running it again finishes the roll-out where it stopped: etcd-0 is not restarted again.
    const up = await cli('--json', 'up', '--artifacts-dir', upgraded);
    polling = false;
    await Promise.all([poller, writer]);
    expectOk(up);
    expect(polls.failed).toEqual([]);
    expect(polls.ok).toBeGreaterThan(10);
    expect(writes.acknowledged.length).toBeGreaterThan(50);
    const stored = await etcdctl('get', '--prefix', 'upgrade/', '--keys-only');
    const storedKeys = new Set(stored.stdout.toString().split('\n').filter(Boolean));
    expect(writes.acknowledged.filter((key) => !storedKeys.has(key))).toEqual([]);
    // The leader handed its leadership on before its restart, so no write was refused either.
    expect(writes.failed).toEqual([]);
    const results = json<Results>(up).results;
    const restarted = results.filter((result) => result.step === 'etcd' && result.task === 'Restart etcd').map((result) => `${result.node}:${result.status}`);
    expect(restarted).not.toContain('etcd-0:changed');
    expect(restarted.at(-1)).toBe('etcd-2:changed');
    expect(await unitStarts(cli, [['etcd-0', 'etcd']])).toEqual([firstMember]);
    // A member that led when its turn came handed the leadership on before it restarted.
    const restartedNodes = restarted.map((entry) => entry.split(':')[0]);
    const handOffs = results.filter((result) => result.step === 'etcd' && result.task === 'Hand the leadership to another member if this one leads');
    expect(handOffs.map((result) => result.node)).toEqual(restartedNodes);
    // One at a time: each member's restart waited for its health before the next began.
    const healthWaits = results.filter((result) => result.step === 'etcd' && result.task === 'Wait until this member is healthy again');
    expect(healthWaits.map((result) => result.node)).toEqual(restartedNodes);
    const started: number[] = [];
    for (const member of ['etcd-0', 'etcd-1', 'etcd-2']) {
      const show = await cli('ssh', member, '--', 'systemctl show -p ActiveEnterTimestampMonotonic etcd');
      started.push(Number(show.stdout.trim().split('=')[1]));
    }
    expect([...started].sort((a, b) => a - b)).toEqual(started);
    const { stdout } = await etcdctl('endpoint', 'status', '-w', 'json');
    expect((JSON.parse(stdout.toString()) as { Status: { version: string } }[]).map((member) => member.Status.version)).toEqual(['3.5.16', '3.5.16', '3.5.16']);
    expect(await kubectl(['get', 'ns', 'kube-system', '-o', 'jsonpath={.metadata.name}'])).toBe('kube-system');
    // Converged again: nothing changes, nothing restarts.
    const again = await cli('--json', 'up', '--artifacts-dir', upgraded);
    expectOk(again);
    expect(json<Results>(again).results.filter((result) => result.status === 'changed')).toEqual([]);
  });

  it('keeps a restart owed when a node dies in the step, shows it in status, and carries it out on the next up', async () => {
    // A changed scheduler unit (an edited copy of units/) while controller-1 is dead.
    await cp(new URL('../../units', import.meta.url), join(dir, 'my-units'), { recursive: true });
    const unitPath = join(dir, 'my-units/kube-scheduler.service');
    await writeFile(unitPath, (await readFile(unitPath, 'utf8')).replace('  --v=2\n', '  --v=3\n'));
    expect(await readFile(unitPath, 'utf8')).toContain('--v=3');
    const specPath = join(dir, 'cluster.yaml');
    await writeFile(specPath, `${await readFile(specPath, 'utf8')}\nunitsDir: my-units\n`);
    const { spec } = await loadSpecFile(specPath, 'cluster.yaml');
    const state = await StateStore.open(dir, spec.name);
    const ctx = { spec, clusterDir: dir, state, inventory: deriveInventory(spec, state.data.providerFacts), log: () => undefined, signal: new AbortController().signal };
    expect(await createLabProvider().stopNode(ctx, 'controller-1', { hard: true })).toBe(true);
    const invocation = async () => (await cli('ssh', 'controller-0', '--', 'systemctl show -p InvocationID --value kube-scheduler')).stdout.trim();
    const before = await invocation();

    const failed = await cli('provision', '--step', 'control-plane');
    expect(failed.code).toBe(1);
    // controller-0 got the new unit but its restart did not run: the scheduler still runs the old one.
    expect(await invocation()).toBe(before);
    const owed = json<{ owedHandlers: { step: string; handler: string; nodes: string[] }[] }>(await cli('--json', 'status')).owedHandlers;
    expect(owed).toContainEqual({ step: 'control-plane', handler: 'restart kube-scheduler', nodes: ['controller-0'] });
    expect((await cli('status')).stdout).toContain('control-plane: restart kube-scheduler on controller-0');

    // The node is back (infra boots it on its own disk); the owed restart runs, then nothing is owed.
    expectOk(await cli('up', '--artifacts-dir', artifacts));
    expect(await invocation()).not.toBe(before);
    const execStart = (await cli('ssh', 'controller-0', '--', 'systemctl show -p ExecStart --value kube-scheduler')).stdout;
    expect(execStart).toContain('--v=3');
    expect(json<{ owedHandlers: unknown[] }>(await cli('--json', 'status')).owedHandlers).toEqual([]);
    const again = await cli('--json', 'up', '--artifacts-dir', artifacts);
    expectOk(again);
    expect(json<Results>(again).results.filter((result) => result.status === 'changed')).toEqual([]);
  });

  it('fails verify naming the certificate and the missing name when a SAN is wrong', async () => {
    const csrPath = join(dir, 'pki/kube-apiserver-csr.json');
    const original = await readFile(csrPath, 'utf8');
    const csr = JSON.parse(original) as { hosts: string[] };
    const lbIP = `${subnet}.30`;
    expect(csr.hosts).toContain(lbIP);
    await writeFile(csrPath, JSON.stringify({ ...csr, hosts: csr.hosts.filter((host) => host !== lbIP) }, null, 2));
    try {
      expectOk(await cli('provision', '--step', 'pki', '--step', 'control-plane'));
      const verify = await cli('provision', '--step', 'verify');
      expect(verify.code).toBe(1);
      expect(verify.stdout).toContain(`the certificate pki/kube-apiserver.pem does not include ${lbIP} in its SANs`);
    } finally {
      await writeFile(csrPath, original);
      expectOk(await cli('provision', '--step', 'pki', '--step', 'control-plane', '--step', 'verify'));
    }
  });
});

describe('lab: stacked (3 controllers running etcd) + haproxy', () => {
  const name = `st${randomBytes(2).toString('hex')}`;
  let dir = '';
  const cli = (...args: string[]) => hardway(['-c', join(dir, 'cluster.yaml'), ...args], { timeoutMs: 600_000 });

  beforeAll(async () => {
    requireRoot();
    const subnet = await freeSubnet('10.246');
    dir = await mkdtemp(join(tmpdir(), 'hardway-stacked-e2e-'));
    await writeFile(join(dir, 'cluster.yaml'), await labSpec('stacked.yaml', name, subnet));
  });

  afterAll(async () => {
    if (dir) {
      expectOk(await cli('destroy', '--yes', '--purge'));
      expect(await labLeftovers(name)).toEqual([]);
      const { readdir } = await import('node:fs/promises');
      expect((await readdir(dir)).sort()).toEqual(['cluster.yaml']);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('comes up and verifies, with etcd on every controller', async () => {
    const up = await cli('--json', 'up', '--artifacts-dir', await artifactsDir());
    expectOk(up);
    const results = json<Results>(up).results;
    expect([...new Set(results.filter((result) => result.step === 'etcd').map((result) => result.node))].sort()).toEqual(['controller-0', 'controller-1', 'controller-2']);
    expect(results.filter((result) => result.step === 'verify').every((result) => result.status === 'ok')).toBe(true);
  });
});
