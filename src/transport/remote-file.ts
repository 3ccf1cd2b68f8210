// The facts hardway reads about a remote file (type, size, mode, owner, sha256) and the pure rules
// that decide from them whether an upload is needed. Shared by the transport's upload and the
// copy/template/directory modules, so `plan --diff` and a run decide the same way.
import { posix } from 'node:path';
import { shellQuote } from './shell.ts';

/** What one `stat` (and maybe `sha256sum`) round trip says about a remote path. */
export interface FileFacts {
  state: 'present' | 'missing' | 'nodir';
  /** stat's %F: `regular file`, `regular empty file`, `directory`, `symbolic link`, ... */
  type?: string;
  size?: number;
  /** Four octal digits, e.g. `0644`. */
  mode?: string;
  owner?: string;
  group?: string;
  /** Present when the command was asked to hash (and the file is regular). */
  sha256?: string;
  /**
   * Present when asked for: the inode and change time (`%i|%z`). Any write, rename over, chmod
   * or chown gives a file a new one, and nobody can set it back: equal stamps mean the same bytes.
   */
  stamp?: string;
}

/** The mode and ownership a task asks for; unset owner/group are left alone. */
export interface WantedFile {
  /** Octal like `0644`. */
  mode: string;
  owner?: string;
  group?: string;
}

/** What an upload has to do: nothing, only chmod/chown, or send the bytes. */
/** What an upload does to a file that is not as wanted: send it whole, or fix only mode and owner. */
export type FileChange = { action: 'transfer' | 'metadata'; reason: string };

export type UploadPlan = { action: 'skip'; reason: string } | FileChange;

/** `644` -> `0644`; rejects anything that is not 3-4 octal digits. */
export function normalizeMode(mode: string): string {
  if (!/^[0-7]{3,4}$/.test(mode)) throw new RangeError(`"${mode}" is not an octal file mode like "0644"`);
  return mode.padStart(4, '0');
}

export interface FileFactsOptions {
  /** Hash a regular file. */
  hash?: boolean;
  /** Hash a regular file of this size only (a file of another size differs anyway). */
  hashIfSize?: number;
  /** Also print the file's stamp (FileFacts.stamp). */
  stamp?: boolean;
  /** Print the stamp, and skip the hash when it is this one (the hash is known from then). */
  hashUnlessStamp?: string;
}

/**
 * One round trip: stat the path and, when asked, hash it. `hashIfSize` hashes only a regular file of
 * that size, so a changed 200 MB binary is not read twice to find out it differs.
 */
export function fileFactsCommand(path: string, options: FileFactsOptions = {}): string {
  const q = shellQuote(path);
  const stamped = options.stamp || options.hashUnlessStamp !== undefined;
  // A file whose stamp is the one recorded when its hash was last known is not read again.
  const sha256 = `${options.hashUnlessStamp !== undefined ? `[ "$t" = ${shellQuote(options.hashUnlessStamp)} ] || ` : ''}sha256sum -- ${q}`;
  let hash = '';
  if (options.hashIfSize !== undefined) {
    hash = `case "$s" in 'regular file|${options.hashIfSize}|'*|'regular empty file|${options.hashIfSize}|'*) ${sha256};; esac; `;
  } else if (options.hash) {
    hash = `case "$s" in 'regular file|'*|'regular empty file|'*) ${sha256};; esac; `;
  }
  const stamp = stamped ? `t=$(stat -c '%i|%z' -- ${q}) || exit 1; printf 'stamp|%s\\n' "$t"; ` : '';
  return (
    `if [ -e ${q} ] || [ -L ${q} ]; then s=$(stat -c '%F|%s|%a|%U|%G' -- ${q}) || exit 1; printf 'present|%s\\n' "$s"; ${stamp}${hash}` +
    `elif [ -d ${shellQuote(posix.dirname(path))} ]; then echo missing; else echo nodir; fi`
  );
}

