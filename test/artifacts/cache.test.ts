// Downloading into the cache, against a release server on 127.0.0.1 laid out like dl.k8s.io and
// etcd's GitHub releases: verified once, reused without a request, a published-sha256 mismatch is
// an error naming the file and both digests, and parallel callers download once.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cachedArchiveMember, cachedFile } from '../../src/artifacts/cache.ts';
import { artifactSource, DEFAULT_RELEASE_URLS, type ReleaseUrls } from '../../src/artifacts/catalog.ts';
import type { ArchiveSource, FileSource } from '../../src/artifacts/catalog.ts';
import { TaskError } from '../../src/errors.ts';
import { startReleaseServer, type ReleaseServer } from './release-server.ts';

const versions = { kubernetes: '1.32.3', etcd: '3.5.16', containerd: '1.7.24', runc: '1.2.3', cniPlugins: '1.6.1' };
const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

let server: ReleaseServer;
let urls: ReleaseUrls;
let work: string;
let cacheDir: string;
let tarball: Buffer;
const apiserver = Buffer.from('#!/bin/sh\necho kube-apiserver v1.32.3\n'.repeat(5000));
const etcdBinary = Buffer.from('etcd server binary\n'.repeat(3000));
const etcdctlBinary = Buffer.from('etcdctl client binary\n'.repeat(2000));

beforeAll(async () => {
  server = await startReleaseServer();
  urls = { ...DEFAULT_RELEASE_URLS, kubernetes: `${server.url}/release`, etcd: `${server.url}/etcd-io/etcd/releases/download` };
  work = await mkdtemp(join(tmpdir(), 'artifact-cache-'));
  const top = join(work, 'src', 'etcd-v3.5.16-linux-amd64');
  await mkdir(top, { recursive: true });
  await writeFile(join(top, 'etcd'), etcdBinary);
  await writeFile(join(top, 'etcdctl'), etcdctlBinary);
  await writeFile(join(top, 'etcdutl'), 'etcdutl\n');
  execFileSync('tar', ['-czf', join(work, 'etcd.tar.gz'), '-C', join(work, 'src'), 'etcd-v3.5.16-linux-amd64']);
  tarball = await readFile(join(work, 'etcd.tar.gz'));
});

afterAll(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  cacheDir = await mkdtemp(join(work, 'cache-'));
  server.requests.length = 0;
  server.files.clear();
  server.files.set('/release/v1.32.3/bin/linux/amd64/kube-apiserver', apiserver);
  server.files.set('/release/v1.32.3/bin/linux/amd64/kube-apiserver.sha256', sha(apiserver));
  // GitHub answers release downloads with a redirect to its object storage.
  server.files.set('/etcd-io/etcd/releases/download/v3.5.16/etcd-v3.5.16-linux-amd64.tar.gz', { redirect: '/objects/etcd-v3.5.16-linux-amd64.tar.gz' });
  server.files.set('/objects/etcd-v3.5.16-linux-amd64.tar.gz', tarball);
  server.files.set('/etcd-io/etcd/releases/download/v3.5.16/SHA256SUMS', `${sha('other')}  etcd-v3.5.16-linux-arm64.tar.gz\n${sha(tarball)}  etcd-v3.5.16-linux-amd64.tar.gz\n`);
});

afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

