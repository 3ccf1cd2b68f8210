// encryption-config.yaml for kube-apiserver's --encryption-provider-config: Secrets encrypted at
// rest with aescbc and a random 32-byte key, identity last so existing plain data stays readable.
import { randomBytes } from 'node:crypto';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import { SpecError } from '../errors.ts';
import { issueMessage } from '../spec/load.ts';

/** In the cluster directory, beside cluster.yaml (DESIGN §2). */
export const ENCRYPTION_CONFIG_FILE = 'encryption-config.yaml';

/** Why: the key is made here and only written to the file; callers never log the returned text. */
export function renderEncryptionConfig(key: Buffer = randomBytes(32)): string {
  return stringify({
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'EncryptionConfiguration',
    resources: [
      {
        resources: ['secrets'],
        providers: [{ aescbc: { keys: [{ name: 'key1', secret: key.toString('base64') }] } }, { identity: {} }],
      },
    ],
  });
}

const base64Key = (sizes: number[]) =>
  z.string().refine((value) => /^[A-Za-z0-9+/]+={0,2}$/.test(value) && sizes.includes(Buffer.from(value, 'base64').length), {
    message: `must be the base64 of a ${sizes.join(', ')}-byte key`,
  });

const keyList = (sizes: number[]) => z.object({ keys: z.array(z.object({ name: z.string().min(1), secret: base64Key(sizes) })).min(1) });

const provider = z.object({
  aescbc: keyList([16, 24, 32]).optional(),
  aesgcm: keyList([16, 24, 32]).optional(),
  secretbox: keyList([32]).optional(),
  identity: z.object({}).nullish(),
  kms: z.unknown().optional(),
});

const encryptionConfigSchema = z.object({
  apiVersion: z.literal('apiserver.config.k8s.io/v1'),
  kind: z.literal('EncryptionConfiguration'),
  resources: z.array(z.object({ resources: z.array(z.string()).min(1), providers: z.array(provider).min(1) })).min(1),
});

/** Validate an existing file without ever quoting a key in the error. */
export function checkEncryptionConfig(text: string, file: string): void {
  const hint = `Fix ${file}, or move it aside to have hardway make a new one (Secrets written with the old key then become unreadable).`;
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, lineCounter });
  if (document.errors.length) {
    const first = document.errors[0]!;
    const line = lineCounter.linePos(first.pos[0]).line;
    throw new SpecError(`${file}${line ? `:${line}` : ''}: invalid YAML: ${first.message.split('\n')[0]}`, { file, line }, { hint });
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 20 });
  } catch {
    throw new SpecError(`${file}: invalid YAML: too many aliases`, { file }, { hint });
  }
  const result = encryptionConfigSchema.safeParse(value, { reportInput: true });
  if (result.success) return;
  const issue = result.error.issues[0];
  const field = issue?.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('').replace(/^\./, '') ?? '';
  // Never quote the input: it may be a key.
  const message = issue ? (issue.code === 'invalid_type' ? issueMessage({ ...issue, input: typeof issue.input === 'string' ? '' : issue.input }) : issue.message) : 'invalid';
  throw new SpecError(`${file}${field ? ` ${field}` : ''}: ${message}`, { file, field: field || undefined }, { hint });
}
