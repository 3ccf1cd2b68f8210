// The worker releases through the cache, against a release server on 127.0.0.1 laid out like
// upstream (worker-releases.ts): kubelet and kube-proxy, the containerd tarball, runc and the CNI
// plugins .tgz are each verified against what their release publishes, a mismatch names the file
// and both digests, a missing archive member is a clear error, and a second resolve downloads nothing.
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cachedArtifact } from '../../src/artifacts/cache.ts';
import { artifactSource, type ArtifactName, type ReleaseUrls } from '../../src/artifacts/catalog.ts';
import { resolveArtifacts } from '../../src/artifacts/resolve.ts';
import { TaskError } from '../../src/errors.ts';
import { labSpecInput, testRunContext } from '../helpers/context.ts';
import { startReleaseServer, type ReleaseServer } from './release-server.ts';
import { buildWorkerArchives, serveWorkerReleases, sha, workerBinaries, workerPaths, workerVersions, type WorkerArchives } from './worker-releases.ts';

let server: ReleaseServer;
let archives: WorkerArchives;
let urls: ReleaseUrls;
let cacheDir: string;

beforeAll(async () => {
  server = await startReleaseServer();
  archives = await buildWorkerArchives();
});

afterAll(async () => {
  await server?.close();
});

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'worker-cache-'));
  server.files.clear();
  urls = serveWorkerReleases(server, archives);
  server.requests.length = 0;
});

afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

const source = (name: ArtifactName, versions = workerVersions) => artifactSource(name, versions, 'amd64', urls);
const cached = (name: ArtifactName) => cachedArtifact(source(name), { cacheDir });
const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (caught: unknown) => caught as TaskError);

describe('kubelet and kube-proxy', () => {
  it('are Kubernetes release binaries checked against their .sha256, downloaded once', async () => {
    for (const name of ['kubelet', 'kube-proxy'] as const) {
      const first = await cached(name);
      expect(first).toMatchObject({ name, sha256: sha(workerBinaries[name]), from: 'download' });
      expect(await readFile(first.path)).toEqual(workerBinaries[name]);
      expect(first.path).toBe(join(cacheDir, 'kubernetes/v1.32.3/linux-amd64', name));
    }
    server.requests.length = 0;
    expect((await cached('kubelet')).from).toBe('cache');
    expect(server.requests).toEqual([]);
  });
});

describe('containerd (release tarball with <archive>.sha256sum)', () => {
  const archive = 'containerd-1.7.24-linux-amd64.tar.gz';

  it('verifies the tarball, unpacks bin/containerd, bin/containerd-shim-runc-v2 and bin/ctr, and serves the others from the cache', async () => {
    const lines: string[] = [];
    const first = await cachedArtifact(source('containerd'), { cacheDir, log: (line) => lines.push(line) });
    expect(first).toMatchObject({ name: 'containerd', sha256: sha(workerBinaries.containerd), from: 'download', origin: `${source('containerd').url} (bin/containerd)` });
    expect(lines).toEqual([`downloading ${urls.containerd}/v1.7.24/${archive}`]);
    expect(server.requests).toEqual([`${workerPaths.containerd}.sha256sum`, workerPaths.containerd, '/objects/containerd.tar.gz']);

    server.requests.length = 0;
    for (const name of ['containerd-shim-runc-v2', 'ctr'] as const) {
      const other = await cached(name);
      expect(other).toMatchObject({ name, sha256: sha(workerBinaries[name]), from: 'cache' });
      expect(await readFile(other.path)).toEqual(workerBinaries[name]);
      expect((await stat(other.path)).mode & 0o777).toBe(0o755);
    }
    expect(server.requests).toEqual([]);
    // Only what hardway installs is unpacked.
    expect((await readdir(join(cacheDir, 'containerd/v1.7.24/linux-amd64'))).filter((file) => !file.startsWith('.')).sort()).toEqual(['containerd', 'containerd-shim-runc-v2', 'ctr']);
  });

  it('fails naming the tarball and both digests when it does not match its .sha256sum', async () => {
    const published = sha('another tarball');
    server.files.set(`${workerPaths.containerd}.sha256sum`, `${published}  ${archive}\n`);
    const error = await failure(cached('containerd'));
    expect(error).toBeInstanceOf(TaskError);
    expect(error?.message).toBe(
      `sha256 mismatch for ${archive} downloaded from ${source('containerd').url}: expected ${published} (published in ${source('containerd').url}.sha256sum), got ${sha(archives.containerd)}`,
    );
    expect((await readdir(cacheDir, { recursive: true })).map(String).filter((file) => file.endsWith('.tar.gz') || file.endsWith('/containerd'))).toEqual([]);
  });

  it('names the archive and the member it lacks, and still serves the members it has', async () => {
    serveWorkerReleases(server, archives, { containerd: archives.containerdWithoutCtr });
    const error = await failure(cached('ctr'));
    expect(error).toBeInstanceOf(TaskError);
    expect(error?.message).toBe(`${archive} (${source('ctr').url}) has no bin/ctr`);
    expect(error?.hint).toContain('versions.containerd');
    await expect(cached('containerd')).resolves.toMatchObject({ sha256: sha(workerBinaries.containerd) });
  });

  it('says which version to check when the release does not exist', async () => {
    const missing = artifactSource('containerd', { ...workerVersions, containerd: '9.9.9' }, 'amd64', urls);
    const error = await failure(cachedArtifact(missing, { cacheDir }));
    expect(error?.message).toBe(`cannot download ${urls.containerd}/v9.9.9/containerd-9.9.9-linux-amd64.tar.gz.sha256sum: HTTP 404 Not Found`);
    expect(error?.hint).toContain('versions.containerd');
  });
});

