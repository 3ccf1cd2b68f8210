// Where PKI files live in the cluster directory, named as `cfssljson -bare` names them, and how
// they are read and written: atomically, keys 0600, directories 0700, nothing rewritten if equal.
import { chmod, stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { fileErrorFrom, readLocalFileOptional } from '../util/local-file.ts';

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

/** PEM, JSON and YAML files of the cluster directory are kilobytes; anything this large is not one. */
export const MAX_CLUSTER_FILE_BYTES = 1024 * 1024;

/**
 * Why: one reader that says "absent" instead of throwing, for files that may not exist yet; a
 * directory, FIFO or device in a file's place, or a huge file, is an error naming the file (exit 2).
 */
export async function readOptional(clusterDir: string, file: string): Promise<string | undefined> {
  return readLocalFileOptional(join(clusterDir, file), { display: displayPath(clusterDir, file), maxBytes: MAX_CLUSTER_FILE_BYTES });
}

/** The permission bits of a file or directory, or undefined when it does not exist. */
export async function modeOf(clusterDir: string, file: string): Promise<number | undefined> {
  try {
    return (await stat(join(clusterDir, file))).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileErrorFrom(error, displayPath(clusterDir, file), 'read');
  }
}

/** Why: every PKI output goes through one atomic writer with an exact mode (keys 0600). */
export async function writeClusterFile(clusterDir: string, file: string, data: string, mode: number): Promise<void> {
  // The mode is set exactly on the temp file before the rename; a parent that is a link out of the
  // cluster directory, or a directory or FIFO in the file's place, is refused.
  await writeFileAtomic(join(clusterDir, file), data, { mode, within: clusterDir, display: displayPath(clusterDir, file) });
}

/** Tighten a mode without rewriting the content (a key someone made 0644). */
export async function chmodClusterFile(clusterDir: string, file: string, mode: number): Promise<void> {
  try {
    await chmod(join(clusterDir, file), mode);
  } catch (error) {
    throw fileErrorFrom(error, displayPath(clusterDir, file), 'write');
  }
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
