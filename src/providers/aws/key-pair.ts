// The EC2 key pair: the public half of ssh.keyPath imported once as `hardway-NAME`. A tag holds
// the key's hash, so a key pair that holds another key is reported instead of silently used.
import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';
import { DescribeKeyPairsCommand, ImportKeyPairCommand, type KeyPairInfo } from '@aws-sdk/client-ec2';
import { isAbsolute, relative } from 'node:path';
import { PrerequisiteError, TaskError } from '../../errors.ts';
import type { PlannedResource } from '../provider.ts';
import { sshKeyPath } from '../../spec/paths.ts';
import { ensureSshKey, readSshKey, type SshKey } from '../../transport/keys.ts';
import { awsErrorCode } from './errors.ts';
import { noteCreated, noteFound, recordAwsIds, single, type AwsRun } from './run.ts';
import { clusterFilters, resourceTags, tagSpecifications, tagValue, TAG_CLUSTER, TAG_KEY_SHA } from './tags.ts';

/** Where the cluster's SSH key is, and whether hardway may make it (only inside the cluster directory). */
export function sshKeyLocation(run: AwsRun): { path: string; mayGenerate: boolean } {
  const path = sshKeyPath(run.spec, run.ctx.clusterDir);
  const inside = relative(run.ctx.clusterDir, path);
  return { path, mayGenerate: !inside.startsWith('..') && !isAbsolute(inside) };
}

/** Why: plan and a new cluster's dry run say the same of the key: nothing when it exists, else who makes it. */
export async function planSshKey(run: AwsRun): Promise<PlannedResource | undefined> {
  const { path, mayGenerate } = sshKeyLocation(run);
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists) return undefined;
  return mayGenerate
    ? { action: 'create', text: `create ssh key ${run.spec.ssh.keyPath} (ed25519)` }
    : { action: 'missing', text: `missing ssh key ${path}: create it first (ssh-keygen -t ed25519 -f ${path})` };
}

/** The key whose public half becomes the key pair: made beside cluster.yaml if missing, never elsewhere. */
export async function loadSshKey(run: AwsRun): Promise<SshKey> {
  const { path, mayGenerate } = sshKeyLocation(run);
  if (mayGenerate) return ensureSshKey(path, `hardway-${run.cluster}`);
  try {
    return await readSshKey(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new PrerequisiteError(`the SSH key ${path} (ssh.keyPath) does not exist`, {
      hint: `Create it (\`ssh-keygen -t ed25519 -f ${path}\`), or leave ssh.keyPath out and hardway makes one in the cluster directory.`,
      cause: error,
    });
  }
}

export function keyPairName(cluster: string): string {
  return `hardway-${cluster}`;
}

/** sha256 of the key's type and base64 blob, ignoring the comment. */
export function publicKeyHash(publicKey: string): string {
  const [type = '', blob = ''] = publicKey.trim().split(/\s+/);
  return createHash('sha256').update(`${type} ${blob}`).digest('hex').slice(0, 32);
}

export async function findKeyPair(run: AwsRun): Promise<KeyPairInfo | undefined> {
  const out = await run.api.ec2(new DescribeKeyPairsCommand({ Filters: clusterFilters(run.cluster, 'key-pair') }));
  return single(run, 'key pair', out.KeyPairs, (pair) => pair.KeyName);
}

/** Why: instances are launched with this key so `hardway ssh` and every step can log in. */
export async function ensureKeyPair(run: AwsRun, publicKey: string, keyPath: string): Promise<string> {
  const hash = publicKeyHash(publicKey);
  const existing = await findKeyPair(run);
  if (existing?.KeyName) {
    const recorded = tagValue(existing.Tags, TAG_KEY_SHA);
    if (recorded && recorded !== hash) {
      throw new TaskError(`EC2 key pair ${existing.KeyName} holds another public key than ${keyPath}.pub`, { field: 'ssh.keyPath' }, {
        hint: `Point ssh.keyPath back at the key the cluster was made with, or delete the key pair (\`aws ec2 delete-key-pair --key-name ${existing.KeyName}\`) and rebuild the nodes.`,
      });
    }
    noteFound(run, 'key-pair', existing.KeyName);
    await recordAwsIds(run, { keyPairName: existing.KeyName });
    return existing.KeyName;
  }
  const name = keyPairName(run.cluster);
  try {
    await run.api.ec2(
      new ImportKeyPairCommand({
        KeyName: name,
        PublicKeyMaterial: new TextEncoder().encode(publicKey.trim()),
        TagSpecifications: tagSpecifications(['key-pair'], resourceTags(run.cluster, 'key-pair', name, { [TAG_KEY_SHA]: hash })),
      }),
    );
  } catch (error) {
    if (awsErrorCode(error) !== 'InvalidKeyPair.Duplicate') throw error;
    throw new TaskError(`an EC2 key pair named ${name} exists but is not tagged ${TAG_CLUSTER}=${run.cluster}`, {}, {
      hint: `It was not made by hardway for this cluster. Delete it (\`aws ec2 delete-key-pair --key-name ${name}\`) or rename the cluster.`,
      cause: error,
    });
  }
  noteCreated(run, 'key-pair', name);
  await recordAwsIds(run, { keyPairName: name });
  return name;
}