describe('runc (runc.<arch> with the release runc.sha256sum)', () => {
  it('checks runc.amd64 against its line of runc.sha256sum and keeps it as runc', async () => {
    const first = await cached('runc');
    expect(first).toMatchObject({ name: 'runc', sha256: sha(workerBinaries.runc), from: 'download', origin: `${urls.runc}/v1.2.3/runc.amd64` });
    expect(first.path).toBe(join(cacheDir, 'runc/v1.2.3/linux-amd64/runc'));
    expect((await stat(first.path)).mode & 0o777).toBe(0o755);
    expect(server.requests).toEqual([workerPaths.runcSums, workerPaths.runc]);
    server.requests.length = 0;
    expect((await cached('runc')).from).toBe('cache');
    expect(server.requests).toEqual([]);
  });

  it('fails naming runc and both digests on a mismatch, and keeps nothing', async () => {
    const published = sha('a different runc');
    server.files.set(workerPaths.runcSums, `${published}  runc.amd64\n`);
    const error = await failure(cached('runc'));
    expect(error?.message).toBe(`sha256 mismatch for runc downloaded from ${urls.runc}/v1.2.3/runc.amd64: expected ${published} (published in ${urls.runc}/v1.2.3/runc.sha256sum), got ${sha(workerBinaries.runc)}`);
    expect((await readdir(cacheDir, { recursive: true })).map(String).filter((file) => file.endsWith('/runc') || file.includes('.part'))).toEqual([]);
  });

  it('fails when runc.sha256sum has no line for the architecture, and asks upstream again next time', async () => {
    server.files.set(workerPaths.runcSums, `${sha('x')}  runc.arm64\n`);
    await expect(cached('runc')).rejects.toThrow(`${urls.runc}/v1.2.3/runc.sha256sum has no line for runc.amd64`);
    serveWorkerReleases(server, archives);
    await expect(cached('runc')).resolves.toMatchObject({ sha256: sha(workerBinaries.runc) });
  });
});

