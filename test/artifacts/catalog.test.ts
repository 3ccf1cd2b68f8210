// Upstream URLs for the spec's versions, as dl.k8s.io and the etcd, containerd, runc and CNI
// plugins GitHub releases lay them out, and the names binaries are installed under.
import { describe, expect, it } from 'vitest';
import { ARTIFACT_NAMES, artifactSource, DEFAULT_RELEASE_URLS, installName, normalizeArch, releaseOf } from '../../src/artifacts/catalog.ts';

const versions = { kubernetes: '1.32.3', etcd: '3.5.16', containerd: '1.7.24', runc: '1.2.3', cniPlugins: '1.6.1' };

describe('artifactSource', () => {
  it('points Kubernetes binaries at dl.k8s.io with their .sha256', () => {
    expect(artifactSource('kube-apiserver', versions, 'amd64')).toEqual({
      kind: 'file',
      name: 'kube-apiserver',
      release: 'kubernetes',
      version: '1.32.3',
      arch: 'amd64',
      url: 'https://dl.k8s.io/release/v1.32.3/bin/linux/amd64/kube-apiserver',
      checksumUrl: 'https://dl.k8s.io/release/v1.32.3/bin/linux/amd64/kube-apiserver.sha256',
      checksum: { format: 'digest' },
    });
    for (const name of ['kubelet', 'kube-proxy'] as const) {
      expect(artifactSource(name, versions, 'arm64')).toMatchObject({
        kind: 'file',
        url: `https://dl.k8s.io/release/v1.32.3/bin/linux/arm64/${name}`,
        checksumUrl: `https://dl.k8s.io/release/v1.32.3/bin/linux/arm64/${name}.sha256`,
      });
    }
  });

  it('points etcd and etcdctl at the release tarball and its SHA256SUMS', () => {
    expect(artifactSource('etcdctl', versions, 'arm64')).toEqual({
      kind: 'archive',
      name: 'etcdctl',
      release: 'etcd',
      version: '3.5.16',
      arch: 'arm64',
      archive: 'etcd-v3.5.16-linux-arm64.tar.gz',
      url: 'https://github.com/etcd-io/etcd/releases/download/v3.5.16/etcd-v3.5.16-linux-arm64.tar.gz',
      checksumUrl: 'https://github.com/etcd-io/etcd/releases/download/v3.5.16/SHA256SUMS',
      checksum: { format: 'sha256sum', listedAs: 'etcd-v3.5.16-linux-arm64.tar.gz' },
      member: 'etcd-v3.5.16-linux-arm64/etcdctl',
      members: [
        { name: 'etcd', member: 'etcd-v3.5.16-linux-arm64/etcd' },
        { name: 'etcdctl', member: 'etcd-v3.5.16-linux-arm64/etcdctl' },
      ],
    });
  });

  it('points containerd, its shim and ctr at the release tarball and its .sha256sum', () => {
    const base = 'https://github.com/containerd/containerd/releases/download/v1.7.24';
    expect(artifactSource('ctr', versions, 'amd64')).toEqual({
      kind: 'archive',
      name: 'ctr',
      release: 'containerd',
      version: '1.7.24',
      arch: 'amd64',
      archive: 'containerd-1.7.24-linux-amd64.tar.gz',
      url: `${base}/containerd-1.7.24-linux-amd64.tar.gz`,
      checksumUrl: `${base}/containerd-1.7.24-linux-amd64.tar.gz.sha256sum`,
      checksum: { format: 'sha256sum', listedAs: 'containerd-1.7.24-linux-amd64.tar.gz' },
      member: 'bin/ctr',
      members: [
        { name: 'containerd', member: 'bin/containerd' },
        { name: 'containerd-shim-runc-v2', member: 'bin/containerd-shim-runc-v2' },
        { name: 'ctr', member: 'bin/ctr' },
      ],
    });
  });

  it('points runc at runc.<arch>, checked against its line of runc.sha256sum', () => {
    expect(artifactSource('runc', versions, 'arm64')).toEqual({
      kind: 'file',
      name: 'runc',
      release: 'runc',
      version: '1.2.3',
      arch: 'arm64',
      url: 'https://github.com/opencontainers/runc/releases/download/v1.2.3/runc.arm64',
      checksumUrl: 'https://github.com/opencontainers/runc/releases/download/v1.2.3/runc.sha256sum',
      checksum: { format: 'sha256sum', listedAs: 'runc.arm64' },
    });
  });

  it('points the CNI plugins at the release .tgz and its .sha256, members ./<plugin>', () => {
    const base = 'https://github.com/containernetworking/plugins/releases/download/v1.6.1';
    const source = artifactSource('cni-host-local', versions, 'amd64');
    expect(source).toMatchObject({
      kind: 'archive',
      release: 'cniPlugins',
      version: '1.6.1',
      archive: 'cni-plugins-linux-amd64-v1.6.1.tgz',
      url: `${base}/cni-plugins-linux-amd64-v1.6.1.tgz`,
      checksumUrl: `${base}/cni-plugins-linux-amd64-v1.6.1.tgz.sha256`,
      checksum: { format: 'sha256sum', listedAs: 'cni-plugins-linux-amd64-v1.6.1.tgz' },
      member: './host-local',
    });
    expect(source.kind === 'archive' && source.members.map((member) => member.member)).toEqual(['./bridge', './host-local', './loopback', './portmap']);
  });

  it('takes mirror base URLs, with or without a trailing slash', () => {
    const mirror = { ...DEFAULT_RELEASE_URLS, kubernetes: 'http://mirror.local/k8s/', runc: 'http://mirror.local/runc//', cniPlugins: 'http://mirror.local/cni' };
    expect(artifactSource('kube-scheduler', versions, 'amd64', mirror).url).toBe('http://mirror.local/k8s/v1.32.3/bin/linux/amd64/kube-scheduler');
    expect(artifactSource('runc', versions, 'amd64', mirror).url).toBe('http://mirror.local/runc/v1.2.3/runc.amd64');
    expect(artifactSource('cni-portmap', versions, 'amd64', mirror).url).toBe('http://mirror.local/cni/v1.6.1/cni-plugins-linux-amd64-v1.6.1.tgz');
  });
});

describe('installName and releaseOf', () => {
  it('installs CNI plugins under their plugin name and everything else under its artifact name', () => {
    expect(ARTIFACT_NAMES.map((name) => [name, installName(name)]).filter(([name, installed]) => name !== installed)).toEqual([
      ['cni-bridge', 'bridge'],
      ['cni-host-local', 'host-local'],
      ['cni-loopback', 'loopback'],
      ['cni-portmap', 'portmap'],
    ]);
  });

  it('names the versions field each artifact follows', () => {
    expect((['kubelet', 'kube-proxy', 'etcdctl', 'containerd-shim-runc-v2', 'runc', 'cni-bridge'] as const).map((name) => releaseOf(name))).toEqual(['kubernetes', 'kubernetes', 'etcd', 'containerd', 'runc', 'cniPlugins']);
  });
});

describe('normalizeArch', () => {
  it('maps uname -m to release architectures and refuses others', () => {
    expect(normalizeArch('x86_64\n')).toBe('amd64');
    expect(normalizeArch('aarch64')).toBe('arm64');
    expect(normalizeArch('armv7l')).toBeUndefined();
  });
});
