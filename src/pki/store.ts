// Where PKI files live in the cluster directory, named as `cfssljson -bare` names them, and how
// they are read and written: atomically, keys 0600, directories 0700, nothing rewritten if equal.
import { createHash } from 'node:crypto';
import { chmod, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';

export const PKI_DIR = 'pki';
export const KEY_MODE = 0o600;
export const PUBLIC_MODE = 0o644;
export const DIR_MODE = 0o700;

/** Paths relative to the cluster directory, as messages and describe() print them. */
export const pkiFiles = {
  cert: (name: string) => `${PKI_DIR}/${name}.pem`,
  key: (name: string) => `${PKI_DIR}/${name}-key.pem`,
  csr: (name: string) => `${PKI_DIR}/${name}.csr`,
  csrJson: (name: string) => `${PKI_DIR}/${name}-csr.json`,
  caConfig: `${PKI_DIR}/ca-config.json`,
  /** hardway's record of the JSON files it wrote, to tell them from files a person edited. */
  generatedRecord: '.hardway/pki-generated.json',
};

/** Why: one reader that says "absent" instead of throwing, for files that may not exist yet. */
export async function readOptional(clusterDir: string, file: string): Promise<string | undefined> {
  try {
    return await readFile(join(clusterDir, file), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The permission bits of a file or directory, or undefined when it does not exist. */
export async function modeOf(clusterDir: string, file: string): Promise<number | undefined> {
  try {
    return (await stat(join(clusterDir, file))).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Why: every PKI output goes through one atomic writer with an exact mode (keys 0600). */
export async function writeClusterFile(clusterDir: string, file: string, data: string, mode: number): Promise<void> {
  await writeFileAtomic(join(clusterDir, file), data, { mode });
  // The temp file's mode is subject to the umask; the final mode must be exactly what was asked.
  await chmod(join(clusterDir, file), mode);
}

/** Tighten a mode without rewriting the content (a key someone made 0644). */
export async function chmodClusterFile(clusterDir: string, file: string, mode: number): Promise<void> {
  await chmod(join(clusterDir, file), mode);
}

/** Content hashes for the generated-file record. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A path for messages: relative to the current directory when inside it, else absolute. */
export function displayPath(clusterDir: string, file: string): string {
  const full = join(clusterDir, file);
  const shown = relative(process.cwd(), full);
  return shown && !shown.startsWith('..') && !isAbsolute(shown) ? shown : full;
}

/** 0o600 -> "0600", for messages. */
export function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
