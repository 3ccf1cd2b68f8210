// Test fixtures for the stand-ins and the units: certificates made with the real openssl CLI, a
// real etcd started on loopback, and helpers to run a stand-in and read its exit and stderr.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { renderEncryptionConfig } from '../../src/pki/encryption-config.ts';
import { renderKubeconfig } from '../../src/pki/kubeconfig.ts';

const run = promisify(execFile);

export const standinDir = fileURLToPath(new URL('.', import.meta.url));
/** Debian's python3, the one lab nodes have; falls back to whatever python3 is on PATH. */
export const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
export const etcdBinary = process.env.HARDWAY_TEST_ETCD ?? '/usr/bin/etcd';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface LeafOptions {
  cn: string;
  o?: string;
  /** DNS names and IPs, cfssl `hosts` style. */
  hosts?: string[];
  usages: ('server' | 'client')[];
}

/** A self-signed CA made with `openssl req -x509`. */
export async function makeCA(dir: string, name: string, cn = name): Promise<KeyPair> {
  await mkdir(dir, { recursive: true });
  const pair = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}-key.pem`) };
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', pair.key, '-out', pair.cert, '-days', '30', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return pair;
}

/** A leaf signed by `ca` with `openssl x509 -req`, SANs and extended key usages as cfssl sets them. */
export async function issue(dir: string, ca: KeyPair, name: string, options: LeafOptions): Promise<KeyPair> {
  const pair = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}-key.pem`) };
  const csr = join(dir, `${name}.csr`);
  const subject = `/CN=${options.cn}${options.o ? `/O=${options.o}` : ''}`;
  await run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', pair.key, '-out', csr, '-subj', subject]);
  const eku = options.usages.map((usage) => (usage === 'server' ? 'serverAuth' : 'clientAuth')).join(',');
  const lines = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', `extendedKeyUsage=${eku}`];
  const hosts = options.hosts ?? [];
  if (hosts.length) lines.push(`subjectAltName=${hosts.map((host) => (/^[\d.]+$/.test(host) ? `IP:${host}` : `DNS:${host}`)).join(',')}`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, `${lines.join('\n')}\n`);
  const serial = `0x${(randomBytes(16)[0]! & 0x7f).toString(16).padStart(2, '0')}${randomBytes(15).toString('hex')}`;
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', serial, '-out', pair.cert, '-days', '30', '-extfile', ext]);
  return pair;
}

/** An RSA key pair for service-account tokens: private key and public key PEM. */
export async function serviceAccountKeys(dir: string): Promise<{ key: string; pub: string }> {
  const key = join(dir, 'service-account-key.pem');
  const pub = join(dir, 'service-account.pem');
  await run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key]);
  await run('openssl', ['pkey', '-in', key, '-pubout', '-out', pub]);
  return { key, pub };
}

/** The encryption step's own EncryptionConfiguration, with a key of `bytes` random bytes. */
export async function encryptionConfig(path: string, bytes = 32): Promise<string> {
  await writeFile(path, renderEncryptionConfig(randomBytes(bytes)), { mode: 0o600 });
  return path;
}

/** A kubeconfig exactly as the kubeconfigs step writes it (certificates embedded). */
export async function kubeconfig(path: string, options: { server: string; ca: string; client: KeyPair; user: string }): Promise<string> {
  const text = renderKubeconfig({
    cluster: 'hardway',
    server: options.server,
    user: options.user,
    caPem: await readFile(options.ca, 'utf8'),
    certPem: await readFile(options.client.cert, 'utf8'),
    keyPem: await readFile(options.client.key, 'utf8'),
  });
  await writeFile(path, text, { mode: 0o600 });
  return path;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface HttpsResult {
  status: number;
  body: string;
}

/** GET over HTTPS verifying the server against `ca` and its name against the URL's host (no `ca`: no verification). */
export function httpsGet(url: string, tls: { ca?: string; cert?: string; key?: string; verifyName?: boolean }): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    void (async () => {
      const req = request(url, {
        ca: tls.ca ? await readFile(tls.ca) : undefined,
        rejectUnauthorized: tls.ca !== undefined,
        ...(tls.verifyName === false ? { checkServerIdentity: () => undefined } : {}),
        cert: tls.cert ? await readFile(tls.cert) : undefined,
        key: tls.key ? await readFile(tls.key) : undefined,
        timeout: 5000,
        agent: false,
      }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
      req.on('error', reject);
      req.end();
    })().catch(reject);
  });
}

/** Poll until `probe` resolves truthy, up to `ms`; throws with the last error. */
export async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${String(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A process the test started: its output so far, and a promise of its exit. */
export interface Started {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
  /** SIGTERM, then wait; only this PID. */
  stop(): Promise<void>;
}

export function start(command: string, args: string[], env: Record<string, string> = {}): Started {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Run a stand-in (kube-apiserver, ...) with Debian's python3, as systemd would run the installed file. */
export function startStandin(program: 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler', args: string[], env: Record<string, string> = {}): Started {
  return start(python, [join(standinDir, program), ...args], { HARDWAY_STANDIN_WAIT_SECONDS: '8', ...env });
}

/** Run to completion: exit code and output (for flag checks and failures). */
export async function runToExit(started: Started, ms = 30_000): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const timer = setTimeout(() => started.child.kill('SIGKILL'), ms);
  const code = await started.exited;
  clearTimeout(timer);
  return { code, stderr: started.stderr(), stdout: started.stdout() };
}

export interface EtcdMember {
  url: string;
  process: Started;
}

/** One real etcd member with client TLS and client-cert auth on 127.0.0.1 ports. */
export async function startEtcd(dir: string, server: KeyPair, ca: string, check: { ca: string; client: KeyPair }): Promise<EtcdMember> {
  const client = await freePort();
  const peer = await freePort();
  const url = `https://127.0.0.1:${client}`;
  const member = start(etcdBinary, [
    '--name', 'standin-test', '--data-dir', join(dir, 'etcd-data'),
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `standin-test=http://127.0.0.1:${peer}`,
    '--cert-file', server.cert, '--key-file', server.key, '--trusted-ca-file', ca, '--client-cert-auth',
  ]);
  await waitFor('etcd health', 20_000, async () => {
    if (member.child.exitCode !== null) throw new Error(`etcd exited: ${member.stderr().slice(-2000)}`);
    // Only "is it up": the certificate's names are what the tests check, with the stand-ins.
    const result = await httpsGet(`${url}/health`, { ca: check.ca, cert: check.client.cert, key: check.client.key, verifyName: false });
    return result.status === 200 && result.body.includes('true');
  });
  return { url, process: member };
}
