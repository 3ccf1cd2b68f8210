// The transport against a real OpenSSH sshd started by the test on 127.0.0.1. Every remote path is
// under the sshd's temp dir.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { executeTask } from '../../src/engine/execute.ts';
import { formatWhere } from '../../src/errors.ts';
import type { Node } from '../../src/inventory/node.ts';
import { ModuleRegistry } from '../../src/modules/module.ts';
import { remoteModules } from '../../src/modules/remote-modules.ts';
import { AuthenticationError, CommandTimeoutError, HostKeyMismatchError, RemoteCommandError, TransportError, UnreachableError } from '../../src/transport/errors.ts';
import { fingerprint } from '../../src/transport/known-hosts.ts';
import { createSshPool, type SshPool, type SshPoolOptions } from '../../src/transport/pool.ts';
import { SshTransport } from '../../src/transport/node-transport.ts';
import { ChannelOpenFailure } from '../../src/transport/session-types.ts';
import { newScratch, testRunContext } from '../helpers/context.ts';
import { freePort, startSshd, type Sshd } from '../helpers/sshd.ts';

const run = promisify(execFile);

function nodeOf(sshd: Pick<Sshd, 'host' | 'port'>, name = 'node-a', port = sshd.port): Node {
  return { name, roles: ['controller'], internalIP: '127.0.0.1', sshAddress: sshd.host, sshPort: port, user: 'root' };
}

/** Pools made by a test, closed after it. */
const pools: SshPool[] = [];
const servers: Sshd[] = [];
const dirs: string[] = [];

async function clusterDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hardway-cluster-'));
  dirs.push(dir);
  return dir;
}

async function server(options: Parameters<typeof startSshd>[0] = {}): Promise<Sshd> {
  const sshd = await startSshd(options);
  servers.push(sshd);
  return sshd;
}

