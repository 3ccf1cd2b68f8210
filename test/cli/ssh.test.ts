// `hardway ssh` runs the real OpenSSH client against a real sshd on 127.0.0.1, through commander.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { registerSshCommand, sshArgv } from '../../src/cli/ssh.ts';
import type { CliIO } from '../../src/cli/common.ts';
import { AlreadyReported, UsageError } from '../../src/errors.ts';
import { startSshd, type Sshd } from '../helpers/sshd.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: Parameters<typeof startSshd>[0] = {}): Promise<Sshd> {
  const sshd = await startSshd(options);
  cleanups.push(() => sshd.stop());
  return sshd;
}

async function cluster(sshd: Sshd, bastion?: Sshd): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hardway-ssh-cli-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'cluster.yaml');
  await writeFile(
    file,
    [
      'name: sshtest',
      'provider: static',
      'topology: stacked',
      'network: { nodeSubnet: 127.0.0.0/24 }',
      'nodes:',
      '  controllers:',
      `    hosts: [{ name: controller-0, address: 127.0.0.1, port: ${sshd.port} }]`,
      'loadBalancer: { type: none }',
      `ssh: { keyPath: ${sshd.keyPath}${bastion ? `, bastion: { host: 127.0.0.1, port: ${bastion.port} }` : ''} }`,
      '',
    ].join('\n'),
  );
  return file;
}

async function hardwaySsh(args: string[]): Promise<{ stdout: string; stderr: string; error?: unknown }> {
  const out = { stdout: '', stderr: '' };
  const io: CliIO = { stdout: (text) => void (out.stdout += text), stderr: (text) => void (out.stderr += text), isTTY: false, env: process.env };
  const program = new Command('hardway').option('-c, --config <path>', 'the cluster spec', './cluster.yaml').option('--verbose', 'logs', false).exitOverride();
  registerSshCommand(program, io);
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(args, { from: 'user' });
    return out;
  } catch (error) {
    return { ...out, error };
  }
}

describe('sshArgv', () => {
  it('is what a person would type, with a ProxyCommand that uses the same key and known_hosts', () => {
    expect(sshArgv({ node: { sshAddress: '10.0.0.5', sshPort: 22, user: 'admin' }, keyPath: '/k/id', knownHostsPath: '/c/known_hosts', command: ['journalctl', '-u', 'etcd'] })).toEqual([
      ...['-i', '/k/id', '-o', 'IdentitiesOnly=yes', '-o', 'UserKnownHostsFile=/c/known_hosts', '-o', 'StrictHostKeyChecking=yes', '-p', '22'],
      ...['-l', 'admin', '--', '10.0.0.5'],
      'journalctl',
      '-u',
      'etcd',
    ]);
    const viaBastion = sshArgv({ node: { sshAddress: '10.0.0.5', sshPort: 22, user: 'root' }, keyPath: undefined, knownHostsPath: '/my cluster/known_hosts', bastion: { host: 'jump', port: 2222, user: 'ops' }, command: [] });
    expect(viaBastion).toContain(`ProxyCommand=ssh -o 'UserKnownHostsFile="/my cluster/known_hosts"' -o StrictHostKeyChecking=yes -p 2222 -W %h:%p -l ops -- jump`);
    expect(viaBastion).not.toContain('-i');
  });
});

describe('hardway ssh', () => {
  it('pins the host key on first contact, runs the command, and passes the exit code through', async () => {
    const sshd = await server();
    const file = await cluster(sshd);
    const first = await hardwaySsh(['-c', file, 'ssh', 'controller-0', '--', 'echo', 'hello from', '$(hostname)']);
    expect(first.error).toBeUndefined();
    expect(first.stdout.split('\n')[0]).toMatch(/^hello from \S+$/);
    expect(first.stderr).toMatch(/^Pinned the host key of controller-0 in .*known_hosts: SHA256:\S+\n/);
    expect(await readFile(join(file, '..', 'known_hosts'), 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`);

    const second = await hardwaySsh(['-c', file, 'ssh', 'controller-0', '--', 'echo oops >&2; exit 3']);
    expect(second.stderr).toBe('oops\n');
    expect(second.error).toBeInstanceOf(AlreadyReported);
    expect((second.error as AlreadyReported).exitCode).toBe(3);
  });

  it('refuses a changed host key (OpenSSH checks the pinned file strictly)', async () => {
    const sshd = await server();
    const file = await cluster(sshd);
    await writeFile(join(file, '..', 'known_hosts'), `[127.0.0.1]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINKGY7ZADrQXF2NRZc5U7kqCeyM6URXNMfH8rGbl6Nz/\n`);
    const result = await hardwaySsh(['-c', file, 'ssh', 'controller-0', '--', 'true']);
    expect((result.error as AlreadyReported).exitCode).toBe(255);
    expect(result.stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
  });

  it('goes through the bastion with the same key and pinned keys', async () => {
    const target = await server();
    const bastion = await server({ clientKeyPath: target.keyPath, extraConfig: [`PermitOpen 127.0.0.1:${target.port}`] });
    const file = await cluster(target, bastion);
    const result = await hardwaySsh(['-c', file, 'ssh', 'controller-0', '--', 'echo', 'behind the bastion']);
    expect(result.error).toBeUndefined();
    expect(result.stdout).toBe('behind the bastion\n');
    const knownHosts = await readFile(join(file, '..', 'known_hosts'), 'utf8');
    expect(knownHosts).toContain(`[127.0.0.1]:${bastion.port} ${bastion.hostKey}`);
    expect(knownHosts).toContain(`[127.0.0.1]:${target.port} ${target.hostKey}`);
  });

  it('names the nodes when the node is unknown', async () => {
    const sshd = await server();
    const result = await hardwaySsh(['-c', await cluster(sshd), 'ssh', 'etcd-9']);
    expect(result.error).toBeInstanceOf(UsageError);
    expect((result.error as Error).message).toBe('no node named etcd-9 in this cluster; nodes: controller-0');
  });
});