/** Parse fileFactsCommand's output; anything unexpected is an error, never a guess. */
export function parseFileFacts(stdout: string): FileFacts {
  const [first = '', ...rest] = stdout.trim().split('\n');
  if (first === 'missing') return { state: 'missing' };
  if (first === 'nodir') return { state: 'nodir' };
  const parts = first.split('|');
  if (parts[0] !== 'present' || parts.length !== 6) throw new Error(`unexpected file facts: ${first.slice(0, 200)}`);
  const [, type, size, mode, owner, group] = parts as [string, string, string, string, string, string];
  const facts: FileFacts = { state: 'present', type, size: Number(size), mode: normalizeMode(mode), owner, group };
  for (const line of rest.map((text) => text.trim())) {
    if (line.startsWith('stamp|')) facts.stamp = line.slice('stamp|'.length);
    else if (/^[0-9a-f]{64}(?:\s|$)/.test(line)) facts.sha256 = line.slice(0, 64);
  }
  return facts;
}

/** stat says `regular empty file` for size 0: both are files. */
export function isRegular(facts: FileFacts): boolean {
  return facts.type === 'regular file' || facts.type === 'regular empty file';
}

/** What differs in mode and ownership, as `mode 0600 -> 0644` phrases; empty when nothing does. */
export function metadataDifferences(facts: FileFacts, wanted: WantedFile): string[] {
  const differences: string[] = [];
  const mode = normalizeMode(wanted.mode);
  if (facts.mode !== mode) differences.push(`mode ${facts.mode} -> ${mode}`);
  if (wanted.owner !== undefined && facts.owner !== wanted.owner) differences.push(`owner ${facts.owner} -> ${wanted.owner}`);
  if (wanted.group !== undefined && facts.group !== wanted.group) differences.push(`group ${facts.group} -> ${wanted.group}`);
  return differences;
}

/**
 * Why: the pyinfra-style decision behind every upload: skip when content, mode and owner match,
 * fix only metadata when just those differ, transfer otherwise. `localSha256` is needed only when
 * the remote facts carry a hash (sizes matched).
 */
export function planUpload(path: string, facts: FileFacts, local: { size: number; sha256?: string }, wanted: WantedFile): UploadPlan {
  if (facts.state === 'nodir') throw new RangeError(`the directory ${posix.dirname(path)} does not exist; create it first (a directory task)`);
  if (facts.state === 'missing') return { action: 'transfer', reason: 'upload (missing)' };
  if (!isRegular(facts)) throw new RangeError(`${path} exists and is a ${facts.type}, not a file`);
  if (facts.size !== local.size) return { action: 'transfer', reason: `upload (content differs: ${facts.size} -> ${local.size} bytes)` };
  if (!facts.sha256 || facts.sha256 !== local.sha256) return { action: 'transfer', reason: 'upload (content differs: sha256)' };
  const differences = metadataDifferences(facts, wanted);
  if (differences.length) return { action: 'metadata', reason: `set ${differences.join(', ')}` };
  return { action: 'skip', reason: `sha256 matches, mode ${facts.mode}, owner ${facts.owner}:${facts.group}` };
}

/** Run a command as root: through `sudo -n` (never prompting) when the SSH user is not root. */
export function sudoWrap(command: string, user: string, sudo = true): string {
  if (!sudo || user === 'root') return command;
  return `sudo -n -- sh -c ${shellQuote(command)}`;
}

/** The temp file an upload writes first: hidden, in the target's directory so rename is atomic. */
export function uploadTempPath(dest: string, token: string): string {
  return posix.join(posix.dirname(dest), `.${posix.basename(dest)}.hardway-${token}.tmp`);
}

function ownerSpec(wanted: WantedFile): string | undefined {
  if (wanted.owner === undefined && wanted.group === undefined) return undefined;
  return `${wanted.owner ?? ''}${wanted.group !== undefined ? `:${wanted.group}` : ''}`;
}

/** chmod/chown a file in place. */
export function metadataCommand(path: string, wanted: WantedFile): string {
  const owner = ownerSpec(wanted);
  const q = shellQuote(path);
  return [`chmod ${normalizeMode(wanted.mode)} -- ${q}`, ...(owner ? [`chown ${shellQuote(owner)} -- ${q}`] : [])].join(' && ');
}

/**
 * Set mode and owner on the temp file, then rename it over the target (atomic on one filesystem),
 * then drop temp files an interrupted upload of the same target left behind.
 */
export function finalizeUploadCommand(temp: string, dest: string, wanted: WantedFile): string {
  const stale = posix.join(posix.dirname(dest), `.${posix.basename(dest)}.hardway-`);
  return `${metadataCommand(temp, wanted)} && mv -f -- ${shellQuote(temp)} ${shellQuote(dest)} && rm -f -- ${shellQuote(stale)}*.tmp`;
}

