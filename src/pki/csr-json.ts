// cfssl's CSR JSON (`pki/<name>-csr.json`), both ways: rendered from the catalogue so a learner
// can read and edit it, and read back (hardway's or cfssl-made) to decide what is issued.
import { isIP } from 'node:net';
import { z } from 'zod';
import { SpecError } from '../errors.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import type { CatalogEntry } from './catalog.ts';
import { parseExpiry } from './duration.ts';
import { formatJson, parseJsonFile } from './json-file.ts';

/** A subject attribute: bounded, no control characters (a newline in a subject misleads every reader). */
const subjectText = z
  .string()
  .max(64, { message: 'must be at most 64 characters (the X.509 upper bound)' })
  .refine((value) => !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(value), { message: 'must not contain newlines or other control characters' });

const nameSchema = z.object({
  C: subjectText.optional(),
  ST: subjectText.optional(),
  L: subjectText.optional(),
  O: subjectText.optional(),
  OU: subjectText.optional(),
});

/** The fields cfssl reads; unknown fields are ignored, as cfssl ignores them. */
export const csrJsonSchema = z.object({
  CN: subjectText.min(1, { message: 'must name the certificate (CN)' }),
  hosts: z
    .array(z.string().min(1, { message: 'must not be empty' }).max(253, { message: 'must be at most 253 characters' }))
    .max(1000, { message: 'must list at most 1000 names' })
    .nullish()
    .transform((hosts) => hosts ?? []),
  key: z
    .object({
      algo: z.literal('rsa', { message: 'must be "rsa": node-forge signs RSA certificates only' }),
      size: z.number().int().min(2048, { message: 'must be at least 2048' }).max(8192, { message: 'must be at most 8192' }),
    })
    .optional(),
  names: z.array(nameSchema).max(16, { message: 'must list at most 16 names' }).default([]),
  ca: z.object({ expiry: z.string().optional(), pathlen: z.number().int().optional() }).optional(),
});

export type CsrJson = z.output<typeof csrJsonSchema>;
export type SubjectName = z.output<typeof nameSchema>;

/** What a CSR JSON asks for, in the terms the issuer needs. */
export interface CertRequest {
  cn: string;
  names: SubjectName[];
  hosts: string[];
  keySize: number;
  /** CA only: the `ca.expiry` of the CSR JSON, in ms. */
  caExpiryMs?: number;
}

const HINT = 'Fix the file (it uses cfssl\'s CSR JSON format), or delete it and hardway writes it again from cluster.yaml.';

/** Why: the CSR JSON is the editable, cfssl-compatible record of what a certificate should say. */
export function renderCsrJson(entry: CatalogEntry, spec: ClusterSpec): string {
  const names = { ...spec.pki.names, ...(entry.organization ? { O: entry.organization } : {}) };
  const value: Record<string, unknown> = {
    CN: entry.cn,
    hosts: entry.hosts,
    key: { algo: 'rsa', size: spec.pki.keySize },
    names: [orderedName(names)],
  };
  if (entry.kind === 'ca') value.ca = { expiry: spec.pki.caExpiry };
  return formatJson(value);
}

/** Read a CSR JSON (hardway's or cfssl-made); throws SpecError naming the file and field. */
export function parseCsrJson(text: string, file: string, defaultKeySize: number): CertRequest {
  const parsed = parseJsonFile(csrJsonSchema, text, file, HINT);
  for (const [index, host] of parsed.hosts.entries()) {
    if (isIP(host) === 0 && !/^[A-Za-z0-9*]([-A-Za-z0-9.*]*[A-Za-z0-9])?$/.test(host)) {
      throw new SpecError(`${file} hosts[${index}]: "${host}" is neither an IP address nor a DNS name`, { file, field: `hosts[${index}]` }, { hint: HINT });
    }
  }
  const request: CertRequest = { cn: parsed.CN, names: parsed.names, hosts: parsed.hosts, keySize: parsed.key?.size ?? defaultKeySize };
  if (parsed.ca?.expiry) request.caExpiryMs = parseExpiry(parsed.ca.expiry, { file, field: 'ca.expiry' });
  return request;
}

/** C, ST, L, O, OU: the order Go (and so cfssl) writes a subject in. */
function orderedName(name: SubjectName): SubjectName {
  const ordered: SubjectName = {};
  for (const key of ['C', 'ST', 'L', 'O', 'OU'] as const) if (name[key]) ordered[key] = name[key];
  return ordered;
}
