// The pieces the corpus relies on, tested directly: the atomic writer never replaces a non-file nor
// writes a secret through a link out of its directory; the bounded reader never hangs; ssh's argv
// never takes a spec value as an option; known_hosts is strict; Ctrl-C exits 130.
import { execFileSync, spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sshArgv } from '../../src/cli/ssh.ts';
import { FileError, UsageError } from '../../src/errors.ts';
import { parseDuration, parseExpiry } from '../../src/pki/duration.ts';
import { parseKnownHosts } from '../../src/transport/known-hosts.ts';
import { writeFileAtomic } from '../../src/util/atomic-write.ts';
import { readLocalFile, readLocalFileOptional } from '../../src/util/local-file.ts';
import { checkStateText } from '../../src/util/state-check.ts';
import { hardwayBin } from '../helpers/cli.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-hardening-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('writes with the exact mode whatever the umask, and replaces a regular file', async () => {
    const file = join(dir, 'a', 'secret');
    await writeFileAtomic(file, 'one', { mode: 0o600 });
    await writeFileAtomic(file, 'two', { mode: 0o640 });
    expect(await readFile(file, 'utf8')).toBe('two');
    expect((await stat(file)).mode & 0o777).toBe(0o640);
  });

  it('refuses to replace a directory, a FIFO, a device or a symlink, and leaves no temp file', async () => {
    await mkdir(join(dir, 'adir'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await writeFile(join(dir, 'target'), 'kept');
    await symlink(join(dir, 'target'), join(dir, 'link'));
    for (const [name, kind] of [
      ['adir', 'a directory'],
      ['fifo', 'a FIFO'],
      ['link', 'a symbolic link'],
    ] as const) {
      const error = await writeFileAtomic(join(dir, name), 'x').catch((caught: unknown) => caught);
      expect(error, name).toBeInstanceOf(FileError);
      expect((error as FileError).message).toContain(kind);
      expect((error as FileError).exitCode).toBe(2);
    }
    const device = await writeFileAtomic('/dev/null', 'x').catch((caught: unknown) => caught);
    expect((device as FileError).message).toMatch(/\/dev\/null is a character device/);
    expect((await lstat('/dev/null')).isCharacterDevice()).toBe(true);
    expect(await readFile(join(dir, 'target'), 'utf8')).toBe('kept');
    expect((await lstat(join(dir, 'link'))).isSymbolicLink()).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['adir', 'fifo', 'link', 'target']);
  });

  it('with `within`, refuses a parent directory that is a link out of it', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'hardway-outside-'));
    try {
      await mkdir(join(dir, 'cluster'));
      await symlink(outside, join(dir, 'cluster', 'pki'));
      const error = await writeFileAtomic(join(dir, 'cluster', 'pki', 'ca-key.pem'), 'KEY', { within: join(dir, 'cluster'), display: 'pki/ca-key.pem' }).catch((caught: unknown) => caught);
      expect((error as FileError).message).toMatch(/^pki\/ca-key\.pem: its directory leads out of .* through a symbolic link/);
      expect(await readdir(outside)).toEqual([]);
      // A link that stays inside is fine.
      await mkdir(join(dir, 'cluster', 'real'));
      await symlink(join(dir, 'cluster', 'real'), join(dir, 'cluster', 'inside'));
      await writeFileAtomic(join(dir, 'cluster', 'inside', 'f'), 'ok', { within: join(dir, 'cluster') });
      expect(await readFile(join(dir, 'cluster', 'real', 'f'), 'utf8')).toBe('ok');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('names the path when a parent is not a directory', async () => {
    await writeFile(join(dir, 'file'), '');
    const error = await writeFileAtomic(join(dir, 'file', 'x'), 'x', { display: 'file/x' }).catch((caught: unknown) => caught);
    expect((error as FileError).message).toBe('cannot write file/x: file (or a directory above it) is not a directory');
  });
});

describe('readLocalFile', () => {
  it('refuses a FIFO without blocking, a device, a directory, and a file over the limit', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await expect(readLocalFile(join(dir, 'fifo'), { display: 'fifo' })).rejects.toThrow(/^fifo is a FIFO \(named pipe\), not a regular file/);
    await expect(readLocalFile('/dev/zero')).rejects.toThrow(/^\/dev\/zero is a character device/);
    await expect(readLocalFile(dir, { display: 'dir' })).rejects.toThrow(/^dir is a directory/);
    await writeFile(join(dir, 'big'), 'x'.repeat(2000));
    await expect(readLocalFile(join(dir, 'big'), { display: 'big', maxBytes: 1000 })).rejects.toThrow(/^big is larger than 1000 bytes/);
    expect(await readLocalFile(join(dir, 'big'), { maxBytes: 2000 })).toHaveLength(2000);
  });

  it('optional: undefined only when missing; any other problem is an error', async () => {
    expect(await readLocalFileOptional(join(dir, 'missing'))).toBeUndefined();
    await writeFile(join(dir, 'file'), '');
    await expect(readLocalFileOptional(join(dir, 'file', 'below'), { display: 'file/below' })).rejects.toThrow('cannot read file/below: a part of the path is not a directory');
  });
});

