// The rendered units run together on loopback: three real etcd members (Debian's etcd) with the
// rendered flags and certificates issued (by openssl) for the pki catalogue's names, two
// apiserver stand-ins, controller-manager and scheduler stand-ins, and haproxy with the rendered
// config. Each "node" is a directory and a 127.77.0.x address; only what cannot be shared on one
// machine is changed (file roots, loopback-only listeners, binds). Stopping one apiserver keeps
// /healthz through haproxy ok.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Node } from '../../src/inventory/node.ts';
import { catalog } from '../../src/pki/catalog.ts';
import { testRunContext } from '../helpers/context.ts';
import {
  encryptionConfig, etcdBinary, freePort, httpsGet, issue, kubeconfig, makeCA, serviceAccountKeys, start, startStandin, waitFor,
  type KeyPair, type Started,
} from '../standins/fixtures.ts';
import { execStart, renderUnit } from './render.ts';

const exec = promisify(execFile);

const run = testRunContext({
  spec: { name: 'chain', provider: 'lab', network: { nodeSubnet: '127.77.0.0/24' }, nodes: { controllers: { count: 2 }, etcd: { count: 3 } } },
});
const nodes = run.inventory.nodes;
const processes = new Map<string, Started>();
let dir: string;
const pki = new Map<string, KeyPair>();

function root(node: Node): string {
  return join(dir, 'nodes', node.name);
}

async function install(node: Node, source: string, remote: string): Promise<void> {
  const target = join(root(node), remote);
  await mkdir(dirname(target), { recursive: true });
  await copyFile(source, target);
}

function cert(name: string): KeyPair {
  const pair = pki.get(name);
  if (!pair) throw new Error(`the catalogue has no ${name}`);
  return pair;
}

/** What isolation per node would give: file roots, and loopback listeners that would collide. */
async function localize(node: Node, argv: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const arg of argv.slice(1)) {
    const [flag = '', ...rest] = arg.split('=');
    let value = rest.join('=');
    if (/^\/(etc|var)\//.test(value)) value = join(root(node), value);
    if (flag === '--listen-client-urls') value = value.replace('https://127.0.0.1:2379', `https://127.0.0.1:${await freePort()}`);
    if (flag === '--listen-metrics-urls') value = `http://127.0.0.1:${await freePort()}`;
    if (flag === '--bind-address') value = node.internalIP;
    out.push(`${flag}=${value}`);
  }
  return out;
}

function track(name: string, process: Started): Started {
  processes.set(name, process);
  return process;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'control-plane-chain-'));
  const pkiDir = join(dir, 'pki');
  await mkdir(pkiDir);
  const entries = catalog(run.spec, run.inventory);
  for (const entry of entries.filter((item) => item.kind === 'ca')) pki.set(entry.name, await makeCA(pkiDir, entry.name, entry.cn));
  await Promise.all(entries.filter((item) => item.kind === 'leaf').map(async (entry) => {
    const usages = entry.profile === 'peer' ? (['server', 'client'] as const) : entry.profile === 'server' ? (['server'] as const) : (['client'] as const);
    pki.set(entry.name, await issue(pkiDir, cert(entry.signer!), entry.name, { cn: entry.cn, o: entry.organization ?? run.spec.pki.names.O, hosts: entry.hosts, usages: [...usages] }));
  }));
  const serviceAccount = await serviceAccountKeys(pkiDir);
  const encryption = await encryptionConfig(join(dir, 'encryption-config.yaml'));

  // etcd members: certificates as units/README.md lists them, then all members at once.
  for (const member of nodes.etcd()) {
    await install(member, cert('etcd-ca').cert, '/etc/etcd/ca.pem');
    await install(member, cert(`etcd-server-${member.name}`).cert, '/etc/etcd/server.pem');
    await install(member, cert(`etcd-server-${member.name}`).key, '/etc/etcd/server-key.pem');
    await install(member, cert(`etcd-peer-${member.name}`).cert, '/etc/etcd/peer.pem');
    await install(member, cert(`etcd-peer-${member.name}`).key, '/etc/etcd/peer-key.pem');
    const argv = execStart(renderUnit(run, 'etcd.service', member));
    track(member.name, start(etcdBinary, await localize(member, argv)));
  }
  const check = cert('etcd-healthcheck-client');
  for (const member of nodes.etcd()) {
    await waitFor(`etcd ${member.name}`, 30_000, async () => {
      const process = processes.get(member.name)!;
      if (process.child.exitCode !== null) throw new Error(`etcd ${member.name} exited: ${process.stderr().slice(-3000)}`);
      // Verified against the etcd CA and the member's IP: the SANs of the catalogue are right.
      const result = await httpsGet(`https://${member.internalIP}:2379/health`, { ca: cert('etcd-ca').cert, cert: check.cert, key: check.key });
      return result.status === 200;
    });
  }

  for (const controller of nodes.controllers()) {
    const files: [string, string][] = [
      [cert('ca').cert, '/var/lib/kubernetes/ca.pem'],
      [cert('ca').key, '/var/lib/kubernetes/ca-key.pem'],
      [cert('etcd-ca').cert, '/var/lib/kubernetes/etcd-ca.pem'],
      [cert('apiserver-etcd-client').cert, '/var/lib/kubernetes/apiserver-etcd-client.pem'],
      [cert('apiserver-etcd-client').key, '/var/lib/kubernetes/apiserver-etcd-client-key.pem'],
      [cert('kube-apiserver').cert, '/var/lib/kubernetes/kube-apiserver.pem'],
      [cert('kube-apiserver').key, '/var/lib/kubernetes/kube-apiserver-key.pem'],
      [cert('apiserver-kubelet-client').cert, '/var/lib/kubernetes/apiserver-kubelet-client.pem'],
      [cert('apiserver-kubelet-client').key, '/var/lib/kubernetes/apiserver-kubelet-client-key.pem'],
      [serviceAccount.pub, '/var/lib/kubernetes/service-account.pem'],
      [serviceAccount.key, '/var/lib/kubernetes/service-account-key.pem'],
      [encryption, '/var/lib/kubernetes/encryption-config.yaml'],
    ];
    for (const [source, remote] of files) await install(controller, source, remote);
    // The components' kubeconfigs point at this controller's own apiserver (127.0.0.1 on a real node).
    const server = `https://${controller.internalIP}:6443`;
    await kubeconfig(join(root(controller), 'var/lib/kubernetes/kube-controller-manager.kubeconfig'), { server, ca: cert('ca').cert, client: cert('kube-controller-manager'), user: 'system:kube-controller-manager' });
    await kubeconfig(join(root(controller), 'var/lib/kubernetes/kube-scheduler.kubeconfig'), { server, ca: cert('ca').cert, client: cert('kube-scheduler'), user: 'system:kube-scheduler' });
    const schedulerConfig = renderUnit(run, 'kube-scheduler.yaml', controller).replace('"/var/lib/kubernetes/', `"${root(controller)}/var/lib/kubernetes/`);
    await mkdir(join(root(controller), 'etc/kubernetes/config'), { recursive: true });
    await writeFile(join(root(controller), 'etc/kubernetes/config/kube-scheduler.yaml'), schedulerConfig);

    const apiserver = execStart(renderUnit(run, 'kube-apiserver.service', controller));
    track(`${controller.name}/kube-apiserver`, startStandin('kube-apiserver', await localize(controller, apiserver), { HARDWAY_STANDIN_WAIT_SECONDS: '20' }));
  }
  for (const controller of nodes.controllers()) {
    await waitFor(`kube-apiserver on ${controller.name}`, 30_000, async () => {
      const process = processes.get(`${controller.name}/kube-apiserver`)!;
      if (process.child.exitCode !== null) throw new Error(`apiserver exited: ${process.stderr()}`);
      return (await httpsGet(`https://${controller.internalIP}:6443/healthz`, { ca: cert('ca').cert })).status === 200;
    });
    for (const program of ['kube-controller-manager', 'kube-scheduler'] as const) {
      const argv = execStart(renderUnit(run, `${program}.service`, controller));
      track(`${controller.name}/${program}`, startStandin(program, await localize(controller, argv), { HARDWAY_STANDIN_WAIT_SECONDS: '20' }));
    }
  }

  const lb = nodes.lb()[0]!;
  const config = renderUnit(run, 'haproxy.cfg', lb)
    .replace(/^\s+(user|group) haproxy$/gm, '')
    .replace(/^\s+log \/dev\/log.*$/m, '')
    .replace(/bind \*:/, `bind ${lb.internalIP}:`);
  const configFile = join(dir, 'haproxy.cfg');
  await writeFile(configFile, config);
  track('haproxy', start('haproxy', ['-f', configFile, '-db']));
}, 120_000);