function poolFor(dir: string, keyPath: string, overrides: Partial<SshPoolOptions> = {}): SshPool {
  const pool = createSshPool({
    clusterDir: dir,
    ssh: { keyPath, agent: false },
    keepaliveIntervalMs: 2_000,
    keepaliveCountMax: 3,
    retry: { totalMs: 3_000, authMs: 1_500, initialDelayMs: 100, maxDelayMs: 500 },
    ...overrides,
  });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.closeAll()));
  await Promise.all(servers.splice(0).map((sshd) => sshd.stop()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('commands', () => {
  it('returns exit codes, streams output as it comes, feeds stdin, and names the node on failure', async () => {
    const sshd = await server();
    const pool = poolFor(await clusterDir(), sshd.keyPath);
    const transport = await pool.get(nodeOf(sshd));

    const chunks: string[] = [];
    const result = await transport.exec('echo first; sleep 0.3; echo second; echo warn >&2', { onStdout: (chunk) => chunks.push(chunk) });
    expect(result).toEqual({ code: 0, stdout: 'first\nsecond\n', stderr: 'warn\n' });
    expect(chunks.length).toBeGreaterThanOrEqual(2);

    expect((await transport.exec('tr a-z A-Z', { stdin: 'shout\n' })).stdout).toBe('SHOUT\n');
    expect((await transport.exec('exit 3', { check: false })).code).toBe(3);

    const failure = await transport.exec('echo boom >&2; exit 7').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RemoteCommandError);
    expect(failure).toMatchObject({ code: 7, stderrTail: 'boom', where: { node: 'node-a' } });
    expect((failure as Error).message).toBe('`echo boom >&2; exit 7` exited with code 7:\nboom');
  });

  it('kills a command that outlives its timeout, and one whose signal aborts', async () => {
    const sshd = await server();
    const pool = poolFor(await clusterDir(), sshd.keyPath);
    const transport = await pool.get(nodeOf(sshd));
    const pidFile = join(sshd.dir, 'data', 'sleeper.pid');

    const timedOut = await transport.exec(`echo $$ > ${pidFile}; exec sleep 30`, { timeoutMs: 500 }).catch((error: unknown) => error);
    expect(timedOut).toBeInstanceOf(CommandTimeoutError);
    expect((timedOut as Error).message).toContain('did not finish within 500 ms');
    await expectGone(Number(await readFile(pidFile, 'utf8')));

    const controller = new AbortController();
    const aborted = transport.exec(`echo $$ > ${pidFile}.2; exec sleep 30`, { signal: controller.signal });
    await waitFor(async () => (await readFile(`${pidFile}.2`, 'utf8').catch(() => '')).trim() !== '');
    controller.abort(new Error('run cancelled'));
    await expect(aborted).rejects.toThrow('run cancelled');
    await expectGone(Number(await readFile(`${pidFile}.2`, 'utf8')));

    // The connection is still good afterwards.
    expect((await transport.exec('echo alive')).stdout).toBe('alive\n');
  });
});

describe('connections and channels', () => {
  it('counts what a run cost each node: connections, execs and SFTP transfers; an unchanged upload costs one exec', async () => {
    const sshd = await server();
    const pool = poolFor(await clusterDir(), sshd.keyPath);
    const [a, b] = await Promise.all([pool.get(nodeOf(sshd)), pool.get(nodeOf(sshd))]);
    expect(a).toBe(b);
    await a.exec('true');
    await a.exec('true');
    const dest = join(sshd.dir, 'data', 'counted.txt');
    await a.upload(Buffer.from('counted\n'), dest, { mode: '0600' });
    expect(pool.roundTrips()).toEqual({ 'node-a': { connections: 1, execs: 4, sftp: 1 } });
    // Unchanged: the facts probe alone, nothing sent.
    expect((await a.upload(Buffer.from('counted\n'), dest, { mode: '0600' })).changed).toBe(false);
    expect(pool.roundTrips()).toEqual({ 'node-a': { connections: 1, execs: 5, sftp: 1 } });
  });

  it('pins the host key on first contact in a file OpenSSH accepts, and shares one connection per node', async () => {
    const sshd = await server();
    const dir = await clusterDir();
    const pool = poolFor(dir, sshd.keyPath);
    const [a, b, c] = await Promise.all([pool.get(nodeOf(sshd)), pool.get(nodeOf(sshd)), pool.get(nodeOf(sshd))]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(await pool.get(nodeOf(sshd))).toBe(a);

    const knownHosts = await readFile(join(dir, 'known_hosts'), 'utf8');
    expect(knownHosts).toBe(`[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`);
    const { stdout } = await run('ssh', [
      ...['-F', '/dev/null', '-i', sshd.keyPath, '-p', String(sshd.port)],
      ...['-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes'],
      'root@127.0.0.1',
      'echo accepted',
    ]);
    expect(stdout).toBe('accepted\n');
  });

  it('runs 50 parallel tasks (commands and uploads) on one host with MaxSessions 10 without a channel failure', async () => {
    const sshd = await server({ maxSessions: 10 });
    const pool = poolFor(await clusterDir(), sshd.keyPath);
    const transport = await pool.get(nodeOf(sshd));
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        index % 2
          ? transport.exec(`sleep 0.1; echo task-${index}`).then((result) => result.stdout.trim())
          : transport.upload(Buffer.from(`content ${index}\n`), join(sshd.dir, 'data', `file-${index}`)).then((result) => result.reason),
      ),
    );
    expect(results.filter((result) => result.startsWith('task-'))).toHaveLength(25);
    expect(results.filter((result) => result === 'upload (missing)')).toHaveLength(25);
    const stats = transport.channelStats();
    expect(stats.refused).toBe(0);
    expect(stats.peak).toBe(8);
    expect(await readFile(join(sshd.dir, 'data', 'file-48'), 'utf8')).toBe('content 48\n');
  });

  it('the limit matters: past MaxSessions the server refuses channels', async () => {
    const sshd = await server({ maxSessions: 10 });
    const pool = poolFor(await clusterDir(), sshd.keyPath);
    const transport = await pool.get(nodeOf(sshd));
    // The session without the transport's limit: 14 channels at once.
    const outcomes = await Promise.allSettled(Array.from({ length: 14 }, () => transport.session.exec('sleep 0.5')));
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((outcome) => outcome.reason instanceof ChannelOpenFailure)).toBe(true);
  });

  it('adapts to a server whose MaxSessions is below its limit', async () => {
    const sshd = await server({ maxSessions: 3 });
    const lines: string[] = [];
    const pool = poolFor(await clusterDir(), sshd.keyPath, { log: (line) => lines.push(line) });
    const transport = await pool.get(nodeOf(sshd));
    const results = await Promise.all(Array.from({ length: 50 }, (_, index) => transport.exec(`sleep 0.05; echo ${index}`)));
    expect(results.map((result) => Number(result.stdout))).toEqual(Array.from({ length: 50 }, (_, index) => index));
    expect(transport.channelStats().limit).toBeLessThanOrEqual(3);
    expect(transport.channelStats().refused).toBeGreaterThan(0);
    expect(lines.some((line) => line.includes('the server refused a channel'))).toBe(true);
  });
});

