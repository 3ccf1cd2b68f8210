// The cluster's SSH key: made once with mode 0600, read back afterwards, and always one that ssh2
// and OpenSSH accept (ssh2's generator makes a malformed ed25519 pair about 1 time in 256).
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSshKey } from '../../src/transport/keys.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-keys-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('ensureSshKey', () => {
  it('makes a 0600 key OpenSSH reads, and returns the same key the next time', async () => {
    const path = join(dir, 'ssh', 'id_ed25519');
    const made = await ensureSshKey(path, 'hardway-test');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const twoWords = (key: string) => key.trim().split(' ').slice(0, 2).join(' ');
    expect(twoWords(execFileSync('ssh-keygen', ['-y', '-f', path], { encoding: 'utf8' }))).toBe(twoWords(made.publicKey));
    expect(await ensureSshKey(path, 'hardway-test')).toEqual(made);
  });

  it('never hands out a key pair its own parser refuses (1,500 keys: about 6 would be malformed without the check)', async () => {
    for (let index = 0; index < 1500; index++) {
      const path = join(dir, `many-${index}`);
      const key = await ensureSshKey(path, 'hardway-test');
      const parsed = [ssh2.utils.parseKey(await readFile(path)), ssh2.utils.parseKey(key.publicKey)];
      expect(parsed.filter((entry) => !entry || entry instanceof Error), path).toEqual([]);
    }
  });
});
