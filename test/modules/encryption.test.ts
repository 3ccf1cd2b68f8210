// The encryption_config module: made once with a random 32-byte key, never rotated, never shown.
import { execFileSync } from 'node:child_process';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SpecError } from '../../src/errors.ts';
import { encryptionConfigModule } from '../../src/modules/encryption.ts';
import { testRunContext, testTaskContext } from '../helpers/context.ts';
import { makeTempDir, removeDir } from '../pki/fixture.ts';
import { runLocalPlaybook } from './local-steps.ts';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(() => removeDir(dir));

const file = () => join(dir, 'encryption-config.yaml');
const keyOf = (text: string): string => parse(text).resources[0].providers[0].aescbc.keys[0].secret;

describe('encryption step', () => {
  it('creates encryption-config.yaml once: aescbc with a random 32-byte key, then identity, mode 0600', async () => {
    const [outcome] = await runLocalPlaybook(testRunContext({ clusterDir: dir }), '40-encryption.yaml');
    expect(outcome).toMatchObject({ changed: true, reason: 'create encryption-config.yaml with a random 32-byte aescbc key' });
    const text = await readFile(file(), 'utf8');
    const config = parse(text);
    expect(config).toMatchObject({ apiVersion: 'apiserver.config.k8s.io/v1', kind: 'EncryptionConfiguration' });
    expect(config.resources[0].resources).toEqual(['secrets']);
    expect(Object.keys(config.resources[0].providers[0])).toEqual(['aescbc']);
    expect(config.resources[0].providers[1]).toEqual({ identity: {} });
    expect(Buffer.from(keyOf(text), 'base64')).toHaveLength(32);
    expect((await stat(file())).mode & 0o777).toBe(0o600);
    expect([...outcome!.lines, ...outcome!.describe, outcome!.reason].join('\n')).not.toContain(keyOf(text));

    const [again] = await runLocalPlaybook(testRunContext({ clusterDir: dir }), '40-encryption.yaml');
    expect(again).toMatchObject({ changed: false, reason: 'using existing key (never rotated by hardway)' });
    expect(await readFile(file(), 'utf8')).toBe(text);
  });

  it('makes a different key for each cluster', async () => {
    await runLocalPlaybook(testRunContext({ clusterDir: dir }), '40-encryption.yaml');
    const other = await makeTempDir();
    try {
      await runLocalPlaybook(testRunContext({ clusterDir: other }), '40-encryption.yaml');
      expect(keyOf(await readFile(join(other, 'encryption-config.yaml'), 'utf8'))).not.toBe(keyOf(await readFile(file(), 'utf8')));
    } finally {
      await removeDir(other);
    }
  });

  it('restores mode 0600 without touching the key', async () => {
    await runLocalPlaybook(testRunContext({ clusterDir: dir }), '40-encryption.yaml');
    const text = await readFile(file(), 'utf8');
    await chmod(file(), 0o644);
    const [outcome] = await runLocalPlaybook(testRunContext({ clusterDir: dir }), '40-encryption.yaml');
    expect(outcome!.reason).toBe('chmod 600 encryption-config.yaml (was 0644)');
    expect(await readFile(file(), 'utf8')).toBe(text);
    expect((await stat(file())).mode & 0o777).toBe(0o600);
  });

  it('refuses a broken file (exit 2, naming file and field) without quoting the key', async () => {
    const shortKey = Buffer.alloc(20, 7).toString('base64');
    await writeFile(file(), `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - aescbc:\n          keys:\n            - name: key1\n              secret: ${shortKey}\n`);
    const ctx = testTaskContext(testRunContext({ clusterDir: dir }), undefined);
    const error = await encryptionConfigModule.check(ctx, {}).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).exitCode).toBe(2);
    expect((error as SpecError).message).toBe('encryption-config.yaml resources[0].providers[0].aescbc.keys[0].secret: must be the base64 of a 16, 24, 32-byte key');
    expect((error as SpecError).message).not.toContain(shortKey);
  });

  it('describes commands that, run by bash, make a file this module accepts; the key stays a shell variable', async () => {
    const lines = encryptionConfigModule.describe(testTaskContext(testRunContext({ clusterDir: dir }), undefined), {});
    expect(lines[0]).toBe('ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64)');
    expect(lines.join('\n')).toContain('secret: ${ENCRYPTION_KEY}');
    execFileSync('bash', ['-euc', lines.join('\n')], { cwd: dir });
    const text = await readFile(file(), 'utf8');
    expect(Buffer.from(keyOf(text), 'base64')).toHaveLength(32);
    expect((await stat(file())).mode & 0o777).toBe(0o600);
    const [outcome] = await runLocalPlaybook(testRunContext({ clusterDir: dir }), '40-encryption.yaml');
    expect(outcome!.changed).toBe(false);
  });
});
