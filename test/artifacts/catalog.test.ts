// Upstream URLs for the spec's versions, as dl.k8s.io and etcd's GitHub releases lay them out.
import { describe, expect, it } from 'vitest';
import { artifactSource, normalizeArch } from '../../src/artifacts/catalog.ts';

const versions = { kubernetes: '1.32.3', etcd: '3.5.16' };

describe('artifactSource', () => {
  it('points Kubernetes binaries at dl.k8s.io with their .sha256', () => {
    expect(artifactSource('kube-apiserver', versions, 'amd64')).toEqual({
      kind: 'kubernetes',
      name: 'kube-apiserver',
      version: '1.32.3',
      arch: 'amd64',
      url: 'https://dl.k8s.io/release/v1.32.3/bin/linux/amd64/kube-apiserver',
      checksumUrl: 'https://dl.k8s.io/release/v1.32.3/bin/linux/amd64/kube-apiserver.sha256',
    });
  });

  it('points etcd and etcdctl at the release tarball and its SHA256SUMS', () => {
    expect(artifactSource('etcdctl', versions, 'arm64')).toEqual({
      kind: 'etcd',
      name: 'etcdctl',
      version: '3.5.16',
      arch: 'arm64',
      archive: 'etcd-v3.5.16-linux-arm64.tar.gz',
      url: 'https://github.com/etcd-io/etcd/releases/download/v3.5.16/etcd-v3.5.16-linux-arm64.tar.gz',
      checksumUrl: 'https://github.com/etcd-io/etcd/releases/download/v3.5.16/SHA256SUMS',
      member: 'etcd-v3.5.16-linux-arm64/etcdctl',
    });
  });

  it('takes mirror base URLs, with or without a trailing slash', () => {
    const source = artifactSource('kube-scheduler', versions, 'amd64', { kubernetes: 'http://mirror.local/k8s/', etcd: 'http://mirror.local/etcd' });
    expect(source.url).toBe('http://mirror.local/k8s/v1.32.3/bin/linux/amd64/kube-scheduler');
  });
});

describe('normalizeArch', () => {
  it('maps uname -m to release architectures and refuses others', () => {
    expect(normalizeArch('x86_64\n')).toBe('amd64');
    expect(normalizeArch('aarch64')).toBe('arm64');
    expect(normalizeArch('armv7l')).toBeUndefined();
  });
});
