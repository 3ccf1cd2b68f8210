// The cluster's `known_hosts`, in OpenSSH's format, so `ssh -o UserKnownHostsFile=...` trusts the
// same keys hardway pinned: `10.0.0.5 ssh-ed25519 AAAA...` on port 22, `[10.0.0.5]:2222 ...` else.
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.ts';
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

/** Parse known_hosts text; comments, blank and malformed lines are skipped. */
export function parseKnownHosts(text: string): Entry[] {
  const entries: Entry[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const fields = trimmed.split(/\s+/);
    let marker: Entry['marker'] = '';
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as Entry['marker'];
    const [patterns, type, data] = fields;
    if (!patterns || !type || !data) continue;
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
    const text = await readFile(this.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    return { text, entries: parseKnownHosts(text) };
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
        const [entry] = parseKnownHosts(line);
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
