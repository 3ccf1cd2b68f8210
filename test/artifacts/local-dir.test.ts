// Artifacts from a local directory: every file checked against SHA256SUMS, VERSIONS checked against
// the spec; and the rule that picks a directory or the download cache.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RELEASE_URLS } from '../../src/artifacts/catalog.ts';
import { artifactsFromDirectory } from '../../src/artifacts/local-dir.ts';
import { artifactsLocation, releaseUrls, resolveArtifacts } from '../../src/artifacts/resolve.ts';
import { SpecError, TaskError } from '../../src/errors.ts';
import { testRunContext } from '../helpers/context.ts';

const versions = { kubernetes: '1.32.3', etcd: '3.5.16', containerd: '1.7.24', runc: '1.2.3', cniPlugins: '1.6.1' };
const WORKER_FILES = ['kubelet', 'kube-proxy', 'containerd', 'containerd-shim-runc-v2', 'ctr', 'runc', 'cni-bridge', 'cni-host-local', 'cni-loopback', 'cni-portmap'] as const;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'artifacts-dir-'));
  for (const name of ['etcd', 'etcdctl', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', ...WORKER_FILES]) {
    await writeFile(join(dir, name), `${name} binary\n`);
    await chmod(join(dir, name), 0o755);
  }
  execFileSync('sh', ['-c', 'sha256sum etcd etcdctl kube-* kubelet containerd* ctr runc cni-* > SHA256SUMS'], { cwd: dir });
  await writeFile(join(dir, 'VERSIONS'), 'kubernetes=1.32.3\netcd=3.5.16\ncontainerd=1.7.24\nrunc=1.2.3\ncniPlugins=1.6.1\narch=amd64\n');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function digestOf(name: string): string {
  return execFileSync('sha256sum', [join(dir, name)], { encoding: 'utf8' }).split(' ')[0]!;
}

describe('artifactsFromDirectory', () => {
  it('returns each file with the digest SHA256SUMS lists', async () => {
    const resolved = await artifactsFromDirectory(dir, ['etcd', 'kube-apiserver'], { versions, arch: 'amd64' });
    expect(resolved).toEqual([
      { name: 'etcd', path: join(dir, 'etcd'), sha256: digestOf('etcd'), origin: join(dir, 'etcd'), from: 'directory' },
      { name: 'kube-apiserver', path: join(dir, 'kube-apiserver'), sha256: digestOf('kube-apiserver'), origin: join(dir, 'kube-apiserver'), from: 'directory' },
    ]);
  });

  it('serves the worker binaries under their artifact names, each checked against SHA256SUMS', async () => {
    const resolved = await artifactsFromDirectory(dir, WORKER_FILES, { versions, arch: 'amd64' });
    expect(resolved.map((artifact) => [artifact.name, artifact.path, artifact.sha256])).toEqual(WORKER_FILES.map((name) => [name, join(dir, name), digestOf(name)]));
    const expected = digestOf('cni-bridge');
    await writeFile(join(dir, 'cni-bridge'), 'tampered\n');
    await expect(artifactsFromDirectory(dir, ['cni-bridge'], { versions, arch: 'amd64' })).rejects.toThrow(
      `sha256 mismatch for ${join(dir, 'cni-bridge')}: expected ${expected} (from ${join(dir, 'SHA256SUMS')}), got ${digestOf('cni-bridge')}`,
    );
    await rm(join(dir, 'runc'));
    await expect(artifactsFromDirectory(dir, ['runc'], { versions, arch: 'amd64' })).rejects.toThrow(`the artifacts directory ${dir} has no runc`);
  });

  it('checks the worker releases against VERSIONS: kubelet follows kubernetes, each other its own field', async () => {
    await expect(artifactsFromDirectory(dir, ['kubelet'], { versions: { ...versions, kubernetes: '1.31.0' }, arch: 'amd64' })).rejects.toThrow('versions.kubernetes is 1.31.0');
    for (const [field, name] of [
      ['containerd', 'ctr'],
      ['runc', 'runc'],
      ['cniPlugins', 'cni-loopback'],
    ] as const) {
      const error = (await artifactsFromDirectory(dir, [name], { versions: { ...versions, [field]: '0.0.1' }, arch: 'amd64', specFile: 'cluster.yaml' }).catch((caught: unknown) => caught)) as SpecError;
      expect(error).toBeInstanceOf(SpecError);
      expect(error.message).toBe(`the artifacts directory ${dir} has ${field} ${versions[field]} (${join(dir, 'VERSIONS')}) but versions.${field} is 0.0.1`);
      expect(error.where).toEqual({ file: 'cluster.yaml', field: `versions.${field}` });
      // Other releases' versions do not matter for it.
      await expect(artifactsFromDirectory(dir, ['kubelet'], { versions: { ...versions, [field]: '0.0.1' }, arch: 'amd64' })).resolves.toHaveLength(1);
    }
    // A VERSIONS file (as scripts/fill-artifacts.sh writes today) that does not list a release does not check it.
    await writeFile(join(dir, 'VERSIONS'), 'kubernetes=1.32.3\netcd=3.5.16\narch=amd64\n');
    await expect(artifactsFromDirectory(dir, ['containerd', 'runc', 'cni-portmap'], { versions: { ...versions, containerd: '2.0.0', runc: '1.1.0', cniPlugins: '1.5.0' }, arch: 'amd64' })).resolves.toHaveLength(3);
  });

  it('fails naming the file, the expected and the actual digest when a file changed', async () => {
    const expected = digestOf('kube-scheduler');
    await writeFile(join(dir, 'kube-scheduler'), 'tampered\n');
    const error = (await artifactsFromDirectory(dir, ['kube-scheduler'], { versions, arch: 'amd64' }).catch((caught: unknown) => caught)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect(error.message).toBe(`sha256 mismatch for ${join(dir, 'kube-scheduler')}: expected ${expected} (from ${join(dir, 'SHA256SUMS')}), got ${digestOf('kube-scheduler')}`);
  });

  it('fails without SHA256SUMS, on a file it does not list, on a missing file and on a malformed line', async () => {
    await rm(join(dir, 'SHA256SUMS'));
    await expect(artifactsFromDirectory(dir, ['etcd'], { versions, arch: 'amd64' })).rejects.toThrow(`the artifacts directory ${dir} has no SHA256SUMS file`);
    await writeFile(join(dir, 'SHA256SUMS'), `${digestOf('etcd')}  etcd\n`);
    await expect(artifactsFromDirectory(dir, ['etcdctl'], { versions, arch: 'amd64' })).rejects.toThrow(`${join(dir, 'SHA256SUMS')} has no line for etcdctl`);
    await rm(join(dir, 'etcd'));
    await expect(artifactsFromDirectory(dir, ['etcd'], { versions, arch: 'amd64' })).rejects.toThrow(`the artifacts directory ${dir} has no etcd`);
    await writeFile(join(dir, 'SHA256SUMS'), 'garbage\n');
    await expect(artifactsFromDirectory(dir, ['etcd'], { versions, arch: 'amd64' })).rejects.toThrow('line 1 is not');
  });

  it('refuses a directory filled for other versions or another architecture, naming the spec field', async () => {
    const error = (await artifactsFromDirectory(dir, ['etcd'], { versions: { ...versions, etcd: '3.4.23' }, arch: 'amd64', specFile: 'cluster.yaml' }).catch((caught: unknown) => caught)) as SpecError;
    expect(error).toBeInstanceOf(SpecError);
    expect(error.message).toBe(`the artifacts directory ${dir} has etcd 3.5.16 (${join(dir, 'VERSIONS')}) but versions.etcd is 3.4.23`);
    expect(error.where).toEqual({ file: 'cluster.yaml', field: 'versions.etcd' });
    // The etcd version does not matter for the kube-* binaries.
    await expect(artifactsFromDirectory(dir, ['kube-apiserver'], { versions: { ...versions, etcd: '3.4.23' }, arch: 'amd64' })).resolves.toHaveLength(1);
    await expect(artifactsFromDirectory(dir, ['kube-apiserver'], { versions: { ...versions, kubernetes: '1.31.0' }, arch: 'amd64' })).rejects.toThrow('versions.kubernetes is 1.31.0');
    await expect(artifactsFromDirectory(dir, ['etcd'], { versions, arch: 'arm64' })).rejects.toThrow('holds amd64 binaries');
  });
});

describe('artifactsLocation and resolveArtifacts', () => {
  it('prefers --artifacts-dir, then artifacts.dir (from the cluster directory), then the download cache', () => {
    const env = { HOME: '/home/u' };
    expect(artifactsLocation(testRunContext({ options: { artifactsDir: '/opt/art' }, spec: { name: 't', provider: 'lab', artifacts: { dir: 'x' } } }), env)).toEqual({ kind: 'directory', dir: '/opt/art' });
    expect(artifactsLocation(testRunContext({ clusterDir: '/c', spec: { name: 't', provider: 'lab', artifacts: { dir: 'art' } } }), env)).toEqual({ kind: 'directory', dir: '/c/art' });
    expect(artifactsLocation(testRunContext({ clusterDir: '/c', spec: { name: 't', provider: 'lab', artifacts: { cacheDir: '.cache' } } }), env)).toMatchObject({ kind: 'download', cacheDir: '/c/.cache' });
    expect(artifactsLocation(testRunContext(), env)).toEqual({
      kind: 'download',
      cacheDir: '/home/u/.cache/hardway/artifacts',
      urls: {
        kubernetes: 'https://dl.k8s.io/release',
        etcd: 'https://github.com/etcd-io/etcd/releases/download',
        containerd: 'https://github.com/containerd/containerd/releases/download',
        runc: 'https://github.com/opencontainers/runc/releases/download',
        cniPlugins: 'https://github.com/containernetworking/plugins/releases/download',
      },
    });
    expect(artifactsLocation(testRunContext(), { XDG_CACHE_HOME: '/xdg' })).toMatchObject({ cacheDir: '/xdg/hardway/artifacts' });
  });

  it('takes mirror URLs from the environment', () => {
    expect(releaseUrls({ HARDWAY_KUBERNETES_RELEASE_URL: 'http://m/k', HARDWAY_ETCD_RELEASE_URL: 'http://m/e' })).toMatchObject({ kubernetes: 'http://m/k', etcd: 'http://m/e', runc: DEFAULT_RELEASE_URLS.runc });
    expect(releaseUrls({ HARDWAY_CONTAINERD_RELEASE_URL: 'http://m/c', HARDWAY_RUNC_RELEASE_URL: 'http://m/r', HARDWAY_CNI_RELEASE_URL: 'http://m/n' })).toEqual({
      ...DEFAULT_RELEASE_URLS,
      containerd: 'http://m/c',
      runc: 'http://m/r',
      cniPlugins: 'http://m/n',
    });
  });

  it('resolves from the directory a run names', async () => {
    const run = testRunContext({ options: { artifactsDir: dir } });
    const resolved = await resolveArtifacts(run, ['etcdctl'], { arch: 'amd64' });
    expect(resolved.map((artifact) => [artifact.name, artifact.sha256, artifact.from])).toEqual([['etcdctl', digestOf('etcdctl'), 'directory']]);
  });
});
