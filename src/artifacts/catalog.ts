// Where each binary hardway installs comes from upstream, for the spec's versions: Kubernetes
// release binaries on dl.k8s.io with one published .sha256 each; etcd, containerd and CNI plugin
// release archives on GitHub checked against their published sha256sum files; runc's single
// binary checked against the release's runc.sha256sum. Base URLs are parameters so mirrors and
// tests can replace them. This is the one place that turns artifact names into URLs.

export const ARTIFACT_NAMES = [
  'etcd',
  'etcdctl',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
  'containerd',
  'containerd-shim-runc-v2',
  'ctr',
  'runc',
  'cni-bridge',
  'cni-host-local',
  'cni-loopback',
  'cni-portmap',
] as const;
export type ArtifactName = (typeof ARTIFACT_NAMES)[number];

export type Arch = 'amd64' | 'arm64';

/** The spec's `versions`: one version per upstream project. */
export interface Versions {
  kubernetes: string;
  etcd: string;
  containerd: string;
  runc: string;
  cniPlugins: string;
}

/** An upstream project hardway installs releases of; also its `versions.<release>` field. */
export type Release = keyof Versions;

/** Each release's base URL (its `.../releases/download` on GitHub, dl.k8s.io's `release`). */
export type ReleaseUrls = Record<Release, string>;

export const DEFAULT_RELEASE_URLS: ReleaseUrls = {
  kubernetes: 'https://dl.k8s.io/release',
  etcd: 'https://github.com/etcd-io/etcd/releases/download',
  containerd: 'https://github.com/containerd/containerd/releases/download',
  runc: 'https://github.com/opencontainers/runc/releases/download',
  cniPlugins: 'https://github.com/containernetworking/plugins/releases/download',
};

/** How people call each release in messages ("containerd v1.7.24"). */
export const RELEASE_TITLES: Record<Release, string> = {
  kubernetes: 'Kubernetes',
  etcd: 'etcd',
  containerd: 'containerd',
  runc: 'runc',
  cniPlugins: 'CNI plugins',
};

const RELEASE_OF: Record<ArtifactName, Release> = {
  etcd: 'etcd',
  etcdctl: 'etcd',
  'kube-apiserver': 'kubernetes',
  'kube-controller-manager': 'kubernetes',
  'kube-scheduler': 'kubernetes',
  kubelet: 'kubernetes',
  'kube-proxy': 'kubernetes',
  containerd: 'containerd',
  'containerd-shim-runc-v2': 'containerd',
  ctr: 'containerd',
  runc: 'runc',
  'cni-bridge': 'cniPlugins',
  'cni-host-local': 'cniPlugins',
  'cni-loopback': 'cniPlugins',
  'cni-portmap': 'cniPlugins',
};

/** Which release (and so which `versions` field) an artifact belongs to. */
export function releaseOf(name: ArtifactName): Release {
  return RELEASE_OF[name];
}

/**
 * The file name on the node. Why: the container runtime finds a CNI plugin by its `type` in the
 * network config (`bridge`), so it must be installed under that name; as artifact names (in
 * SHA256SUMS and playbooks) bare `bridge` or `loopback` would say nothing, hence `cni-bridge`.
 */
export function installName(name: ArtifactName): string {
  return releaseOf(name) === 'cniPlugins' ? name.slice('cni-'.length) : name;
}

/**
 * How a checksum file gives the download's sha256: it holds just that digest (dl.k8s.io's
 * `.sha256`), or it is `sha256sum` output where the download is the line naming `listedAs`.
 */
export type ChecksumFormat = { format: 'digest' } | { format: 'sha256sum'; listedAs: string };

interface SourceCommon {
  name: ArtifactName;
  release: Release;
  version: string;
  arch: Arch;
  /** What is downloaded: the binary itself, or the archive holding it. */
  url: string;
  /** The checksum file published for `url`. */
  checksumUrl: string;
  checksum: ChecksumFormat;
}

/** A binary published as a file of its own (Kubernetes, runc). */
export interface FileSource extends SourceCommon {
  kind: 'file';
}

/** A binary inside a release archive (.tar.gz/.tgz: etcd, containerd, CNI plugins). */
export interface ArchiveSource extends SourceCommon {
  kind: 'archive';
  /** The archive's file name. */
  archive: string;
  /** This binary's path inside the archive, as `tar -t` lists it. */
  member: string;
  /** Every artifact of this archive with its member path: one download serves them all. */
  members: ReadonlyArray<{ name: ArtifactName; member: string }>;
}

export type ArtifactSource = FileSource | ArchiveSource;

/** Why: the one place that turns (name, versions, arch) into upstream URLs. */
export function artifactSource(name: ArtifactName, versions: Versions, arch: Arch, urls: ReleaseUrls = DEFAULT_RELEASE_URLS): ArtifactSource {
  const release = releaseOf(name);
  const version = versions[release];
  const common = { name, release, version, arch };
  const base = `${trimSlash(urls[release])}/v${version}`;
  switch (release) {
    case 'kubernetes': {
      const url = `${base}/bin/linux/${arch}/${name}`;
      return { kind: 'file', ...common, url, checksumUrl: `${url}.sha256`, checksum: { format: 'digest' } };
    }
    case 'runc': {
      // One runc.sha256sum per release lists every architecture's binary (`<hex>  runc.amd64`).
      const file = `runc.${arch}`;
      return { kind: 'file', ...common, url: `${base}/${file}`, checksumUrl: `${base}/runc.sha256sum`, checksum: { format: 'sha256sum', listedAs: file } };
    }
    case 'etcd': {
      const archive = `etcd-v${version}-linux-${arch}.tar.gz`;
      const top = `etcd-v${version}-linux-${arch}`;
      return archiveSource(common, archive, `${base}/${archive}`, `${base}/SHA256SUMS`, (artifact) => `${top}/${artifact}`);
    }
    case 'containerd': {
      const archive = `containerd-${version}-linux-${arch}.tar.gz`;
      return archiveSource(common, archive, `${base}/${archive}`, `${base}/${archive}.sha256sum`, (artifact) => `bin/${artifact}`);
    }
    case 'cniPlugins': {
      // The archive is made with `tar -C bin .`: members are `./bridge`, `./loopback`, ...
      const archive = `cni-plugins-linux-${arch}-v${version}.tgz`;
      return archiveSource(common, archive, `${base}/${archive}`, `${base}/${archive}.sha256`, (artifact) => `./${installName(artifact)}`);
    }
  }
}

function archiveSource(
  common: Pick<SourceCommon, 'name' | 'release' | 'version' | 'arch'>,
  archive: string,
  url: string,
  checksumUrl: string,
  memberOf: (name: ArtifactName) => string,
): ArchiveSource {
  const members = ARTIFACT_NAMES.filter((name) => releaseOf(name) === common.release).map((name) => ({ name, member: memberOf(name) }));
  return { kind: 'archive', ...common, url, checksumUrl, checksum: { format: 'sha256sum', listedAs: archive }, archive, member: memberOf(common.name), members };
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
