// Parse a JSON input file a person may have edited (CSR JSON, ca-config.json) with zod, and turn
// every problem into a SpecError that names the file and the field.
import type { z } from 'zod';
import { SpecError } from '../errors.ts';
import { issueMessage } from '../spec/load.ts';

/** Why: a typo in pki/admin-csr.json must say which file and which field, not "invalid input". */
export function parseJsonFile<Schema extends z.ZodType>(schema: Schema, text: string, file: string, hint: string): z.output<Schema> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SpecError(`${file}: invalid JSON: ${(error as Error).message}`, { file }, { hint });
  }
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue ? issue.path.map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index ? '.' : ''}${String(key)}`)).join('') : '';
  const message = issue ? issueMessage(issue) : 'invalid';
  throw new SpecError(`${file}${field ? ` ${field}` : ''}: ${message}`, { file, field: field || undefined }, { hint });
}

/** The text hardway writes: two-space indent and a final newline, as cfssl's examples are laid out. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
