import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, utimes, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileHashes } from '../../src/artifacts/file-hashes.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-hashes-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('FileHashes', () => {
  it('hashes a file once per version, keeps the hash across runs, and hashes a rewritten file anew even with its mtime put back', async () => {
    const file = join(dir, 'kube-apiserver');
    await writeFile(file, 'one');
    const hashes = FileHashes.forCluster(dir, { persist: true });
    expect(await hashes.sha256(file)).toBe(sha256('one'));
    const record = JSON.parse(await readFile(join(dir, '.hardway/file-hashes.json'), 'utf8')) as Record<string, { sha256: string }>;
    expect(record[file]?.sha256).toBe(sha256('one'));
    // A later run trusts the record: a poisoned entry with the same stamp is what it answers.
    const stampOf = Object.values(record)[0]!;
    await writeFile(join(dir, '.hardway/file-hashes.json'), JSON.stringify({ [file]: { ...stampOf, sha256: 'f'.repeat(64) } }));
    expect(await FileHashes.forCluster(dir, { persist: true }).sha256(file)).toBe('f'.repeat(64));
    // Rewritten with the same size and its mtime put back: the change time differs.
    const before = await stat(file);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(file, 'two');
    await utimes(file, before.atime, before.mtime);
    expect(await FileHashes.forCluster(dir, { persist: true }).sha256(file)).toBe(sha256('two'));
  });

  it('ignores a corrupt record and, without persisting, writes none', async () => {
    const file = join(dir, 'etcd');
    await writeFile(file, 'etcd');
    await writeFile(join(dir, 'record.json'), '{not json');
    expect(await new FileHashes(join(dir, 'record.json')).sha256(file)).toBe(sha256('etcd'));
    const memory = FileHashes.forCluster(join(dir, 'other'), { persist: false });
    expect(await memory.sha256(file)).toBe(sha256('etcd'));
    await expect(stat(join(dir, 'other/.hardway'))).rejects.toThrow();
  });
});
