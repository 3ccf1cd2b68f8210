// How the pool authenticates: the cluster's key file (from ssh.keyPath, `~/` allowed) and/or the
// ssh-agent, with a clear exit-3 error when neither can be used.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { PrerequisiteError } from '../errors.ts';
import { resolveSpecPath } from '../spec/paths.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import type { SessionAuth } from './session-types.ts';
import { privateKeyProblem } from './ssh.ts';

export function resolveKeyPath(clusterDir: string, keyPath: string, home = homedir()): string {
  return resolveSpecPath(clusterDir, keyPath, home);
}

/** What authentication needs of the pool's options. */
export interface AuthOptions {
  clusterDir: string;
  /** The spec's `ssh` section: key and agent (pool.ts adds the bastion). */
  ssh: Pick<ClusterSpec['ssh'], 'keyPath' | 'agent'>;
  /** For SSH_AUTH_SOCK (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Why: the key or agent is read once per pool, and a passphrase-protected key says what to do. */
export async function loadAuth(options: AuthOptions): Promise<SessionAuth> {
  const keyPath = resolveKeyPath(options.clusterDir, options.ssh.keyPath);
  const env = options.env ?? process.env;
  const agent = options.ssh.agent ? env.SSH_AUTH_SOCK : undefined;
  if (options.ssh.agent && !agent) {
    throw new PrerequisiteError('ssh.agent is true but SSH_AUTH_SOCK is not set', { hint: 'Start an agent (eval "$(ssh-agent)"; ssh-add KEY) or set ssh.agent: false and point ssh.keyPath at a key.' });
  }
  const privateKey = await readFile(keyPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' && agent) return undefined;
    throw new PrerequisiteError(`cannot read the SSH key ${keyPath} (${error.code ?? error.message})`, {
      hint: 'The lab provider creates it; for aws and static clusters point ssh.keyPath at your private key, or use ssh.agent: true.',
      cause: error,
    });
  });
  const problem = privateKey && privateKeyProblem(privateKey);
  if (problem) {
    if (agent) return { agent };
    throw new PrerequisiteError(`the SSH key ${keyPath} cannot be used: ${problem}`, {
      hint: /passphrase|encrypted/i.test(problem) ? 'Load it into ssh-agent (ssh-add) and set ssh.agent: true.' : 'Point ssh.keyPath at an OpenSSH private key.',
    });
  }
  return { privateKey, agent };
}

