// hardway's record of the JSON inputs it wrote (sha256 per file), in .hardway/pki-generated.json.
// A file whose content still matches the record is hardway's and follows cluster.yaml; one that
// differs was edited by a person (or made by cfssl) and is honoured as written.
import { z } from 'zod';
import { formatJson } from './json-file.ts';
import { FileError } from '../errors.ts';
import { displayPath, pkiFiles, readOptional, writeClusterFile } from './store.ts';
import { sha256Buffer } from '../artifacts/checksum.ts';

const recordSchema = z.object({ version: z.literal(1), files: z.record(z.string(), z.string()) });

export type GeneratedRecord = z.output<typeof recordSchema>;

/** Why: without it, a spec change and a person's edit look the same. A bad record is an error, never rewritten. */
export async function readGeneratedRecord(clusterDir: string): Promise<GeneratedRecord> {
  const text = await readOptional(clusterDir, pkiFiles.generatedRecord);
  if (text === undefined) return { version: 1, files: {} };
  try {
    return recordSchema.parse(JSON.parse(text));
  } catch (error) {
    const shown = displayPath(clusterDir, pkiFiles.generatedRecord);
    throw new FileError(`${shown} is not hardway's record of the pki JSON files it wrote (${error instanceof SyntaxError ? error.message : 'expected {"version": 1, "files": {...}}'})`, shown, {
      hint: 'Remove it to start a new record: hardway then honours every pki/*.json as written by you.',
      cause: error,
    });
  }
}

/** Record what was written (file -> content); rewrites the record only when it changes. */
export async function updateGeneratedRecord(clusterDir: string, written: Record<string, string>): Promise<void> {
  const current = await readGeneratedRecord(clusterDir);
  const files = { ...current.files };
  for (const [file, text] of Object.entries(written)) files[file] = sha256Buffer(text);
  const next = formatJson({ version: 1, files: Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) });
  if (next !== formatJson(current)) await writeClusterFile(clusterDir, pkiFiles.generatedRecord, next, 0o600);
}
