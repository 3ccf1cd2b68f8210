// sha256 of workstation files (the binaries of --artifacts-dir), computed once per file version:
// a file is known by its device, inode, size, mtime and ctime (as git's index knows a file), so a
// re-run does not read 500 MB of binaries again to learn they are the same. Any write, rename over
// or chmod changes the ctime, which nobody can set back; such a file is hashed anew. The record is
// kept in the cluster's .hardway/file-hashes.json, written atomically; a bad record is ignored.
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { sha256File } from './checksum.ts';

interface Known {
  /** dev:ino:size:mtimeNs:ctimeNs */
  stamp: string;
  sha256: string;
}

const HEX = /^[0-9a-f]{64}$/;

/** Why: every task on every node asks for the same artifact's hash; one read per file version answers all. */
export class FileHashes {
  readonly #recordPath: string | undefined;
  #record: Promise<Map<string, Known>> | undefined;
  readonly #pending = new Map<string, Promise<string>>();
  #saving: Promise<void> = Promise.resolve();

  /** recordPath: where hashes persist between runs; undefined keeps them for this run only. */
  constructor(recordPath?: string) {
    this.#recordPath = recordPath;
  }

  /** The record file of a cluster directory. */
  static forCluster(clusterDir: string, options: { persist: boolean }): FileHashes {
    return new FileHashes(options.persist ? join(clusterDir, '.hardway', 'file-hashes.json') : undefined);
  }

  async sha256(path: string): Promise<string> {
    const absolute = resolve(path);
    const info = await stat(absolute, { bigint: true });
    const stamp = `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
    const key = `${absolute}\0${stamp}`;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#lookup(absolute, stamp);
      this.#pending.set(key, pending);
    }
    return pending;
  }

  async #lookup(path: string, stamp: string): Promise<string> {
    const record = await this.#load();
    const known = record.get(path);
    if (known?.stamp === stamp) return known.sha256;
    const sha256 = await sha256File(path);
    record.set(path, { stamp, sha256 });
    await this.#save(record);
    return sha256;
  }

  #load(): Promise<Map<string, Known>> {
    this.#record ??= (async () => {
      const record = new Map<string, Known>();
      if (!this.#recordPath) return record;
      try {
        const parsed = JSON.parse(await readFile(this.#recordPath, 'utf8')) as Record<string, Known>;
        for (const [path, known] of Object.entries(parsed)) {
          if (typeof known?.stamp === 'string' && typeof known.sha256 === 'string' && HEX.test(known.sha256)) record.set(path, known);
        }
      } catch {
        // Missing or unreadable: a cache, so every file is hashed again.
      }
      return record;
    })();
    return this.#record;
  }

  #save(record: Map<string, Known>): Promise<void> {
    const path = this.#recordPath;
    if (!path) return Promise.resolve();
    this.#saving = this.#saving.then(() => writeFileAtomic(path, `${JSON.stringify(Object.fromEntries(record), null, 1)}\n`, { mode: 0o600 }).catch(() => undefined));
    return this.#saving;
  }
}
