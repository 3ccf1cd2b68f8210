// The kube-controller-manager and kube-scheduler stand-ins against the kube-apiserver stand-in and
// a real etcd: a right kubeconfig gives a healthy component; a wrong CA or a server name the
// apiserver certificate lacks stops it naming the cause; a wrong identity shows as RBAC errors.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, httpsGet, issue, kubeconfig, runToExit, startEtcd, startStandin, waitFor, type EtcdMember, type Started } from './fixtures.ts';
import { apiserverArgs, makeTestPki, SERVICE_CIDR, type TestPki } from './pki.ts';

let dir: string;
let pki: TestPki;
let etcd: EtcdMember;
let apiserverURL: string;
const started: Started[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'standin-components-'));
  pki = await makeTestPki(dir);
  etcd = await startEtcd(join(dir, 'etcd'), pki.etcdServer, pki.etcdCA.cert, { ca: pki.etcdCA.cert, client: pki.etcdClient });
  const port = await freePort();
  const apiserver = startStandin('kube-apiserver', apiserverArgs(pki, etcd.url, port));
  started.push(apiserver);
  apiserverURL = `https://127.0.0.1:${port}`;
  await waitFor('the apiserver stand-in', 15_000, async () => {
    if (apiserver.child.exitCode !== null) throw new Error(apiserver.stderr());
    return (await httpsGet(`${apiserverURL}/healthz`, { ca: pki.ca.cert })).status === 200;
  });
});