const kube = () => artifactSource('kube-apiserver', versions, 'amd64', urls) as FileSource;
const etcd = (name: 'etcd' | 'etcdctl') => artifactSource(name, versions, 'amd64', urls) as ArchiveSource;

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('cachedFile (Kubernetes binaries)', () => {
  it('downloads once, verifies against the published .sha256, and serves later calls from the cache', async () => {
    const lines: string[] = [];
    const first = await cachedFile(kube(), { cacheDir, log: (line) => lines.push(line) });
    expect(first).toMatchObject({ name: 'kube-apiserver', sha256: sha(apiserver), from: 'download', origin: kube().url });
    expect(await readFile(first.path)).toEqual(apiserver);
    expect((await stat(first.path)).mode & 0o777).toBe(0o755);
    expect(lines).toEqual([`downloading ${kube().url}`]);
    expect(server.requests).toEqual(['/release/v1.32.3/bin/linux/amd64/kube-apiserver.sha256', '/release/v1.32.3/bin/linux/amd64/kube-apiserver']);

    server.requests.length = 0;
    const second = await cachedFile(kube(), { cacheDir });
    expect(second).toMatchObject({ path: first.path, sha256: sha(apiserver), from: 'cache' });
    expect(server.requests).toEqual([]);
  });

  it('fails naming the file, the expected and the actual sha256 when the download does not match, and keeps nothing', async () => {
    const published = sha('something else');
    server.files.set('/release/v1.32.3/bin/linux/amd64/kube-apiserver.sha256', `${published}\n`);
    const error = await cachedFile(kube(), { cacheDir }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).message).toBe(
      `sha256 mismatch for kube-apiserver downloaded from ${kube().url}: expected ${published} (published in ${kube().checksumUrl}), got ${sha(apiserver)}`,
    );
    expect((await filesUnder(cacheDir)).filter((file) => file.endsWith('kube-apiserver') || file.includes('.part'))).toEqual([]);
  });

  it('downloads again when the cached copy was corrupted', async () => {
    const first = await cachedFile(kube(), { cacheDir });
    await writeFile(first.path, 'truncated');
    server.requests.length = 0;
    const lines: string[] = [];
    const again = await cachedFile(kube(), { cacheDir, log: (line) => lines.push(line) });
    expect(again.from).toBe('download');
    expect(await readFile(again.path)).toEqual(apiserver);
    expect(lines[0]).toContain('does not match its published sha256');
    expect(server.requests).toEqual(['/release/v1.32.3/bin/linux/amd64/kube-apiserver']);
  });

  it('says which URL failed, with a hint about versions, on HTTP 404', async () => {
    const missing = artifactSource('kube-apiserver', { ...versions, kubernetes: '1.99.0' }, 'amd64', urls) as FileSource;
    const error = (await cachedFile(missing, { cacheDir }).catch((caught: unknown) => caught)) as TaskError;
    expect(error.message).toBe(`cannot download ${missing.checksumUrl}: HTTP 404 Not Found`);
    expect(error.hint).toContain('versions.kubernetes');
  });

  it('downloads once when several nodes ask at the same time', async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => cachedFile(kube(), { cacheDir })));
    expect(new Set(results.map((result) => result.sha256))).toEqual(new Set([sha(apiserver)]));
    expect(server.requests.filter((path) => path.endsWith('/kube-apiserver'))).toHaveLength(1);
  });

  it('says the machine is offline when the server cannot be reached', async () => {
    const closed = await startReleaseServer();
    await closed.close();
    const offline = artifactSource('kube-apiserver', versions, 'amd64', { ...urls, kubernetes: `${closed.url}/release` }) as FileSource;
    const error = (await cachedFile(offline, { cacheDir }).catch((caught: unknown) => caught)) as TaskError;
    expect(error.message).toContain(`cannot download ${offline.checksumUrl}: ECONNREFUSED`);
    expect(error.hint).toContain('--artifacts-dir');
  });
});

describe('cachedArchiveMember (etcd)', () => {
  it('verifies the tarball against SHA256SUMS, unpacks etcd and etcdctl, and reuses both', async () => {
    const server1 = await cachedArchiveMember(etcd('etcd'), { cacheDir });
    expect(server1).toMatchObject({ name: 'etcd', sha256: sha(etcdBinary), from: 'download' });
    expect(await readFile(server1.path)).toEqual(etcdBinary);
    expect(server.requests).toEqual([
      '/etcd-io/etcd/releases/download/v3.5.16/SHA256SUMS',
      '/etcd-io/etcd/releases/download/v3.5.16/etcd-v3.5.16-linux-amd64.tar.gz',
      '/objects/etcd-v3.5.16-linux-amd64.tar.gz',
    ]);
    server.requests.length = 0;
    const client = await cachedArchiveMember(etcd('etcdctl'), { cacheDir });
    expect(client).toMatchObject({ name: 'etcdctl', sha256: sha(etcdctlBinary), from: 'cache' });
    expect((await stat(client.path)).mode & 0o777).toBe(0o755);
    expect(server.requests).toEqual([]);
  });

  it('fails naming the tarball and both digests when it does not match SHA256SUMS', async () => {
    const published = sha('a different tarball');
    server.files.set('/etcd-io/etcd/releases/download/v3.5.16/SHA256SUMS', `${published}  etcd-v3.5.16-linux-amd64.tar.gz\n`);
    const error = (await cachedArchiveMember(etcd('etcd'), { cacheDir }).catch((caught: unknown) => caught)) as TaskError;
    expect(error.message).toBe(
      `sha256 mismatch for etcd-v3.5.16-linux-amd64.tar.gz downloaded from ${etcd('etcd').url}: expected ${published} (published in ${etcd('etcd').checksumUrl}), got ${sha(tarball)}`,
    );
    expect((await filesUnder(cacheDir)).filter((file) => /linux-amd64\/etcd$|\.tar\.gz$/.test(file))).toEqual([]);
  });

  it('fails when SHA256SUMS does not list the tarball for this architecture', async () => {
    const arm = artifactSource('etcd', versions, 'arm64', urls) as ArchiveSource;
    server.files.set('/etcd-io/etcd/releases/download/v3.5.16/SHA256SUMS', `${sha(tarball)}  etcd-v3.5.16-linux-amd64.tar.gz\n`);
    await expect(cachedArchiveMember(arm, { cacheDir })).rejects.toThrow(`${arm.checksumUrl} has no line for etcd-v3.5.16-linux-arm64.tar.gz`);
  });
});
