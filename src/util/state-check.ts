// The shape of .hardway/state.json as far as commands trust it. The engine owns the file; this is
// the gate every command passes before reading it, so an edited or truncated state is an error
// naming the file and field, not a "Cannot read properties of null" later.
import { z } from 'zod';
import { SpecError } from '../errors.ts';
import { fieldPath, issueMessage } from '../spec/load.ts';
import { dnsName, hostAddress } from '../spec/safe-strings.ts';

const record = <T extends z.ZodType>(value: T) => z.record(z.string(), value);

const stepRecord = z.looseObject({
  status: z.enum(['done', 'failed']),
  at: z.string(),
  changed: z.number(),
});

const stateSchema = z.looseObject({
  version: z.literal(1, { message: 'must be 1 (this hardway reads state version 1)' }).optional(),
  cluster: z.string().optional(),
  steps: record(record(stepRecord)).optional(),
  providerFacts: z
    .looseObject({
      // These reach ssh's argv and the API server certificate: validated like the spec's own.
      sshAddresses: record(hostAddress).optional(),
      loadBalancerDNSName: dnsName.optional(),
    })
    .optional(),
  provider: record(z.unknown()).optional(),
  facts: record(record(z.unknown())).optional(),
  operations: record(z.unknown()).optional(),
  owedHandlers: record(record(z.array(z.string()))).optional(),
  artifactsDir: z.string().optional(),
});

const HINT = 'Restore it from a backup, or move it aside to start over (provisioned machines are found again by the provider).';

/** Throws a SpecError naming the file, line (for JSON syntax) and field. */
export function checkStateText(text: string, file: string): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message)?.[1];
    const line = position === undefined ? undefined : text.slice(0, Number(position)).split('\n').length;
    throw new SpecError(`${file}${line ? `:${line}` : ''}: invalid JSON (${message})`, { file, line }, { hint: HINT });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SpecError(`${file}: must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`, { file }, { hint: HINT });
  }
  const result = stateSchema.safeParse(value, { reportInput: true });
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const field = fieldPath(issue.path);
  throw new SpecError(`${file} ${field}: ${issueMessage(issue)}`, { file, field }, { hint: HINT });
}
