// The checksum formats upstream publishes, and file hashing.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseSha256Sums, parseSingleDigest, sha256File } from '../../src/artifacts/checksum.ts';

const A = 'a'.repeat(64);
const B = 'B'.repeat(64);

describe('checksums', () => {
  it('reads sha256sum output in text and binary mode, and reports malformed lines', () => {
    const { sums, bad } = parseSha256Sums(`${A}  etcd-v3.5.16-linux-amd64.tar.gz\n${B} *./etcdctl\nnot a line\n\n`);
    expect([...sums]).toEqual([
      ['etcd-v3.5.16-linux-amd64.tar.gz', A],
      ['etcdctl', 'b'.repeat(64)],
    ]);
    expect(bad).toEqual([3]);
  });

  it('reads a dl.k8s.io .sha256 (the digest alone) and refuses anything else', () => {
    expect(parseSingleDigest(`${A}`)).toBe(A);
    expect(parseSingleDigest(`${A}  kube-apiserver\n`)).toBe(A);
    expect(parseSingleDigest('<html>not found</html>')).toBeUndefined();
  });

  it('hashes a file like sha256sum does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'checksum-'));
    try {
      const file = join(dir, 'blob');
      await writeFile(file, Buffer.alloc(3_000_000, 7));
      const expected = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
      expect(await sha256File(file)).toBe(expected);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