describe('ssh argv', () => {
  const base = { keyPath: '/k/id', knownHostsPath: '/c/known_hosts', command: [] };
  it('puts the host after `--` and the user in -l, and refuses values ssh could read as options', () => {
    expect(sshArgv({ ...base, node: { sshAddress: '10.0.0.5', sshPort: 22, user: 'admin' } }).slice(-4)).toEqual(['-l', 'admin', '--', '10.0.0.5']);
    for (const node of [
      { sshAddress: '-oProxyCommand=touch /tmp/owned', sshPort: 22, user: 'root' },
      { sshAddress: '10.0.0.5', sshPort: 22, user: '-oProxyCommand=x' },
      { sshAddress: '10.0.0.5\nx', sshPort: 22, user: 'root' },
      { sshAddress: 'a@b', sshPort: 22, user: 'root' },
    ]) {
      expect(() => sshArgv({ ...base, node }), JSON.stringify(node)).toThrow(UsageError);
    }
    expect(() => sshArgv({ ...base, node: { sshAddress: '10.0.0.5', sshPort: 22, user: 'root' }, bastion: { host: 'jump%h', port: 22, user: 'ops' } })).toThrow(/ssh\.bastion\.host/);
  });

  it('quotes a known_hosts path with spaces and escapes % tokens', () => {
    const argv = sshArgv({ keyPath: '/my keys/100%', knownHostsPath: '/my cluster/known_hosts', command: [], node: { sshAddress: 'h', sshPort: 22, user: 'u' } });
    expect(argv).toContain('/my keys/100%%');
    expect(argv).toContain('UserKnownHostsFile="/my cluster/known_hosts"');
  });
});

describe('strict local formats', () => {
  it('known_hosts: a malformed line names the file and line', () => {
    expect(() => parseKnownHosts('# c\n\n10.0.0.5 ssh-ed25519\n', '/c/known_hosts')).toThrow('/c/known_hosts:3: malformed known_hosts line');
    expect(() => parseKnownHosts('@bogus * ssh-ed25519 AAAA\n', 'kh')).toThrow('kh:1: malformed known_hosts line: unknown marker @bogus');
    expect(() => parseKnownHosts('h ssh-ed25519 AA$A\n', 'kh')).toThrow('kh:1: malformed known_hosts line: the key is not base64');
    expect(parseKnownHosts('h ssh-ed25519 AAAA comment here\r\n', 'kh')).toHaveLength(1);
  });

  it('durations: certificate expiries between 1h and 100 years', () => {
    expect(parseExpiry('8760h')).toBe(8760 * 3_600_000);
    expect(() => parseExpiry('0h', { field: 'x' })).toThrow(/too short/);
    expect(() => parseExpiry('876001h')).toThrow(/too long/);
    expect(() => parseDuration(`${'9'.repeat(400)}h`)).toThrow(/not a duration/);
  });

  it('state.json: syntax errors name the line, wrong types the field', () => {
    expect(() => checkStateText('{\n  "steps": {\n    x\n', '.hardway/state.json')).toThrow(/^\.hardway\/state\.json:3: invalid JSON/);
    expect(() => checkStateText('{"facts": []}', 's.json')).toThrow('s.json facts: expected record, got array');
    expect(() => checkStateText('{"steps": {}, "providerFacts": {}}', 's.json')).not.toThrow();
  });
});

describe('signals', () => {
  it('Ctrl-C exits 130 and leaves the cluster directory as it was', async () => {
    await writeFile(
      join(dir, 'cluster.yaml'),
      'name: sig\nprovider: static\ntopology: stacked\nnetwork: { nodeSubnet: 127.0.0.0/24 }\nnodes:\n  controllers:\n    hosts: [{ name: controller-0, address: 127.0.0.1, port: 1 }]\nloadBalancer: { type: none }\nssh: { keyPath: ssh/id_ed25519 }\n',
    );
    await mkdir(join(dir, 'ssh'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'ssh', 'id_ed25519')]);
    const before = (await readdir(dir, { recursive: true })).sort();
    // `hardway ssh` keeps retrying 127.0.0.1:1 (nothing listens) for 15 s: interrupt it.
    const child = spawn(process.execPath, [hardwayBin, 'ssh', 'controller-0', '--', 'true'], { cwd: dir, env: { ...process.env, CI: 'true', HOME: dir, SSH_AUTH_SOCK: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted/);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(before);
  }, 30_000);

  it('Ctrl-C during provision exits 130 and the recap names the task that was interrupted', async () => {
    // A "machine" that accepts TCP and never says a word: the hosts step waits for its SSH banner.
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    try {
      await writeFile(
        join(dir, 'cluster.yaml'),
        `name: sig\nprovider: static\ntopology: stacked\nnetwork: { nodeSubnet: 127.0.0.0/24 }\nnodes:\n  controllers:\n    hosts: [{ name: controller-0, address: 127.0.0.1, port: ${port} }]\nloadBalancer: { type: none }\nssh: { keyPath: ssh/id_ed25519 }\n`,
      );
      await mkdir(join(dir, 'ssh'));
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'ssh', 'id_ed25519')]);
      const child = spawn(process.execPath, [hardwayBin, 'provision', '--step', 'hosts', '--with-deps'], { cwd: dir, env: { ...process.env, CI: 'true', HOME: dir, SSH_AUTH_SOCK: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => void (output += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (output += chunk));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await new Promise((resolve) => setTimeout(resolve, 2500));
      child.kill('SIGINT');
      expect(await exited, output).toBe(130);
      expect(output).toMatch(/INTERRUPTED \[step hosts, node controller-0, task "[^"]+"\]\n {2}interrupted while this task ran/);
      expect(output).not.toMatch(/^\s+at /m);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 30_000);
});