describe('uploads', () => {
  it('skips an unchanged file, fixes only mode and group, and replaces changed content', async () => {
    const sshd = await server();
    const pool = poolFor(await clusterDir(), sshd.keyPath);
    const transport = await pool.get(nodeOf(sshd));
    const dest = join(sshd.dir, 'data', 'ca.pem');

    expect(await transport.upload(Buffer.from('cert\n'), dest, { mode: '0600' })).toEqual({ changed: true, reason: 'upload (missing)' });
    const inode = (await stat(dest)).ino;
    expect(await transport.upload(Buffer.from('cert\n'), dest, { mode: '0600' })).toEqual({ changed: false, reason: 'sha256 matches, mode 0600, owner root:root' });
    expect((await stat(dest)).ino).toBe(inode);

    expect(await transport.upload(Buffer.from('cert\n'), dest, { mode: '0644', group: 'daemon' })).toEqual({ changed: true, reason: 'set mode 0600 -> 0644, group root -> daemon' });
    expect((await stat(dest)).ino).toBe(inode);
    expect((await stat(dest)).mode & 0o777).toBe(0o644);

    const local = join(sshd.dir, 'local.bin');
    await writeFile(local, randomBytes(100_000));
    expect(await transport.upload({ path: local }, dest, { mode: '0644', group: 'daemon' })).toEqual({ changed: true, reason: 'upload (content differs: 5 -> 100000 bytes)' });
    expect(sha256(await readFile(dest))).toBe(sha256(await readFile(local)));
    expect(await transport.upload({ path: local }, dest, { mode: '0644', group: 'daemon' })).toMatchObject({ changed: false });
    expect((await readdir(join(sshd.dir, 'data'))).sort()).toEqual(['ca.pem']);
    expect(await transport.readFile(dest)).toEqual(await readFile(local));
    expect(await transport.readFile(join(sshd.dir, 'data', 'absent'))).toBeUndefined();
  });

  it('reports the progress of a large file as it goes, ending at its full size', async () => {
    const sshd = await server();
    const pool = poolFor(await clusterDir(), sshd.keyPath);
    const transport = await pool.get(nodeOf(sshd));
    const local = join(sshd.dir, 'big.bin');
    await writeFile(local, randomBytes(4 * 1024 * 1024));
    const seen: [number, number][] = [];
    await transport.upload({ path: local }, join(sshd.dir, 'data', 'big.bin'), { onProgress: (sent, total) => seen.push([sent, total]) });
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every(([, total]) => total === 4 * 1024 * 1024)).toBe(true);
    expect(seen.map(([sent]) => sent)).toEqual([...seen.map(([sent]) => sent)].sort((a, b) => a - b));
    expect(seen.at(-1)).toEqual([4 * 1024 * 1024, 4 * 1024 * 1024]);
  });

  it('refuses to upload into a directory that does not exist, naming the node', async () => {
    const sshd = await server();
    const pool = poolFor(await clusterDir(), sshd.keyPath);
    const transport = await pool.get(nodeOf(sshd));
    const error = await transport.upload(Buffer.from('x'), join(sshd.dir, 'missing', 'file')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).message).toContain(`the directory ${join(sshd.dir, 'missing')} does not exist`);
    expect((error as TransportError).where.node).toBe('node-a');
  });

  it('leaves the old file in place when the connection is cut mid-transfer', async () => {
    const sshd = await server();
    const pool = poolFor(await clusterDir(), sshd.keyPath);
    const node = nodeOf(sshd);
    const transport = await pool.get(node);
    const data = join(sshd.dir, 'data');
    const dest = join(data, 'kube-apiserver');
    await writeFile(dest, 'old binary\n');
    const big = join(sshd.dir, 'big.bin');
    const block = randomBytes(1024 * 1024);
    await writeFile(big, Buffer.concat(Array.from({ length: 160 }, () => block)));

    const upload = transport.upload({ path: big }, dest, { mode: '0755' });
    const outcome = upload.then(
      () => 'finished',
      (error: unknown) => error,
    );
    // Cut every connection of this sshd (its per-connection processes) once the temp file is growing.
    await waitFor(async () => {
      for (const name of await readdir(data)) {
        if (name.startsWith('.kube-apiserver.hardway-') && (await stat(join(data, name)).catch(() => undefined))?.size) return true;
      }
      return false;
    }, 5);
    expect(await sshd.cutConnections()).toBeGreaterThan(0);
    const error = await outcome;
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as UnreachableError).where.node).toBe('node-a');
    expect(await readFile(dest, 'utf8')).toBe('old binary\n');

    // The next upload (on a new connection) completes and removes the partial temp file.
    const again = await pool.get(node);
    expect(again).not.toBe(transport);
    expect(await again.upload({ path: big }, dest, { mode: '0755' })).toMatchObject({ changed: true });
    expect(sha256(await readFile(dest))).toBe(sha256(await readFile(big)));
    expect(await readdir(data)).toEqual(['kube-apiserver']);
  });
});

