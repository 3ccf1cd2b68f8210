// Runs the hardening corpus (./corpus.ts) against the real `hardway` executable, each case on its
// own copy of a cluster directory with a full PKI, state.json and known_hosts: the exit code, the
// message naming the field, flag or file, no stack trace, and every file byte-identical after.
import { lstat, readdir, readFile, readlink, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardway } from '../helpers/cli.ts';
import { copyCluster, ensure, envFor, makeTempDir, removeDir } from '../pki/fixture.ts';
import { baseSpec, cases, specText } from './corpus.ts';
import type { ClusterSpecInput } from '../../src/spec/schema.ts';

let base: string;
/** Caches a command keeps outside the cluster (checked playbooks) go here, not under HOME. */
let cacheHome: string;
const dirs: string[] = [];

/** An environment that reaches nothing: no AWS region, profile, credentials or instance metadata. */
const env: NodeJS.ProcessEnv = {
  AWS_REGION: '',
  AWS_DEFAULT_REGION: '',
  AWS_PROFILE: '',
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  AWS_CONFIG_FILE: '/nonexistent/aws-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  SSH_AUTH_SOCK: '',
};

beforeAll(async () => {
  base = await makeTempDir('hardway-corpus-');
  cacheHome = await makeTempDir('hardway-corpus-cache-');
  await ensure(envFor(base, baseSpec as ClusterSpecInput));
  await writeFile(join(base, 'cluster.yaml'), specText(undefined));
  await mkdir(join(base, '.hardway'), { recursive: true, mode: 0o700 });
  await writeFile(join(base, '.hardway/state.json'), `${JSON.stringify({ version: 1, cluster: 'corpus', steps: {}, providerFacts: {}, provider: {}, facts: {}, operations: {} }, null, 2)}\n`);
  await writeFile(join(base, 'known_hosts'), '[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMiqBlKxcKG6XIfyWWjqWIgD9dsLu7j4GzSlklA9xJfz\n');
}, 120_000);
afterAll(async () => {
  for (const dir of [base, cacheHome, ...dirs]) await removeDir(dir);
  for (const dir of dirs) await removeDir(`${dir}-outside-pki`);
});

/** Every entry under dir: its kind, and a file's bytes or a link's target. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  const walk = async (path: string) => {
    for (const name of (await readdir(path)).sort()) {
      const full = join(path, name);
      const stats = await lstat(full);
      const key = full.slice(dir.length + 1);
      if (stats.isDirectory()) {
        entries.set(key, `dir ${(stats.mode & 0o777).toString(8)}`);
        await walk(full);
      } else if (stats.isFile()) entries.set(key, `file ${(stats.mode & 0o777).toString(8)} ${(await readFile(full)).toString('base64')}`);
      else if (stats.isSymbolicLink()) entries.set(key, `link ${await readlink(full)}`);
      else entries.set(key, `special ${stats.mode.toString(8)}`);
    }
  };
  await walk(dir);
  return entries;
}

async function snapshotAll(dir: string): Promise<Map<string, string>> {
  const all = await snapshot(dir);
  const outside = `${dir}-outside-pki`;
  if (await lstat(outside).then(() => true, () => false)) for (const [key, value] of await snapshot(outside)) all.set(`<outside>/${key}`, value);
  return all;
}

describe('hardening corpus', () => {
  it('has at least 120 bad inputs', () => {
    expect(cases.length).toBeGreaterThanOrEqual(120);
    expect(new Set(cases.map((item) => item.name)).size).toBe(cases.length);
  });

  it.concurrent.each(cases.map((item) => [item.name, item] as const))('%s', async (_name, item) => {
    const dir = await copyCluster(base);
    dirs.push(dir);
    if (item.spec) await writeFile(join(dir, 'cluster.yaml'), specText(item.spec));
    await item.setup?.(dir);
    const devNull = await lstat('/dev/null');
    const before = await snapshotAll(dir);

    const result = await hardway(item.args ?? ['validate'], { cwd: dir, env: { ...env, HOME: dir, XDG_CACHE_HOME: cacheHome }, timeoutMs: 30_000 });
    const context = `${item.name}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;

    expect(result.code, context).toBe(item.code);
    if (typeof item.names === 'string') expect(result.stderr, context).toContain(item.names);
    else expect(result.stderr, context).toMatch(item.names);
    // One clear paragraph: no stack trace, no raw errno, no "bug" fallback.
    expect(result.stderr, context).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(result.stderr, context).not.toMatch(/Run again with --verbose|Cannot read properties|\b(EISDIR|ENOTDIR|EEXIST|ENXIO|ELOOP)\b/);
    // Refused commands change nothing.
    expect(await snapshotAll(dir), context).toEqual(before);
    expect((await lstat('/dev/null')).isCharacterDevice()).toBe(devNull.isCharacterDevice());
    await rm(dir, { recursive: true, force: true });
  });
});
