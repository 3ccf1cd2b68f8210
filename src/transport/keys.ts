// The cluster's SSH key: generated once (lab) as an OpenSSH ed25519 pair beside cluster.yaml,
// private half 0600 in a 0700 directory; other providers point ssh.keyPath at an existing key.
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ssh2Library } from './ssh2-library.ts';
import { PrerequisiteError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

export interface SshKey {
  privateKeyPath: string;
  /** The OpenSSH public key line, for authorized_keys and EC2 key pairs. */
  publicKey: string;
}

/** Why: the lab needs a key nobody has to make by hand; existing keys are never overwritten. */
export async function ensureSshKey(privateKeyPath: string, comment: string): Promise<SshKey> {
  const existing = await readSshKey(privateKeyPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing) return existing;
  const pair = usableKeyPair(comment);
  await mkdir(dirname(privateKeyPath), { recursive: true, mode: 0o700 });
  await writeFileAtomic(privateKeyPath, pair.private, { mode: 0o600 });
  await writeFileAtomic(`${privateKeyPath}.pub`, `${pair.public}\n`, { mode: 0o644 });
  return { privateKeyPath, publicKey: pair.public.trim() };
}

/**
 * ssh2's ed25519 key generation strips leading zero bytes of the public key, so about 1 pair in
 * 256 is one its own parser (and OpenSSH) refuses as malformed (mscdex/ssh2#1390, #1513): such a
 * pair is thrown away and another made.
 */
function usableKeyPair(comment: string): { private: string; public: string } {
  for (let attempt = 0; ; attempt++) {
    const pair = ssh2Library().utils.generateKeyPairSync('ed25519', { comment });
    const parsed = [ssh2Library().utils.parseKey(pair.private), ssh2Library().utils.parseKey(pair.public)];
    if (parsed.every((key) => key && !(key instanceof Error))) return pair;
    if (attempt >= 20) throw new Error(`ssh2 made ${attempt + 1} unusable ed25519 key pairs in a row`);
  }
}

/** Read a key pair; the public half comes from `<key>.pub` or is derived from the private key. */
export async function readSshKey(privateKeyPath: string): Promise<SshKey> {
  const privateKey = await readFile(privateKeyPath);
  await chmod(privateKeyPath, 0o600).catch(() => undefined);
  const publicText = await readFile(`${privateKeyPath}.pub`, 'utf8').catch(() => undefined);
  if (publicText) return { privateKeyPath, publicKey: publicText.trim() };
  const parsed = ssh2Library().utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) {
    throw new PrerequisiteError(`${privateKeyPath}: not a usable SSH private key${key instanceof Error ? ` (${key.message})` : ''}`, {
      hint: 'Point ssh.keyPath at an unencrypted OpenSSH private key, or use ssh.agent: true.',
    });
  }
  return { privateKeyPath, publicKey: `${key.type} ${key.getPublicSSH().toString('base64')}` };
}
