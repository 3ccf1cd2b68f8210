// The etcd certificates with the real etcd (Debian's 3.4): a member serving clients and peers with
// etcd-server/etcd-peer, trusting only the etcd CA, reached by etcdctl with the health-check client
// certificate, and refusing a certificate from the cluster CA.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envFor, ensure, makeTempDir, removeDir, specInput } from './fixture.ts';

const execFileAsync = promisify(execFile);
let dir: string;
let etcd: ChildProcess | undefined;
let clientPort: number;
let output = '';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** etcdctl with a client certificate; resolves with its exit code and output. */
async function etcdctl(cert: string, ...args: string[]): Promise<{ code: number; output: string }> {
  const pki = (file: string) => join(dir, 'pki', file);
  try {
    const result = await execFileAsync('etcdctl', [
      `--endpoints=https://127.0.0.1:${clientPort}`, `--cacert=${pki('etcd-ca.pem')}`, `--cert=${pki(`${cert}.pem`)}`, `--key=${pki(`${cert}-key.pem`)}`,
      '--dial-timeout=3s', '--command-timeout=5s', ...args,
    ], { env: { ...process.env, ETCDCTL_API: '3' } });
    return { code: 0, output: `${result.stdout}${result.stderr}` };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? 1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  dir = await makeTempDir();
  await ensure(envFor(dir, { ...specInput, topology: 'stacked', nodes: { controllers: { count: 1 } } }), { names: ['etcd-ca', 'etcd-*', 'apiserver-etcd-client', 'ca', 'admin'] });
  clientPort = await freePort();
  const peerPort = await freePort();
  const pki = (file: string) => join(dir, 'pki', file);
  etcd = spawn('etcd', [
    '--name=controller-0', `--data-dir=${join(dir, 'etcd-data')}`,
    `--listen-client-urls=https://127.0.0.1:${clientPort}`, `--advertise-client-urls=https://127.0.0.1:${clientPort}`,
    `--listen-peer-urls=https://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=https://127.0.0.1:${peerPort}`,
    `--initial-cluster=controller-0=https://127.0.0.1:${peerPort}`, '--initial-cluster-state=new',
    `--cert-file=${pki('etcd-server-controller-0.pem')}`, `--key-file=${pki('etcd-server-controller-0-key.pem')}`,
    '--client-cert-auth', `--trusted-ca-file=${pki('etcd-ca.pem')}`,
    `--peer-cert-file=${pki('etcd-peer-controller-0.pem')}`, `--peer-key-file=${pki('etcd-peer-controller-0-key.pem')}`,
    '--peer-client-cert-auth', `--peer-trusted-ca-file=${pki('etcd-ca.pem')}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  etcd.stdout?.on('data', (chunk) => (output += chunk));
  etcd.stderr?.on('data', (chunk) => (output += chunk));
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if ((await etcdctl('etcd-healthcheck-client', 'endpoint', 'health')).code === 0) return;
    if (etcd.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`etcd did not become healthy:\n${output.slice(-3000)}`);
});

afterAll(async () => {
  if (etcd?.pid && etcd.exitCode === null) {
    const exited = new Promise((resolve) => etcd!.once('exit', resolve));
    process.kill(etcd.pid, 'SIGTERM');
    await exited;
  }
  await removeDir(dir);
});

describe('etcd certificates with the real etcd', () => {
  it('serves clients with etcd-server and answers the health-check client', async () => {
    const health = await etcdctl('etcd-healthcheck-client', 'endpoint', 'health');
    expect(health.code).toBe(0);
    expect(health.output).toContain('is healthy');
  });

  it('lets kube-apiserver (apiserver-etcd-client) write and read', async () => {
    expect((await etcdctl('apiserver-etcd-client', 'put', '/registry/hardway', 'yes')).code).toBe(0);
    expect((await etcdctl('apiserver-etcd-client', 'get', '/registry/hardway', '--print-value-only')).output.trim()).toBe('yes');
  });

  it('refuses a certificate from the cluster CA (admin): the two CAs are kept apart', async () => {
    const refused = await etcdctl('admin', '--dial-timeout=1s', '--command-timeout=1s', 'endpoint', 'health');
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain('is unhealthy');
    expect(output).toMatch(/rejected connection.*certificate signed by unknown authority/);
  });
});
