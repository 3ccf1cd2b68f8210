// hardway's record of the JSON inputs it wrote (sha256 per file), in .hardway/pki-generated.json.
// A file whose content still matches the record is hardway's and follows cluster.yaml; one that
// differs was edited by a person (or made by cfssl) and is honoured as written.
import { z } from 'zod';
import { formatJson } from './json-file.ts';
import { pkiFiles, readOptional, sha256, writeClusterFile } from './store.ts';

const recordSchema = z.object({ version: z.literal(1), files: z.record(z.string(), z.string()) });

export type GeneratedRecord = z.output<typeof recordSchema>;

/** Why: without it, a spec change and a person's edit look the same. A bad record counts as empty. */
export async function readGeneratedRecord(clusterDir: string): Promise<GeneratedRecord> {
  const text = await readOptional(clusterDir, pkiFiles.generatedRecord);
  if (text === undefined) return { version: 1, files: {} };
  try {
    return recordSchema.parse(JSON.parse(text));
  } catch {
    return { version: 1, files: {} };
  }
}

/** Record what was written (file -> content); rewrites the record only when it changes. */
export async function updateGeneratedRecord(clusterDir: string, written: Record<string, string>): Promise<void> {
  const current = await readGeneratedRecord(clusterDir);
  const files = { ...current.files };
  for (const [file, text] of Object.entries(written)) files[file] = sha256(text);
  const next = formatJson({ version: 1, files: Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) });
  if (next !== formatJson(current)) await writeClusterFile(clusterDir, pkiFiles.generatedRecord, next, 0o600);
}
