// A real OpenSSH sshd for tests: started as a non-daemon child on 127.0.0.1 with its own host key,
// authorized key and MaxSessions, in a temp dir. Stops only the processes it started (its PID and
// that PID's descendants, the per-connection sshd children).
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SshdOptions {
  /** OpenSSH MaxSessions (default 10, OpenSSH's own default). */
  maxSessions?: number;
  /** Reuse a port (to restart "the same host" with another host key). */
  port?: number;
  /** Reuse a directory (its keys) from an earlier server. */
  dir?: string;
  /** Leave authorized_keys empty (a host whose cloud-init has not written it yet). */
  noAuthorizedKey?: boolean;
  /** Extra sshd_config lines. */
  extraConfig?: string[];
  /** Authorize this existing client key (its `.pub` beside it) instead of generating one. */
  clientKeyPath?: string;
}

export interface Sshd {
  host: string;
  port: number;
  user: string;
  /** The client's private key (ed25519, OpenSSH format, 0600). */
  keyPath: string;
  /** The server's public host key line: `ssh-ed25519 AAAA...`. */
  hostKey: string;
  hostKeyPath: string;
  authorizedKeysPath: string;
  /** The temp dir holding config, keys, logs; tests may create files under `dir/data`. */
  dir: string;
  pid: number;
  /** Authorize the client key (after starting with noAuthorizedKey). */
  authorize(): Promise<void>;
  /** SIGSTOP the server and its connection processes: a host that stopped answering. */
  freeze(): Promise<void>;
  /** SIGCONT what freeze stopped. */
  thaw(): Promise<void>;
  /** SIGKILL the per-connection processes: every open connection drops, the listener stays. */
  cutConnections(): Promise<number>;
  /** Stop the listener and its connections; removes the temp dir unless keepDir. */
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

/** Why: transport and module tests run against the real OpenSSH, not a mock. */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  // sshd refuses to start without its privilege separation directory; Debian's unit creates it.
  // (Only root can create it; without root, sshd's own error says what is missing.)
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => undefined);
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'hardway-sshd-')));
  await mkdir(join(dir, 'data'), { recursive: true });
  const hostKeyPath = join(dir, 'ssh_host_ed25519_key');
  const keyPath = options.clientKeyPath ?? join(dir, 'client_key');
  if (!(await exists(hostKeyPath))) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-host', '-f', hostKeyPath]);
  if (!(await exists(keyPath))) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-client', '-f', keyPath]);
  const authorizedKeysPath = join(dir, 'authorized_keys');
  const clientPublic = await readFile(`${keyPath}.pub`, 'utf8');
  await writeFile(authorizedKeysPath, options.noAuthorizedKey ? '' : clientPublic, { mode: 0o600 });
  const hostKey = (await readFile(`${hostKeyPath}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');

  const port = options.port ?? (await freePort());
  // sshd keeps the first value it reads for a keyword: the test's own lines go first.
  const config = [
    ...(options.extraConfig ?? []),
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKeyPath}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorizedKeysPath}`,
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    `MaxSessions ${options.maxSessions ?? 10}`,
    'MaxStartups 100:30:200',
    'AllowTcpForwarding yes',
    // In-process SFTP: no login shell per SFTP channel (root's ~/.bashrc on a dev machine can be slow).
    'Subsystem sftp internal-sftp',
    'LogLevel VERBOSE',
  ];
  const configPath = join(dir, 'sshd_config');
  await writeFile(configPath, `${config.join('\n')}\n`);

  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  await waitListening(child, join(dir, 'sshd.log'));
  const pid = child.pid!;

  // Once sshd has exited its PID may belong to someone else: never signal it (or "its" children) again.
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const signalTree = async (signal: NodeJS.Signals, includeRoot: boolean) => {
    if (exited()) return 0;
    const pids = [...(includeRoot ? [pid] : []), ...(await descendants(pid))];
    for (const target of pids) {
      try {
        process.kill(target, signal);
      } catch {
        // already gone
      }
    }
    return pids.length;
  };

  return {
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    keyPath,
    hostKey,
    hostKeyPath,
    authorizedKeysPath,
    dir,
    pid,
    authorize: () => writeFile(authorizedKeysPath, clientPublic, { mode: 0o600 }),
    freeze: async () => {
      await signalTree('SIGSTOP', true);
    },
    thaw: async () => {
      await signalTree('SIGCONT', true);
    },
    cutConnections: () => signalTree('SIGKILL', false),
    stop: async ({ keepDir = false } = {}) => {
      const children = exited() ? [] : await descendants(pid);
      for (const target of exited() ? [] : [pid, ...children]) {
        try {
          process.kill(target, 'SIGCONT');
          process.kill(target, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      if (!exited()) await new Promise((resolve) => child.once('exit', resolve));
      if (!keepDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  );
}

/** A port nobody listens on right now (the kernel picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolve when sshd logs that it listens; keep its log in a file for debugging failed tests. */
async function waitListening(child: ChildProcess, logPath: string): Promise<void> {
  const chunks: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start within 10 s:\n${chunks.join('')}`)), 10_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      chunks.push(chunk);
      void writeFile(logPath, chunk, { flag: 'a' }).catch(() => undefined);
      if (chunks.join('').includes('Server listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited (${code ?? signal}) before listening:\n${chunks.join('')}`));
    });
  });
}

/** Every process below pid, from /proc (the per-connection sshd children and their sessions). */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The command name is in parentheses and may contain spaces: the fields after the last ")" are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    if (!ppid) continue;
    const list = parents.get(ppid) ?? [];
    list.push(Number(entry));
    parents.set(ppid, list);
  }
  const result: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const current = queue.shift()!;
    for (const childPid of parents.get(current) ?? []) {
      result.push(childPid);
      queue.push(childPid);
    }
  }
  return result;
}
