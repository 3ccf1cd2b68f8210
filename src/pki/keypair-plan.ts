// The service-account key pair's plan: the private key is the source of truth; the public half
// (a public key PEM, or a certificate as Kubernetes the Hard Way makes it) follows it.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { SpecError } from '../errors.ts';
import type { CatalogEntry } from './catalog.ts';
import { readPrivateKey } from './keys.ts';
import type { CertPlan, PkiEnv } from './plan-types.ts';
import { displayPath, pkiFiles, readOptional } from './store.ts';

/** The service-account key pair: the private key is the source; the public half follows it. */
export async function planKeyPair(env: PkiEnv, entry: CatalogEntry): Promise<Pick<CertPlan, 'action' | 'reason'>> {
  const keyFile = pkiFiles.key(entry.name);
  const [keyPem, publicPem] = await Promise.all([readOptional(env.clusterDir, keyFile), readOptional(env.clusterDir, pkiFiles.cert(entry.name))]);
  if (keyPem === undefined) return { action: 'create-keypair', reason: 'create: missing' };
  let key: KeyObject;
  try {
    key = readPrivateKey(keyPem);
  } catch (error) {
    throw new SpecError(`${displayPath(env.clusterDir, keyFile)} is not a readable unencrypted PEM private key (${(error as Error).message})`, { file: displayPath(env.clusterDir, keyFile) }, {
      hint: 'Restore it from a backup, or delete it and its .pem to make a new pair (tokens signed with the old key stop being valid).',
    });
  }
  if (publicPem === undefined) return { action: 'write-public-key', reason: `write ${pkiFiles.cert(entry.name)}: missing` };
  if (!publicMatches(publicPem, key)) return { action: 'write-public-key', reason: `rewrite ${pkiFiles.cert(entry.name)}: it does not match the key` };
  return { action: 'reuse', reason: 'using existing' };
}

/** A public key PEM, or a certificate (as Kubernetes the Hard Way makes it), matching the key. */
function publicMatches(publicPem: string, key: KeyObject): boolean {
  try {
    const have = createPublicKey(publicPem).export({ type: 'spki', format: 'der' });
    const want = createPublicKey(key).export({ type: 'spki', format: 'der' });
    return have.equals(want);
  } catch {
    return false;
  }
}

