// Where each binary hardway installs comes from upstream, for the spec's versions: Kubernetes
// release binaries on dl.k8s.io with one published .sha256 each, etcd release tarballs on GitHub
// with one SHA256SUMS per release. Base URLs are parameters so mirrors and tests can replace them.

export const ARTIFACT_NAMES = ['etcd', 'etcdctl', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
export type ArtifactName = (typeof ARTIFACT_NAMES)[number];

export type Arch = 'amd64' | 'arm64';

export interface ReleaseUrls {
  /** Kubernetes release binaries: `<kubernetes>/v<version>/bin/linux/<arch>/<name>`. */
  kubernetes: string;
  /** etcd release assets: `<etcd>/v<version>/etcd-v<version>-linux-<arch>.tar.gz` and `SHA256SUMS`. */
  etcd: string;
}

export const DEFAULT_RELEASE_URLS: ReleaseUrls = {
  kubernetes: 'https://dl.k8s.io/release',
  etcd: 'https://github.com/etcd-io/etcd/releases/download',
};

export interface Versions {
  kubernetes: string;
  etcd: string;
}

/** A Kubernetes binary: the file itself is published, with its sha256 in `<url>.sha256`. */
export interface KubernetesSource {
  kind: 'kubernetes';
  name: ArtifactName;
  version: string;
  arch: Arch;
  url: string;
  checksumUrl: string;
}

/** An etcd binary: inside the release tarball, whose sha256 is a line of the release's SHA256SUMS. */
export interface EtcdSource {
  kind: 'etcd';
  name: ArtifactName;
  version: string;
  arch: Arch;
  /** The tarball's file name, as SHA256SUMS lists it. */
  archive: string;
  url: string;
  checksumUrl: string;
  /** The binary's path inside the tarball. */
  member: string;
}

export type ArtifactSource = KubernetesSource | EtcdSource;

/** Why: the one place that turns (name, versions, arch) into upstream URLs. */
export function artifactSource(name: ArtifactName, versions: Versions, arch: Arch, urls: ReleaseUrls = DEFAULT_RELEASE_URLS): ArtifactSource {
  if (name === 'etcd' || name === 'etcdctl') {
    const version = versions.etcd;
    const base = `${trimSlash(urls.etcd)}/v${version}`;
    const archive = `etcd-v${version}-linux-${arch}.tar.gz`;
    return { kind: 'etcd', name, version, arch, archive, url: `${base}/${archive}`, checksumUrl: `${base}/SHA256SUMS`, member: `etcd-v${version}-linux-${arch}/${name}` };
  }
  const version = versions.kubernetes;
  const url = `${trimSlash(urls.kubernetes)}/v${version}/bin/linux/${arch}/${name}`;
  return { kind: 'kubernetes', name, version, arch, url, checksumUrl: `${url}.sha256` };
}

/** Why: nodes report `uname -m` (x86_64, aarch64); release URLs use Go's names (amd64, arm64). */
export function normalizeArch(machine: string): Arch | undefined {
  const value = machine.trim().toLowerCase();
  if (value === 'x86_64' || value === 'amd64') return 'amd64';
  if (value === 'aarch64' || value === 'arm64') return 'arm64';
  return undefined;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
