// The cluster's `known_hosts`, in OpenSSH's format, so `ssh -o UserKnownHostsFile=...` trusts the
// same keys hardway pinned: `10.0.0.5 ssh-ed25519 AAAA...` on port 22, `[10.0.0.5]:2222 ...` else.
import { createHash, createHmac } from 'node:crypto';
import { FileError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { readLocalFileOptional } from '../util/local-file.ts';
import { shellQuote } from './shell.ts';

/** A public host key as known_hosts stores it. */
export interface HostKey {
  /** `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, ... */
  type: string;
  /** The key blob, base64, as known_hosts stores it. */
  data: string;
}

/** What known_hosts says about an offered key. */
export type Verdict =
  | { status: 'match' }
  | { status: 'unknown' }
  | { status: 'mismatch'; known: HostKey[] }
  | { status: 'revoked' };

interface Entry {
  marker: '' | '@revoked' | '@cert-authority';
  patterns: string;
  key: HostKey;
  line: string;
}

/** The name OpenSSH looks a host up by: bare on port 22, `[host]:port` otherwise. */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** OpenSSH's fingerprint: `SHA256:` and the unpadded base64 of the key blob's SHA-256. */
export function fingerprint(key: HostKey): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(key.data, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** The key as the server sent it (SSH wire format): the type is its first string. */
export function hostKeyFromWire(blob: Buffer): HostKey {
  const length = blob.readUInt32BE(0);
  return { type: blob.subarray(4, 4 + length).toString('latin1'), data: blob.toString('base64') };
}

/** Why: the hint of a mismatch error; the exact command a person runs to forget a node's key. */
export function forgetCommand(knownHostsPath: string, host: string, port: number): string {
  return `ssh-keygen -R ${shellQuote(hostPattern(host, port))} -f ${shellQuote(knownHostsPath)}`;
}

const KEY_TYPE = /^[A-Za-z0-9][A-Za-z0-9@._+-]*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** known_hosts is kilobytes; a file this large is not one hardway or OpenSSH wrote. */
const MAX_KNOWN_HOSTS_BYTES = 4 * 1024 * 1024;

/**
 * Parse known_hosts text; comments and blank lines are skipped. A malformed line is an error
 * naming the file and line: a pin hardway cannot read must never be silently ignored (it would
 * then pin whatever key the host offers next) nor trusted.
 */
export function parseKnownHosts(text: string, file = 'known_hosts'): Entry[] {
  const entries: Entry[] = [];
  const hint = `Fix or delete line(s) of ${file} (OpenSSH format: HOST KEYTYPE BASE64KEY), or remove the file to pin the keys again on first contact.`;
  for (const [index, line] of text.split('\n').entries()) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const bad = (why: string) => new FileError(`${file}:${index + 1}: malformed known_hosts line: ${why}`, file, { line: index + 1, hint });
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(trimmed)) throw bad('it contains control characters');
    const fields = trimmed.split(/\s+/);
    let marker: Entry['marker'] = '';
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as Entry['marker'];
    else if (fields[0]?.startsWith('@')) throw bad(`unknown marker ${fields[0]} (OpenSSH knows @revoked and @cert-authority)`);
    const [patterns, type, data] = fields;
    if (!patterns || !type || !data) throw bad('expected a host pattern, a key type and a base64 key');
    if (!KEY_TYPE.test(type)) throw bad(`"${type.slice(0, 40)}" is not a key type like ssh-ed25519`);
    if (!BASE64.test(data)) throw bad('the key is not base64');
    entries.push({ marker, patterns, key: { type, data }, line });
  }
  return entries;
}

/** Does one known_hosts host field (`a,b,!c`, `|1|salt|hash`, globs) name the looked-up host? */
export function patternsMatch(patterns: string, lookup: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(lookup).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1) : pattern;
    if (globMatch(body.toLowerCase(), lookup.toLowerCase())) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function globMatch(pattern: string, text: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === text;
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`);
  return regex.test(text);
}

/** Why: the same rules OpenSSH applies, so hardway and `ssh` never disagree about a host. */
export function verdictFor(entries: Entry[], lookup: string, offered: HostKey): Verdict {
  const relevant = entries.filter((entry) => entry.marker !== '@cert-authority' && patternsMatch(entry.patterns, lookup));
  if (relevant.some((entry) => entry.marker === '@revoked' && sameKey(entry.key, offered))) return { status: 'revoked' };
  const known = relevant.filter((entry) => entry.marker === '').map((entry) => entry.key);
  if (!known.length) return { status: 'unknown' };
  if (known.some((key) => sameKey(key, offered))) return { status: 'match' };
  return { status: 'mismatch', known };
}

function sameKey(a: HostKey, b: HostKey): boolean {
  return a.type === b.type && a.data === b.data;
}

/** Why: one owner of the file per run; pins and forgets are queued so parallel connects never lose a line. */
export class KnownHosts {
  readonly path: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  async #entries(): Promise<{ text: string; entries: Entry[] }> {
    const text = (await readLocalFileOptional(this.path, { maxBytes: MAX_KNOWN_HOSTS_BYTES })) ?? '';
    return { text, entries: parseKnownHosts(text, this.path) };
  }

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** The keys pinned for a host (to prefer their algorithms when connecting). */
  async keysFor(host: string, port: number): Promise<HostKey[]> {
    const lookup = hostPattern(host, port);
    const { entries } = await this.#entries();
    return entries.filter((entry) => entry.marker === '' && patternsMatch(entry.patterns, lookup)).map((entry) => entry.key);
  }

  async check(host: string, port: number, offered: HostKey): Promise<Verdict> {
    const { entries } = await this.#entries();
    return verdictFor(entries, hostPattern(host, port), offered);
  }

  /** Trust on first contact: append the key when the host has none; otherwise report the verdict. */
  verifyOrPin(host: string, port: number, offered: HostKey): Promise<Verdict | { status: 'pinned' }> {
    return this.#serialized(async () => {
      const { text, entries } = await this.#entries();
      const verdict = verdictFor(entries, hostPattern(host, port), offered);
      if (verdict.status !== 'unknown') return verdict;
      const separator = text && !text.endsWith('\n') ? '\n' : '';
      await writeFileAtomic(this.path, `${text}${separator}${hostPattern(host, port)} ${offered.type} ${offered.data}\n`, { mode: 0o644 });
      return { status: 'pinned' as const };
    });
  }

  /** Remove every line naming the host (what `ssh-keygen -R` does); returns how many were removed. */
  forget(host: string, port: number): Promise<number> {
    return this.#serialized(async () => {
      const { text } = await this.#entries();
      if (!text) return 0;
      const lookup = hostPattern(host, port);
      let removed = 0;
      const kept = text.split('\n').filter((line) => {
        const [entry] = parseKnownHosts(line, this.path);
        if (entry && entry.marker === '' && patternsMatch(entry.patterns, lookup)) {
          removed++;
          return false;
        }
        return true;
      });
      if (removed) await writeFileAtomic(this.path, kept.join('\n'), { mode: 0o644 });
      return removed;
    });
  }
}
