// The tar reader (node-tar) against archives made by GNU tar in every format it writes, including member
// paths longer than ustar's 100 bytes (GNU long names, ustar prefix, pax records).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractTarGz } from '../../src/artifacts/tar.ts';

let dir: string;
const top = 'etcd-v3.5.16-linux-amd64';
const deep = `${top}/${'d'.repeat(60)}/${'e'.repeat(60)}/etcdctl`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tar-'));
  await mkdir(join(dir, 'src', top, 'd'.repeat(60), 'e'.repeat(60)), { recursive: true });
  await writeFile(join(dir, 'src', top, 'etcd'), Buffer.alloc(70_000, 1));
  await writeFile(join(dir, 'src', top, 'etcdctl'), 'etcdctl binary\n');
  await writeFile(join(dir, 'src', deep), 'deep file\n');
  await writeFile(join(dir, 'src', top, 'README.md'), 'readme\n');
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('extractTarGz', () => {
  for (const format of ['gnu', 'ustar', 'pax'] as const) {
    it(`extracts the wanted members of a ${format} archive`, async () => {
      const archive = join(dir, `${format}.tar.gz`);
      execFileSync('tar', ['-czf', archive, `--format=${format}`, '-C', join(dir, 'src'), top]);
      const found = await extractTarGz(await readFile(archive), [`${top}/etcd`, `${top}/etcdctl`, deep, `${top}/absent`]);
      expect([...found.keys()].sort()).toEqual([`${top}/etcd`, `${top}/etcdctl`, deep].sort());
      expect(found.get(`${top}/etcd`)).toEqual(Buffer.alloc(70_000, 1));
      expect(found.get(`${top}/etcdctl`)?.toString()).toBe('etcdctl binary\n');
      expect(found.get(deep)?.toString()).toBe('deep file\n');
    });
  }

  it('matches ./name members as upstream CNI archives store them (`tar -C bin .`), keyed as asked', async () => {
    const archive = join(dir, 'dot.tgz');
    execFileSync('tar', ['-czf', archive, '-C', join(dir, 'src', top), '.']);
    const found = await extractTarGz(await readFile(archive), ['./etcdctl', 'README.md', './absent']);
    expect([...found.keys()].sort()).toEqual(['./etcdctl', 'README.md']);
    expect(found.get('./etcdctl')?.toString()).toBe('etcdctl binary\n');
  });

  it('refuses data that is not a tar archive', async () => {
    const { gzipSync } = await import('node:zlib');
    await expect(extractTarGz(gzipSync(Buffer.alloc(1024, 65)), ['x'])).rejects.toThrow(/not a tar archive/);
  });
});