afterAll(async () => {
  for (const process of processes.values()) await process.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the rendered control plane on loopback', () => {
  it('forms a three-member etcd cluster that etcdctl reports healthy with the health-check client cert', async () => {
    const check = cert('etcd-healthcheck-client');
    const endpoints = nodes.etcd().map((member) => `https://${member.internalIP}:2379`).join(',');
    const { stdout, stderr } = await exec('etcdctl', ['--endpoints', endpoints, '--cacert', cert('etcd-ca').cert, '--cert', check.cert, '--key', check.key, 'endpoint', 'health'], {
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    expect(`${stdout}${stderr}`.match(/is healthy/g)?.length).toBe(3);
    const members = await exec('etcdctl', ['--endpoints', endpoints, '--cacert', cert('etcd-ca').cert, '--cert', check.cert, '--key', check.key, 'member', 'list'], {
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    for (const member of nodes.etcd()) expect(members.stdout).toContain(`${member.name}, https://${member.internalIP}:2380, https://${member.internalIP}:2379`);
  });

  it('runs every component healthy on every controller', async () => {
    for (const controller of nodes.controllers()) {
      const version = JSON.parse((await httpsGet(`https://${controller.internalIP}:6443/version`, { ca: cert('ca').cert })).body) as { gitVersion: string };
      expect(version.gitVersion).toBe(`v${run.spec.versions.kubernetes}`);
      for (const port of [10257, 10259]) {
        await waitFor(`:${port} on ${controller.name}`, 30_000, async () => (await httpsGet(`https://${controller.internalIP}:${port}/healthz`, {})).body === 'ok');
      }
    }
  });

  it('keeps /healthz through haproxy ok when one apiserver stops', async () => {
    const endpoint = `https://${run.inventory.endpoint.host}:${run.inventory.endpoint.port}`;
    await waitFor('the load balancer', 20_000, async () => (await httpsGet(`${endpoint}/healthz`, { ca: cert('ca').cert })).body === 'ok');
    await processes.get('controller-0/kube-apiserver')!.stop();
    // After haproxy's checks mark controller-0 down, every request lands on controller-1.
    await waitFor('ten healthy answers in a row through the load balancer', 30_000, async () => {
      for (let attempt = 0; attempt < 10; attempt++) {
        if ((await httpsGet(`${endpoint}/healthz`, { ca: cert('ca').cert })).status !== 200) return false;
      }
      return true;
    });
    await expect(httpsGet('https://127.77.0.10:6443/healthz', { ca: cert('ca').cert })).rejects.toThrow(/ECONNREFUSED/);
  });
});
