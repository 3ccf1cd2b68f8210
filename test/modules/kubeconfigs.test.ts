// The kubeconfig module: files kubectl reads, that authenticate with the embedded client
// certificate against a TLS server using the kube-apiserver certificate, rewritten only on change.
import { execFile } from 'node:child_process';
import { chmod, cp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { describedText } from '../../src/modules/described.ts';
import { kubeconfigModule, workerKubeconfigsModule } from '../../src/modules/kubeconfigs.ts';
import { labSpecInput, testRunContext, testTaskContext } from '../helpers/context.ts';
import { ensure, envFor, makeTempDir, removeDir } from '../pki/fixture.ts';
import { runLocalPlaybook } from './local-steps.ts';

const execFileAsync = promisify(execFile);
let dir: string;
let server: Server;
let port: number;
/** Who connected: the client certificate's subject as the server saw it. */
const clients: { cn: string; o: string }[] = [];

beforeAll(async () => {
  dir = await makeTempDir();
  await runLocalPlaybook(testRunContext({ clusterDir: dir }), '20-pki.yaml');
  const pem = (name: string) => readFile(join(dir, 'pki', name));
  server = createServer({ cert: await pem('kube-apiserver.pem'), key: await pem('kube-apiserver-key.pem'), ca: await pem('ca.pem'), requestCert: true, rejectUnauthorized: true }, (request, response) => {
    const peer = (request.socket as TLSSocket).getPeerCertificate();
    clients.push({ cn: String(peer.subject.CN), o: String(peer.subject.O) });
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ major: '1', minor: '32', gitVersion: 'v1.32.3' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await removeDir(dir);
});

describe('kubeconfigs step', () => {
  it('writes admin (cluster endpoint), controller-manager and scheduler (127.0.0.1:6443), 0600', async () => {
    const outcomes = await runLocalPlaybook(testRunContext({ clusterDir: dir }), '30-kubeconfigs.yaml');
    expect(outcomes.map((outcome) => outcome.reason)).toEqual([
      'write kubeconfigs/admin.kubeconfig: missing',
      'write kubeconfigs/kube-controller-manager.kubeconfig: missing',
      'write kubeconfigs/kube-scheduler.kubeconfig: missing',
    ]);
    const servers: Record<string, string> = {};
    for (const name of ['admin', 'kube-controller-manager', 'kube-scheduler']) {
      const file = join(dir, 'kubeconfigs', `${name}.kubeconfig`);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const { stdout } = await execFileAsync('kubectl', ['config', 'view', '--raw', '--kubeconfig', file, '-o', 'json']);
      const config = JSON.parse(stdout);
      servers[name] = config.clusters[0].cluster.server;
      expect(Buffer.from(config.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(await readFile(join(dir, 'pki/ca.pem'), 'utf8'));
      expect(Buffer.from(config.users[0].user['client-key-data'], 'base64').toString()).toBe(await readFile(join(dir, `pki/${name}-key.pem`), 'utf8'));
      expect(config['current-context']).toBe('default');
    }
    expect(servers).toEqual({ admin: 'https://10.240.0.30:6443', 'kube-controller-manager': 'https://127.0.0.1:6443', 'kube-scheduler': 'https://127.0.0.1:6443' });
    expect((await stat(join(dir, 'kubeconfigs'))).mode & 0o777).toBe(0o700);
  });

  it('lets kubectl reach a server holding the kube-apiserver certificate, as the embedded user', async () => {
    const run = testRunContext({ clusterDir: dir });
    const args = { name: 'kubectl-test', cert: 'kube-scheduler', user: 'system:kube-scheduler', server: `https://127.0.0.1:${port}` };
    const ctx = testTaskContext(run, undefined);
    const check = await kubeconfigModule.check(ctx, args);
    if (!check.changed) throw new Error('expected a change');
    await kubeconfigModule.apply(ctx, args, check);
    const { stdout } = await execFileAsync('kubectl', ['--kubeconfig', join(dir, 'kubeconfigs/kubectl-test.kubeconfig'), 'get', '--raw', '/version']);
    expect(JSON.parse(stdout).gitVersion).toBe('v1.32.3');
    expect(clients.at(-1)).toEqual({ cn: 'system:kube-scheduler', o: 'system:kube-scheduler' });
  });

  it('changes nothing on a second run, and rewrites only the kubeconfig whose certificate was reissued', async () => {
    const run = testRunContext({ clusterDir: dir });
    const again = await runLocalPlaybook(run, '30-kubeconfigs.yaml');
    expect(again.map((outcome) => outcome.changed)).toEqual([false, false, false]);
    expect(again[0]!.reason).toBe('content matches');

    const before = await readFile(join(dir, 'kubeconfigs/kube-scheduler.kubeconfig'), 'utf8');
    await ensure(envFor(dir, { name: 'test', provider: 'lab', nodes: { controllers: { count: 2 }, etcd: { count: 3 } } }), { names: ['admin'], force: new Set(['admin']) });
    const after = await runLocalPlaybook(run, '30-kubeconfigs.yaml');
    expect(after.map((outcome) => outcome.changed)).toEqual([true, false, false]);
    expect(after[0]!.reason).toBe('rewrite kubeconfigs/admin.kubeconfig: server or embedded certificates changed');
    expect(await readFile(join(dir, 'kubeconfigs/kube-scheduler.kubeconfig'), 'utf8')).toBe(before);
    const admin = parse(await readFile(join(dir, 'kubeconfigs/admin.kubeconfig'), 'utf8'));
    expect(Buffer.from(admin.users[0].user['client-certificate-data'], 'base64').toString()).toBe(await readFile(join(dir, 'pki/admin.pem'), 'utf8'));
  });

  it('restores mode 0600 without rewriting the content, and shows only that chmod', async () => {
    const file = join(dir, 'kubeconfigs/admin.kubeconfig');
    await chmod(file, 0o644);
    const ctx = testTaskContext(testRunContext({ clusterDir: dir }), undefined);
    const args = { name: 'admin', cert: 'admin', user: 'admin', server: 'https://10.240.0.30:6443' };
    const check = await kubeconfigModule.check(ctx, args);
    expect(kubeconfigModule.describe(ctx, args, check.changed ? check.plan : undefined)).toEqual(['chmod 600 kubeconfigs/admin.kubeconfig']);
    const outcomes = await runLocalPlaybook(testRunContext({ clusterDir: dir }), '30-kubeconfigs.yaml');
    expect(outcomes[0]!.reason).toBe('chmod 600 kubeconfigs/admin.kubeconfig (was 0644)');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['https://127.0.0.1:6443', true],
    ['https://[::1]:6443', true],
    ['https://api.example.com', true],
    ['https://:6443', false],
    ['http://127.0.0.1:6443', false],
    ['https://127.0.0.1:6443/api', false],
  ])('accepts server %s: %s', (server, ok) => {
    expect(kubeconfigModule.args.safeParse({ name: 'admin', cert: 'admin', user: 'admin', server }).success).toBe(ok);
  });

  it('never embeds a corrupt or mismatched certificate: the check fails naming the file, and the kubeconfig is untouched', async () => {
    const ctx = testTaskContext(testRunContext({ clusterDir: dir }), undefined);
    const args = { name: 'admin', cert: 'admin', user: 'admin', server: 'https://10.240.0.30:6443' };
    const kubeconfig = join(dir, 'kubeconfigs/admin.kubeconfig');
    const before = await readFile(kubeconfig, 'utf8');
    const certPath = join(dir, 'pki/admin.pem');
    const good = await readFile(certPath, 'utf8');
    try {
      // Truncated: half its base64 lines gone.
      const lines = good.trim().split('\n');
      await writeFile(certPath, `${[lines[0], ...lines.slice(1, -1).slice(0, 5), lines.at(-1)].join('\n')}\n`);
      await expect(kubeconfigModule.check(ctx, args)).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('pki/admin.pem is not a readable PEM certificate') });
      // Another valid certificate that the admin key does not belong to.
      await writeFile(certPath, await readFile(join(dir, 'pki/kube-scheduler.pem'), 'utf8'));
      await expect(kubeconfigModule.check(ctx, args)).rejects.toThrow(/pki\/admin-key\.pem is not the key of \S*pki\/admin\.pem/);
      expect(await readFile(kubeconfig, 'utf8')).toBe(before);
    } finally {
      await writeFile(certPath, good);
    }
  });

  it('describes the kubectl commands that, run in the cluster directory, make the kubeconfig apply writes', async () => {
    const replayDir = await makeTempDir();
    try {
      await cp(join(dir, 'pki'), join(replayDir, 'pki'), { recursive: true });
      const ctx = testTaskContext(testRunContext({ clusterDir: replayDir }), undefined);
      const args = { name: 'replayed', cert: 'admin', user: 'admin', server: 'https://10.240.0.30:6443' };
      const check = await kubeconfigModule.check(ctx, args);
      if (!check.changed) throw new Error('expected a change');
      const commands = kubeconfigModule.describe(ctx, args, check.plan);
      await kubeconfigModule.apply(ctx, args, check);
      const file = join(replayDir, 'kubeconfigs/replayed.kubeconfig');
      const view = async () => (await execFileAsync('kubectl', ['config', 'view', '--raw', '-o', 'json', '--kubeconfig', file])).stdout;
      const applied = await view();
      await rm(file);
      await execFileAsync('bash', ['-euo', 'pipefail', '-c', describedText(commands, undefined).join('\n')], { cwd: replayDir });
      // The same kubeconfig as kubectl reads it (kubectl lays the YAML out its own way).
      expect(await view()).toBe(applied);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    } finally {
      await removeDir(replayDir);
    }
  });

  it('says which certificate is missing before the pki step ran, and describes the kubectl commands', async () => {
    const empty = await makeTempDir();
    try {
      const ctx = testTaskContext(testRunContext({ clusterDir: empty }), undefined);
      const args = { name: 'admin', cert: 'admin', user: 'admin', server: 'https://10.240.0.30:6443' };
      const check = await kubeconfigModule.check(ctx, args);
      expect(check.reason).toBe('write kubeconfigs/admin.kubeconfig once pki/ca.pem, pki/admin.pem, pki/admin-key.pem exist (the pki step makes them)');
      if (!check.changed) throw new Error('expected a change');
      await expect(kubeconfigModule.apply(ctx, args, check)).rejects.toThrow('cannot write kubeconfigs/admin.kubeconfig');
      expect(kubeconfigModule.describe(ctx, args)).toContain(
        'kubectl config set-credentials admin --client-certificate=pki/admin.pem --client-key=pki/admin-key.pem --embed-certs=true --kubeconfig=kubeconfigs/admin.kubeconfig',
      );
    } finally {
      await removeDir(empty);
    }
  });
});

describe('worker-kubeconfigs', () => {
  it('plans only the workers whose kubeconfig needs work, and describes only those', async () => {
    const workersDir = await makeTempDir();
    try {
      const run = testRunContext({ clusterDir: workersDir, spec: { ...labSpecInput, nodes: { ...labSpecInput.nodes, workers: { count: 2 } } } });
      await runLocalPlaybook(run, '20-pki.yaml');
      await runLocalPlaybook(run, '30-kubeconfigs.yaml');
      await chmod(join(workersDir, 'kubeconfigs/worker-1.kubeconfig'), 0o644);
      const ctx = testTaskContext(run, undefined);
      const args = workerKubeconfigsModule.args.parse({ server: 'https://10.240.0.30:6443' });
      const check = await workerKubeconfigsModule.check(ctx, args);
      expect(check.reason).toBe('worker-1: chmod 600 kubeconfigs/worker-1.kubeconfig (was 0644)');
      if (!check.changed) throw new Error('expected a change');
      expect(workerKubeconfigsModule.describe(ctx, args, check.plan)).toEqual(['chmod 600 kubeconfigs/worker-1.kubeconfig']);
      const before = await readFile(join(workersDir, 'kubeconfigs/worker-0.kubeconfig'), 'utf8');
      expect(await workerKubeconfigsModule.apply(ctx, args, check)).toEqual({ changed: true, reason: 'wrote the kubeconfigs of worker-1' });
      expect((await stat(join(workersDir, 'kubeconfigs/worker-1.kubeconfig'))).mode & 0o777).toBe(0o600);
      expect(await readFile(join(workersDir, 'kubeconfigs/worker-0.kubeconfig'), 'utf8')).toBe(before);
      // Without a plan (explain, a cluster never built): every worker's, whole.
      expect(workerKubeconfigsModule.describe(ctx, args).filter((line) => typeof line === 'string' && line.startsWith('kubectl config use-context'))).toHaveLength(2);
    } finally {
      await removeDir(workersDir);
    }
  });
});
