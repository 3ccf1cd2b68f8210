// The lab end to end, as a user runs it: `hardway up` with offline artifacts, then checks from the
// host with etcdctl and curl, a converged re-run, partial runs, a stopped apiserver, a forced SAN
// mismatch, and destroy leaving nothing behind. Root and Linux only; builds its own cluster.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardway, type CliResult } from '../helpers/cli.ts';
import { artifactsDir, expectOk, freeSubnet, labLeftovers, labSpec, requireRoot } from './lab-helpers.ts';

const exec = promisify(execFile);

interface Results {
  totals: { ok: number; changed: number; failed: number };
  results: { node: string; task: string; status: string; step: string }[];
}

function json<T>(result: CliResult): T {
  return JSON.parse(result.stdout) as T;
}


describe('lab: 3 etcd + 2 controllers + haproxy', () => {
  const name = `e2e${randomBytes(2).toString('hex')}`;
  let subnet = '';
  let dir = '';
  let artifacts = '';
  const cli = (...args: string[]) => hardway(['-c', join(dir, 'cluster.yaml'), ...args], { timeoutMs: 600_000 });

  beforeAll(async () => {
    requireRoot();
    subnet = await freeSubnet('10.245');
    artifacts = await artifactsDir();
    dir = await mkdtemp(join(tmpdir(), 'hardway-lab-e2e-'));
    await writeFile(join(dir, 'cluster.yaml'), await labSpec('cluster.yaml', name, subnet));
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
    expect(up.stdout).toMatch(/10 steps .* 0 failed/);
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
    // kubectl with the kubeconfig hardway hands out, through the load balancer.
    expectOk(await cli('kubeconfig', '--out', join(dir, 'admin.kubeconfig')));
    const kubectl = await exec('kubectl', ['--kubeconfig', join(dir, 'admin.kubeconfig'), 'get', '--raw', '/healthz']);
    expect(kubectl.stdout).toBe('ok');
  });

  it('reports 0 changed on a second `up` and restarts nothing', async () => {
    const startTimes = async () => {
      const lines: string[] = [];
      for (const [node, units] of [
        ['etcd-0', 'etcd'],
        ['etcd-2', 'etcd'],
        ['controller-0', 'kube-apiserver kube-controller-manager kube-scheduler'],
        ['controller-1', 'kube-apiserver kube-controller-manager kube-scheduler'],
        ['lb-0', 'haproxy'],
      ]) {
        const show = await cli('ssh', node!, '--', `systemctl show -p InvocationID -p ActiveEnterTimestampMonotonic ${units}`);
        expectOk(show);
        lines.push(`${node}: ${show.stdout.trim()}`);
      }
      return lines;
    };
    const before = await startTimes();
    const again = await cli('--json', 'up', '--artifacts-dir', artifacts);
    expectOk(again);
    const report = json<Results>(again);
    expect(report.results.filter((result) => result.status === 'changed')).toEqual([]);
    expect(report.totals.failed).toBe(0);
    expect(report.totals.ok).toBeGreaterThan(100);
    expect(await startTimes()).toEqual(before);
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
