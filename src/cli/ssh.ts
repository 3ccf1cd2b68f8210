// `hardway ssh NODE [-- CMD]`: OpenSSH's own `ssh` with the cluster's key, user, port, bastion and
// pinned known_hosts, so the command it runs is the one a person would type, and prints it.
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AlreadyReported, PrerequisiteError, UsageError } from '../errors.ts';
import { type Node } from '../inventory/node.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import { fingerprint } from '../transport/known-hosts.ts';
import { resolveKeyPath } from '../transport/auth.ts';
import { createSshPool } from '../transport/pool.ts';
import { shellJoin } from '../transport/shell.ts';
import { globalOptions, openCluster, type CliIO } from './common.ts';

/** What the ssh command line is built from. */
export interface SshArgvInput {
  node: Pick<Node, 'sshAddress' | 'sshPort' | 'user'>;
  /** Absolute key path, or undefined to use only the agent. */
  keyPath: string | undefined;
  knownHostsPath: string;
  bastion?: NonNullable<ClusterSpec['ssh']['bastion']>;
  command: readonly string[];
}

/**
 * Why: one pure function for the argv, tested on its own. The bastion is a ProxyCommand rather than
 * -J, because options given on the command line do not apply to -J's jump host: this way the jump
 * uses the same key and the same pinned known_hosts.
 */
export function sshArgv(input: SshArgvInput): string[] {
  // The spec validates these; checked again here because an argv is the last place a value that
  // starts with "-" could still become an option of ssh, or a "%" a token of ProxyCommand.
  assertSshWord('user', input.node.user);
  assertSshWord('address', input.node.sshAddress);
  if (input.bastion) {
    assertSshWord('ssh.bastion.user', input.bastion.user);
    assertSshWord('ssh.bastion.host', input.bastion.host);
  }
  const common = [
    ...(input.keyPath ? ['-i', sshPathToken(input.keyPath), '-o', 'IdentitiesOnly=yes'] : []),
    '-o',
    `UserKnownHostsFile=${sshConfigPath(input.knownHostsPath)}`,
    '-o',
    'StrictHostKeyChecking=yes',
  ];
  const argv = [...common, '-p', String(input.node.sshPort)];
  if (input.bastion) {
    const jump = shellJoin(['ssh', ...common, '-p', String(input.bastion.port), '-W', '%h:%p', '-l', input.bastion.user, '--', input.bastion.host]);
    argv.push('-o', `ProxyCommand=${jump}`);
  }
  // `-l USER -- HOST`: after `--` nothing from the spec can be read as an option.
  argv.push('-l', input.node.user, '--', input.node.sshAddress, ...input.command);
  return argv;
}

/** ssh expands `%` tokens in IdentityFile and UserKnownHostsFile: a literal `%` is `%%`. */
function sshPathToken(path: string): string {
  return path.replaceAll('%', '%%');
}

/** In an `-o Key=value`, whitespace separates several files: a path with spaces is double-quoted. */
function sshConfigPath(path: string): string {
  const token = sshPathToken(path);
  return /\s/.test(token) ? `"${token}"` : token;
}

/** A user or host for ssh's argv: non-empty, no leading "-", no whitespace, "%", "@" or control characters. */
function assertSshWord(what: string, value: string): void {
  if (!value || value.startsWith('-') || /[\s%@'"\\\u0000-\u001f\u007f]/.test(value)) {
    throw new UsageError(`refusing to run ssh: the ${what} ${JSON.stringify(value.slice(0, 80))} is not a plain user or host name`, {
      hint: 'Fix it in cluster.yaml (hardway validate says which field), or in .hardway/state.json if the provider recorded it.',
    });
  }
}

/** Why: a person debugging a node needs the same key, user, bastion and host keys hardway uses. */
export function registerSshCommand(program: Command, io: CliIO): void {
  program
    .command('ssh')
    .description("open a shell on a node (or run CMD) with the cluster's SSH key, user, bastion and pinned host keys")
    .argument('<node>', 'the node, e.g. controller-0 or etcd-1')
    .argument('[command...]', 'a command to run instead of a shell; put it after --')
    .addHelpText('after', '\nExamples:\n  hardway ssh controller-0\n  hardway ssh etcd-0 -- journalctl -u etcd --no-pager -n 50')
    .action(async (nodeName: string, command: string[], _options: unknown, self: Command) => {
      const cluster = await openCluster(globalOptions(self), io);
      const nodes = cluster.inventory.nodes;
      const node = nodes.byName(nodeName);
      if (!node) throw new UsageError(`no node named ${/^[\w.-]{1,80}$/.test(nodeName) ? nodeName : JSON.stringify(nodeName.slice(0, 80))} in this cluster; nodes: ${nodes.names().join(', ') || '(none)'}`);
      if (!node.sshAddress) throw new UsageError(`${node.name} has no SSH address yet`, { hint: 'The infra step records it: run `hardway provision --step infra`.' });

      const { ssh } = cluster.spec;
      const knownHostsPath = join(cluster.clusterDir, 'known_hosts');
      const keyFile = resolveKeyPath(cluster.clusterDir, ssh.keyPath);
      const keyExists = await access(keyFile).then(
        () => true,
        () => false,
      );
      if (!keyExists && !ssh.agent) throw new PrerequisiteError(`the SSH key ${keyFile} does not exist`, { hint: 'Point ssh.keyPath at your private key, or set ssh.agent: true.' });

      // First contact: pin the key(s) the way a run does, so OpenSSH can check strictly.
      // A person is waiting: retry a booting host briefly, not for the two minutes a run allows.
      const pool = createSshPool({ clusterDir: cluster.clusterDir, ssh, env: io.env, knownHostsPath, retry: { totalMs: 15_000, authMs: 10_000 } });
      const pinned = async () =>
        (await pool.knownHosts.keysFor(node.sshAddress, node.sshPort)).length > 0 &&
        (!ssh.bastion || (await pool.knownHosts.keysFor(ssh.bastion.host, ssh.bastion.port)).length > 0);
      if (!(await pinned())) {
        try {
          await pool.get(node);
        } finally {
          await pool.closeAll();
        }
        const keys = await pool.knownHosts.keysFor(node.sshAddress, node.sshPort);
        io.stderr(`Pinned the host key of ${node.name} in ${knownHostsPath}: ${keys.map(fingerprint).join(', ')}\n`);
      }

      const argv = sshArgv({ node, keyPath: keyExists ? keyFile : undefined, knownHostsPath, bastion: ssh.bastion, command });
      if (globalOptions(self).verbose) io.stderr(`${shellJoin(['ssh', ...argv])}\n`);
      const code = await runSsh(argv, command.length > 0, io);
      if (code !== 0) throw new AlreadyReported(code);
    });
}

/** Interactive: the terminal goes to ssh. With a command: its output goes through io (tests, pipes). */
function runSsh(argv: string[], piped: boolean, io: CliIO): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', argv, { stdio: piped ? ['inherit', 'pipe', 'pipe'] : 'inherit', env: io.env });
    if (piped) {
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => io.stdout(chunk));
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => io.stderr(chunk));
    }
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new PrerequisiteError('the OpenSSH client `ssh` is not installed', { hint: 'Install it (Debian: apt-get install openssh-client).' }) : error),
    );
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