describe('a user who is not root', () => {
  it('runs commands and uploads through sudo -n (a stand-in sudo that logs its arguments)', async () => {
    const sshd = await server();
    // A stand-in for sudo on the sshd's PATH (the test machine has none and must not get one).
    const bin = join(sshd.dir, 'bin');
    const log = join(sshd.dir, 'sudo.log');
    await mkdir(bin);
    await writeFile(join(bin, 'sudo'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${log}\n[ "$1" = -n ] && [ "$2" = -- ] || exit 1\nshift 2\nexec "$@"\n`, { mode: 0o755 });
    await sshd.stop({ keepDir: true });
    const withSudo = await server({ dir: sshd.dir, port: sshd.port, extraConfig: [`SetEnv PATH=${bin}:/usr/sbin:/usr/bin:/sbin:/bin`] });
    const pool = poolFor(await clusterDir(), withSudo.keyPath);
    const root = await pool.get(nodeOf(withSudo));
    // The same connection, seen as a node whose SSH user is not root.
    const deploy = new SshTransport({ ...nodeOf(withSudo), user: 'deploy' }, root.session);

    expect((await deploy.exec('id -u')).stdout).toBe('0\n');
    expect((await deploy.exec('id -u', { sudo: false })).stdout).toBe('0\n');
    const dest = join(withSudo.dir, 'data', 'server-key.pem');
    const local = join(withSudo.dir, 'key.bin');
    await writeFile(local, randomBytes(3 * 1024 * 1024));
    expect(await deploy.upload({ path: local }, dest, { mode: '0600' })).toEqual({ changed: true, reason: 'upload (missing)' });
    expect(sha256(await readFile(dest))).toBe(sha256(await readFile(local)));
    expect((await stat(dest)).mode & 0o777).toBe(0o600);
    expect(await deploy.upload({ path: local }, dest, { mode: '0600' })).toMatchObject({ changed: false });
    expect(await deploy.readFile(dest)).toEqual(await readFile(local));

    const calls = (await readFile(log, 'utf8')).trim().split('\n');
    expect(calls[0]).toBe('-n -- sh -c id -u');
    // id -u; upload: probe, cat into the temp file, chmod+rename; second upload: probe only; readFile.
    expect(calls.map((call) => call.split(' ').slice(0, 5).join(' '))).toEqual(['-n -- sh -c id', '-n -- sh -c if', '-n -- sh -c umask', '-n -- sh -c chmod', '-n -- sh -c if', '-n -- sh -c [']);
  });
});

describe('failures', () => {
  it('stops on a changed host key with both fingerprints and the fix, without retrying; forget() clears it', async () => {
    const first = await server();
    const dir = await clusterDir();
    const node = nodeOf(first);
    const pool = poolFor(dir, first.keyPath);
    await pool.get(node);
    await pool.closeAll();
    const oldFingerprint = fingerprint(hostKeyOf(first.hostKey));
    await first.stop({ keepDir: true });
    dirs.push(first.dir);

    // The same address and port, a new machine with a new host key.
    const second = await server({ port: first.port, clientKeyPath: first.keyPath });
    const lines: string[] = [];
    const next = poolFor(dir, first.keyPath, { log: (line) => lines.push(line) });
    const error = await next.get(node).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    const mismatch = error as HostKeyMismatchError;
    const newFingerprint = fingerprint(hostKeyOf(second.hostKey));
    expect(mismatch.knownFingerprints).toEqual([oldFingerprint]);
    expect(mismatch.offeredFingerprint).toBe(newFingerprint);
    expect(mismatch.message).toContain(`the host key of node-a (127.0.0.1:${first.port}) changed`);
    expect(mismatch.message).toContain(oldFingerprint);
    expect(mismatch.message).toContain(newFingerprint);
    expect(mismatch.hint).toContain(`ssh-keygen -R '[127.0.0.1]:${first.port}' -f ${join(dir, 'known_hosts')}`);
    expect(mismatch.where.node).toBe('node-a');
    expect(lines.filter((line) => line.includes('retrying'))).toEqual([]);

    await next.forget(node);
    const transport = await next.get(node);
    expect((await transport.exec('echo replaced')).stdout).toBe('replaced\n');
    expect(await readFile(join(dir, 'known_hosts'), 'utf8')).toBe(`[127.0.0.1]:${first.port} ${second.hostKey}\n`);
  });

  it('reports a host that stopped answering as unreachable, naming the node, within the keepalive bound', async () => {
    const sshd = await server();
    const pool = poolFor(await clusterDir(), sshd.keyPath, { keepaliveIntervalMs: 500, keepaliveCountMax: 2 });
    const transport = await pool.get(nodeOf(sshd, 'etcd-1'));
    const running = transport.exec('sleep 60').catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await sshd.freeze();
    // 2 keepalives 0.5 s apart: detection in ~1.5 s; 15 s is the bound that proves it is not hanging.
    const error = await Promise.race([running, new Promise((resolve) => setTimeout(() => resolve('still hanging'), 15_000))]);
    await sshd.thaw();
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as UnreachableError).where.node).toBe('etcd-1');
    expect((error as Error).message).toBe(`lost the SSH connection to etcd-1 (127.0.0.1:${sshd.port}): no answer to 2 keepalives sent 0.5 s apart`);
    expect(transport.alive).toBe(false);
  });

  it('fails the task running on a frozen node with the step, node and task named', async () => {
    const sshd = await server();
    const pool = poolFor(await clusterDir(), sshd.keyPath, { keepaliveIntervalMs: 500, keepaliveCountMax: 2 });
    const node = nodeOf(sshd, 'etcd-2');
    const run = testRunContext({ transports: pool, modules: new ModuleRegistry(remoteModules()) });
    await pool.get(node);
    const task = { name: 'Run the migration', module: 'command', args: { cmd: 'sleep 60' }, notify: [], once: false, file: 'playbooks/60-etcd.yaml', line: 12 };
    const result = executeTask({ run, step: 'etcd', task, node, scratch: newScratch(), log: () => undefined });
    setTimeout(() => void sshd.freeze(), 300);
    const outcome = await result;
    await sshd.thaw();
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toBeInstanceOf(UnreachableError);
    expect(outcome.error!.where).toMatchObject({ step: 'etcd', node: 'etcd-2', task: 'Run the migration' });
    expect(formatWhere(outcome.error!.where)).toBe('[step etcd, node etcd-2, task "Run the migration"]');
    expect(outcome.reason).toContain('lost the SSH connection to etcd-2');
  });

  it('reports a stopped sshd as unreachable after bounded retries', async () => {
    const sshd = await server();
    const dir = await clusterDir();
    const pool = poolFor(dir, sshd.keyPath);
    await sshd.stop({ keepDir: true });
    dirs.push(sshd.dir);
    const error = await pool.get(nodeOf(sshd, 'controller-2')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as UnreachableError).message).toMatch(new RegExp(`^cannot reach controller-2 at 127\\.0\\.0\\.1:${sshd.port}: connect ECONNREFUSED .* \\(after \\d+ attempts over `));
    expect((error as UnreachableError).hint).toContain('controller-2 is running');
  });

  it('waits for a host that is still booting', async () => {
    const port = await freePort();
    const dir = await clusterDir();
    const keyDir = await clusterDir();
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'id')]);
    const lines: string[] = [];
    const pool = poolFor(dir, join(keyDir, 'id'), { log: (line) => lines.push(line), retry: { totalMs: 20_000, initialDelayMs: 100, maxDelayMs: 300 } });
    const connecting = pool.get(nodeOf({ host: '127.0.0.1', port }));
    await new Promise((resolve) => setTimeout(resolve, 800));
    await server({ port, clientKeyPath: join(keyDir, 'id') });
    const transport = await connecting;
    expect((await transport.exec('echo booted')).stdout).toBe('booted\n');
    expect(lines.some((line) => line.includes('not ready (connect ECONNREFUSED') && line.includes('retrying'))).toBe(true);
  });

  it('retries authentication while authorized_keys is being written, for a bounded time', async () => {
    const sshd = await server({ noAuthorizedKey: true });
    const pool = poolFor(await clusterDir(), sshd.keyPath, { retry: { authMs: 10_000, initialDelayMs: 100, maxDelayMs: 300 } });
    const connecting = pool.get(nodeOf(sshd));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await sshd.authorize();
    expect((await (await connecting).exec('echo in')).stdout).toBe('in\n');

    const never = await server({ noAuthorizedKey: true });
    const error = await poolFor(await clusterDir(), never.keyPath, { retry: { authMs: 600, initialDelayMs: 100 } })
      .get(nodeOf(never, 'etcd-0'))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).message).toMatch(/^root@127\.0\.0\.1:\d+ refused every key \(All configured authentication methods failed\) after \d+ attempts/);
    expect((error as AuthenticationError).hint).toContain(`${never.keyPath}.pub`);
  });
});

describe('authentication and jumps', () => {
  let agent: { pid: number; socket: string; dir: string } | undefined;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hardway-agent-'));
    const socket = join(dir, 'agent.sock');
    const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    agent = { pid: child.pid!, socket, dir };
    await waitFor(async () => (await stat(socket).catch(() => undefined)) !== undefined);
  });
  afterAll(async () => {
    if (!agent) return;
    process.kill(agent.pid, 'SIGTERM');
    await rm(agent.dir, { recursive: true, force: true });
  });

  it('authenticates with a key held by ssh-agent (no key file)', async () => {
    const sshd = await server();
    await run('ssh-add', ['-q', sshd.keyPath], { env: { ...process.env, SSH_AUTH_SOCK: agent!.socket } });
    const agentPool = createSshPool({ clusterDir: await clusterDir(), ssh: { keyPath: join(sshd.dir, 'no-such-key'), agent: true }, env: { SSH_AUTH_SOCK: agent!.socket } });
    pools.push(agentPool);
    expect((await (await agentPool.get(nodeOf(sshd))).exec('echo agent')).stdout).toBe('agent\n');
  });

  it('reaches a node through a bastion, pinning both host keys', async () => {
    const target = await server();
    const bastion = await server({ clientKeyPath: target.keyPath, extraConfig: [`PermitOpen 127.0.0.1:${target.port}`] });
    const dir = await clusterDir();
    const pool = poolFor(dir, target.keyPath, { ssh: { keyPath: target.keyPath, agent: false, bastion: { host: '127.0.0.1', port: bastion.port, user: 'root' } } });
    // Two nodes connecting at once share one bastion connection.
    const [transport, other] = await Promise.all([pool.get(nodeOf(target)), pool.get(nodeOf(target, 'node-b'))]);
    expect(other).not.toBe(transport);
    expect((await transport.exec('echo behind')).stdout).toBe('behind\n');
    expect((await other.exec('echo also')).stdout).toBe('also\n');
    const accepted = (await readFile(join(bastion.dir, 'sshd.log'), 'utf8')).split('\n').filter((line) => line.startsWith('Accepted publickey'));
    expect(accepted).toHaveLength(1);
    expect((await readFile(join(dir, 'known_hosts'), 'utf8')).split('\n').sort()).toEqual(['', `[127.0.0.1]:${bastion.port} ${bastion.hostKey}`, `[127.0.0.1]:${target.port} ${target.hostKey}`].sort());
  });

  it('fails clearly, naming the bastion, when the bastion refuses to forward', async () => {
    const target = await server();
    const bastion = await server({ clientKeyPath: target.keyPath, extraConfig: ['AllowTcpForwarding no'] });
    const pool = poolFor(await clusterDir(), target.keyPath, { ssh: { keyPath: target.keyPath, agent: false, bastion: { host: '127.0.0.1', port: bastion.port, user: 'root' } } });
    const error = await pool.get(nodeOf(target)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).message).toBe(
      `cannot connect to node-a at 127.0.0.1:${target.port} via bastion 127.0.0.1: bastion 127.0.0.1 cannot open 127.0.0.1:${target.port}: (SSH) Channel open failure: open failed`,
    );
    expect((error as TransportError).hint).toContain('AllowTcpForwarding');
  });
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hostKeyOf(line: string) {
  const [type = '', data = ''] = line.split(' ');
  return { type, data };
}

async function waitFor(condition: () => Promise<boolean>, intervalMs = 20, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function expectGone(pid: number): Promise<void> {
  await waitFor(async () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
}