afterAll(async () => {
  for (const process of started) await process.stop();
  await etcd?.process.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function controllerManagerArgs(kubeconfigPath: string, port: number, overrides: Record<string, string> = {}): Promise<string[]> {
  const flags: Record<string, string> = {
    'allocate-node-cidrs': 'true',
    'bind-address': '127.0.0.1',
    'cluster-cidr': '10.200.0.0/16',
    'cluster-name': 'test',
    'cluster-signing-cert-file': pki.ca.cert,
    'cluster-signing-key-file': pki.ca.key,
    kubeconfig: kubeconfigPath,
    'leader-elect': 'true',
    'root-ca-file': pki.ca.cert,
    'secure-port': String(port),
    'service-account-private-key-file': pki.serviceAccount.key,
    'service-cluster-ip-range': SERVICE_CIDR,
    'use-service-account-credentials': 'true',
    v: '2',
    ...overrides,
  };
  return Object.entries(flags).filter(([, value]) => value !== '').map(([name, value]) => `--${name}=${value}`);
}

async function schedulerConfig(kubeconfigPath: string, apiVersion = 'kubescheduler.config.k8s.io/v1'): Promise<string> {
  const path = join(dir, `kube-scheduler-${Math.random().toString(16).slice(2)}.yaml`);
  await writeFile(path, `apiVersion: ${apiVersion}\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: "${kubeconfigPath}"\nleaderElection:\n  leaderElect: true\n`);
  return path;
}

async function waitHealthy(process: Started, port: number): Promise<void> {
  await waitFor('the component healthz', 15_000, async () => {
    if (process.child.exitCode !== null) throw new Error(`exited ${process.child.exitCode}: ${process.stderr()}`);
    // A self-signed serving certificate, as the real components make: no CA to verify against.
    return (await httpsGet(`https://127.0.0.1:${port}/healthz`, {})).body === 'ok';
  });
}

describe('kube-controller-manager stand-in', () => {
  it('connects with its kubeconfig, takes its lease and serves /healthz on its secure port', async () => {
    const config = await kubeconfig(join(dir, 'kcm.kubeconfig'), { server: apiserverURL, ca: pki.ca.cert, client: pki.controllerManager, user: 'system:kube-controller-manager' });
    const port = await freePort();
    const cm = startStandin('kube-controller-manager', await controllerManagerArgs(config, port));
    started.push(cm);
    await waitHealthy(cm, port);
    await waitFor('the lease log line', 10_000, async () => cm.stderr().includes('successfully acquired lease kube-system/kube-controller-manager'));
    expect(cm.stderr()).toContain(`apiserver ${apiserverURL} is healthy`);
    expect((await httpsGet(`https://127.0.0.1:${port}/metrics`, {})).status).toBe(403);
  });

  it('exits naming the CA when the kubeconfig trusts another CA', async () => {
    const config = await kubeconfig(join(dir, 'kcm-wrong-ca.kubeconfig'), { server: apiserverURL, ca: pki.etcdCA.cert, client: pki.controllerManager, user: 'system:kube-controller-manager' });
    const result = await runToExit(startStandin('kube-controller-manager', await controllerManagerArgs(config, await freePort())));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('failed to wait for apiserver being healthy');
    expect(result.stderr).toContain(`certificate signed by unknown authority (not signed by the certificate-authority-data of ${config})`);
  });

  it('exits naming the missing name when the apiserver certificate lacks the kubeconfig host', async () => {
    const config = await kubeconfig(join(dir, 'kcm-localhost.kubeconfig'), { server: apiserverURL.replace('127.0.0.1', 'localhost'), ca: pki.ca.cert, client: pki.controllerManager, user: 'system:kube-controller-manager' });
    const result = await runToExit(startStandin('kube-controller-manager', await controllerManagerArgs(config, await freePort())));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('certificate is valid for 10.32.0.1, kubernetes, kubernetes.default');
    expect(result.stderr).toContain('not localhost');
  });

  it('exits on a missing signing key, an overlapping cluster CIDR, or a missing required flag', async () => {
    const config = await kubeconfig(join(dir, 'kcm-flags.kubeconfig'), { server: apiserverURL, ca: pki.ca.cert, client: pki.controllerManager, user: 'system:kube-controller-manager' });
    const missingKey = await runToExit(startStandin('kube-controller-manager', await controllerManagerArgs(config, await freePort(), { 'cluster-signing-key-file': join(dir, 'absent-key.pem') })));
    expect(missingKey.code).toBe(1);
    expect(missingKey.stderr).toContain(`--cluster-signing-key-file: open ${join(dir, 'absent-key.pem')}: no such file or directory`);
    const overlap = await runToExit(startStandin('kube-controller-manager', await controllerManagerArgs(config, await freePort(), { 'cluster-cidr': '10.32.0.0/16' })));
    expect(overlap.code).toBe(1);
    expect(overlap.stderr).toContain('--cluster-cidr 10.32.0.0/16 overlaps --service-cluster-ip-range 10.32.0.0/24');
    const noRoot = await runToExit(startStandin('kube-controller-manager', await controllerManagerArgs(config, await freePort(), { 'root-ca-file': '' })));
    expect(noRoot.code).toBe(1);
    expect(noRoot.stderr).toContain('--root-ca-file must be specified');
  });

  it('exits when the kubeconfig is not a kubeconfig', async () => {
    const broken = join(dir, 'broken.kubeconfig');
    await writeFile(broken, 'apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    server: https://127.0.0.1:1\n');
    const result = await runToExit(startStandin('kube-controller-manager', await controllerManagerArgs(broken, await freePort())));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no current-context');
  });
});

describe('kube-scheduler stand-in', () => {
  it('reads its KubeSchedulerConfiguration, connects and serves /healthz', async () => {
    const config = await kubeconfig(join(dir, 'sched.kubeconfig'), { server: apiserverURL, ca: pki.ca.cert, client: pki.scheduler, user: 'system:kube-scheduler' });
    const port = await freePort();
    const scheduler = startStandin('kube-scheduler', ['--bind-address=127.0.0.1', `--config=${await schedulerConfig(config)}`, '--leader-elect=true', `--secure-port=${port}`, '--v=2']);
    started.push(scheduler);
    await waitHealthy(scheduler, port);
    await waitFor('the lease log line', 10_000, async () => scheduler.stderr().includes('successfully acquired lease kube-system/kube-scheduler'));
  });

  it('logs RBAC denials for a certificate with the wrong user name (O=system:system:kube-scheduler typo class)', async () => {
    const typo = await issue(dir, pki.ca, 'typo', { cn: 'system:system:kube-scheduler', o: 'system:kube-scheduler', usages: ['client'] });
    const config = await kubeconfig(join(dir, 'sched-typo.kubeconfig'), { server: apiserverURL, ca: pki.ca.cert, client: typo, user: 'system:kube-scheduler' });
    const port = await freePort();
    const scheduler = startStandin('kube-scheduler', ['--bind-address=127.0.0.1', `--config=${await schedulerConfig(config)}`, `--secure-port=${port}`]);
    started.push(scheduler);
    await waitFor('the RBAC error', 10_000, async () => scheduler.stderr().includes('User "system:system:kube-scheduler" cannot get resource "leases"'));
    expect(scheduler.stderr()).not.toContain('successfully acquired lease');
    await scheduler.stop();
  });

  it('exits on a configuration of a removed API version', async () => {
    const config = await kubeconfig(join(dir, 'sched-v1beta3.kubeconfig'), { server: apiserverURL, ca: pki.ca.cert, client: pki.scheduler, user: 'system:kube-scheduler' });
    const result = await runToExit(startStandin('kube-scheduler', [`--config=${await schedulerConfig(config, 'kubescheduler.config.k8s.io/v1beta3')}`, `--secure-port=${await freePort()}`]));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no kind "KubeSchedulerConfiguration" is registered for version "kubescheduler.config.k8s.io/v1beta3"');
  });
});