describe('CNI plugins (.tgz with ./<plugin> members and <archive>.sha256)', () => {
  const archive = 'cni-plugins-linux-amd64-v1.6.1.tgz';
  const plugins = [
    ['cni-bridge', 'bridge'],
    ['cni-host-local', 'host-local'],
    ['cni-loopback', 'loopback'],
    ['cni-portmap', 'portmap'],
  ] as const;

  it('verifies the archive and unpacks the four plugins from one download', async () => {
    for (const [name, plugin] of plugins) {
      const resolved = await cached(name);
      expect(resolved).toMatchObject({ name, sha256: sha(workerBinaries[plugin]), from: name === 'cni-bridge' ? 'download' : 'cache', origin: `${urls.cniPlugins}/v1.6.1/${archive} (./${plugin})` });
      expect(await readFile(resolved.path)).toEqual(workerBinaries[plugin]);
    }
    expect(server.requests).toEqual([`${workerPaths.cni}.sha256`, workerPaths.cni]);
    expect((await readdir(join(cacheDir, 'cni-plugins/v1.6.1/linux-amd64'))).filter((file) => !file.startsWith('.')).sort()).toEqual(plugins.map(([name]) => name).sort());
  });

  it('fails naming the archive and both digests on a mismatch', async () => {
    const published = sha('other plugins');
    server.files.set(`${workerPaths.cni}.sha256`, `${published}  ${archive}\n`);
    const error = await failure(cached('cni-loopback'));
    expect(error?.message).toBe(`sha256 mismatch for ${archive} downloaded from ${urls.cniPlugins}/v1.6.1/${archive}: expected ${published} (published in ${urls.cniPlugins}/v1.6.1/${archive}.sha256), got ${sha(archives.cni)}`);
  });

  it('names the member an archive lacks', async () => {
    serveWorkerReleases(server, archives, { cni: archives.cniWithoutPortmap });
    await expect(cached('cni-portmap')).rejects.toThrow(`${archive} (${urls.cniPlugins}/v1.6.1/${archive}) has no ./portmap`);
  });
});

describe('resolveArtifacts for a worker', () => {
  const names = ['kubelet', 'kube-proxy', 'containerd', 'containerd-shim-runc-v2', 'ctr', 'runc', 'cni-bridge', 'cni-host-local', 'cni-loopback', 'cni-portmap'] as const;

  it('takes each release from its mirror variable, and a second resolve downloads nothing', async () => {
    const run = testRunContext({ spec: { ...labSpecInput, artifacts: { cacheDir } } });
    const env = {
      HARDWAY_KUBERNETES_RELEASE_URL: urls.kubernetes,
      HARDWAY_CONTAINERD_RELEASE_URL: urls.containerd,
      HARDWAY_RUNC_RELEASE_URL: urls.runc,
      HARDWAY_CNI_RELEASE_URL: urls.cniPlugins,
    };
    const first = await resolveArtifacts(run, names, { arch: 'amd64', env });
    expect(first.map((artifact) => artifact.name)).toEqual([...names]);
    expect(first.filter((artifact) => artifact.from === 'download').map((artifact) => artifact.name)).toEqual(['kubelet', 'kube-proxy', 'containerd', 'runc', 'cni-bridge']);

    server.requests.length = 0;
    const second = await resolveArtifacts(run, names, { arch: 'amd64', env });
    expect(second.map((artifact) => artifact.from)).toEqual(names.map(() => 'cache'));
    expect(second.map((artifact) => artifact.sha256)).toEqual(first.map((artifact) => artifact.sha256));
    expect(server.requests).toEqual([]);
  });

  it('keys the cache by version: another containerd version is fetched, not taken from the cache', async () => {
    const run = testRunContext({ spec: { ...labSpecInput, artifacts: { cacheDir } } });
    await resolveArtifacts(run, ['containerd'], { arch: 'amd64', urls });
    const newer = testRunContext({ spec: { ...labSpecInput, versions: { containerd: '1.7.25' }, artifacts: { cacheDir } } });
    server.requests.length = 0;
    await expect(resolveArtifacts(newer, ['containerd'], { arch: 'amd64', urls })).rejects.toThrow(`cannot download ${urls.containerd}/v1.7.25/containerd-1.7.25-linux-amd64.tar.gz.sha256sum`);
    expect(server.requests).toEqual(['/containerd/containerd/releases/download/v1.7.25/containerd-1.7.25-linux-amd64.tar.gz.sha256sum']);
  });
});
