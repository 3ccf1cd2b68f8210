// Fake worker releases laid out like upstream's, for a release server on 127.0.0.1: kubelet and
// kube-proxy as dl.k8s.io publishes them, the containerd tarball (bin/...) with its .sha256sum,
// runc.<arch> with the release's runc.sha256sum, and the CNI plugins .tgz (made as upstream makes
// it, `tar -C bin .`, so members are ./bridge ...) with its .sha256. Archives are made by GNU tar.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReleaseUrls, Versions } from '../../src/artifacts/catalog.ts';
import type { ReleaseServer } from './release-server.ts';

export const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export const workerVersions: Versions = { kubernetes: '1.32.3', etcd: '3.5.16', containerd: '1.7.24', runc: '1.2.3', cniPlugins: '1.6.1' };

const binary = (name: string, lines = 500) => Buffer.from(`#!/bin/sh\necho ${name}\n${`${name} payload\n`.repeat(lines)}`);

/** The content of every fake binary, by the name it has in its release. */
export const workerBinaries = {
  kubelet: binary('kubelet', 3000),
  'kube-proxy': binary('kube-proxy'),
  containerd: binary('containerd', 2000),
  'containerd-shim-runc-v2': binary('containerd-shim-runc-v2'),
  ctr: binary('ctr'),
  'containerd-stress': binary('containerd-stress'),
  runc: binary('runc'),
  bridge: binary('bridge'),
  'host-local': binary('host-local'),
  loopback: binary('loopback'),
  portmap: binary('portmap'),
  firewall: binary('firewall'),
};

export interface WorkerArchives {
  containerd: Buffer;
  cni: Buffer;
  /** containerd without bin/ctr, and CNI plugins without ./portmap: for missing-member errors. */
  containerdWithoutCtr: Buffer;
  cniWithoutPortmap: Buffer;
}

/** Builds the archives once (tar runs a few times); serve them with serveWorkerReleases. */
export async function buildWorkerArchives(): Promise<WorkerArchives> {
  const work = await mkdtemp(join(tmpdir(), 'worker-releases-'));
  try {
    const containerdFiles = ['containerd', 'containerd-shim-runc-v2', 'ctr', 'containerd-stress'] as const;
    const cniFiles = ['bridge', 'host-local', 'loopback', 'portmap', 'firewall'] as const;
    const make = async (name: string, files: readonly (keyof typeof workerBinaries)[], layout: 'bin-dir' | 'dot'): Promise<Buffer> => {
      const root = join(work, name);
      const bin = join(root, 'bin');
      await mkdir(bin, { recursive: true });
      for (const file of files) await writeFile(join(bin, file), workerBinaries[file], { mode: 0o755 });
      const out = join(work, `${name}.tar.gz`);
      // containerd: `tar -czf ... bin` (members bin/containerd); CNI: `tar -C bin -czf ... .` (./bridge).
      execFileSync('tar', layout === 'bin-dir' ? ['-czf', out, '-C', root, 'bin'] : ['--owner=0', '--group=0', '-czf', out, '-C', bin, '.']);
      return readFile(out);
    };
    return {
      containerd: await make('containerd', containerdFiles, 'bin-dir'),
      cni: await make('cni', cniFiles, 'dot'),
      containerdWithoutCtr: await make('containerd-no-ctr', containerdFiles.filter((file) => file !== 'ctr'), 'bin-dir'),
      cniWithoutPortmap: await make('cni-no-portmap', cniFiles.filter((file) => file !== 'portmap'), 'dot'),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Upstream paths of the amd64 files, relative to each release's base URL. */
export const workerPaths = {
  kubelet: '/release/v1.32.3/bin/linux/amd64/kubelet',
  kubeProxy: '/release/v1.32.3/bin/linux/amd64/kube-proxy',
  containerd: '/containerd/containerd/releases/download/v1.7.24/containerd-1.7.24-linux-amd64.tar.gz',
  runc: '/opencontainers/runc/releases/download/v1.2.3/runc.amd64',
  runcSums: '/opencontainers/runc/releases/download/v1.2.3/runc.sha256sum',
  cni: '/containernetworking/plugins/releases/download/v1.6.1/cni-plugins-linux-amd64-v1.6.1.tgz',
};

/** Puts the amd64 worker releases on `server` (replacing what it served) and returns their base URLs. */
export function serveWorkerReleases(server: ReleaseServer, archives: WorkerArchives, choose: Partial<Pick<WorkerArchives, 'containerd' | 'cni'>> = {}): ReleaseUrls {
  const containerd = choose.containerd ?? archives.containerd;
  const cni = choose.cni ?? archives.cni;
  const files = server.files;
  for (const [path, data] of [
    [workerPaths.kubelet, workerBinaries.kubelet],
    [workerPaths.kubeProxy, workerBinaries['kube-proxy']],
  ] as const) {
    files.set(path, data);
    files.set(`${path}.sha256`, sha(data));
  }
  // GitHub answers release downloads with a redirect to its object storage.
  files.set(workerPaths.containerd, { redirect: '/objects/containerd.tar.gz' });
  files.set('/objects/containerd.tar.gz', containerd);
  files.set(`${workerPaths.containerd}.sha256sum`, `${sha(containerd)}  containerd-1.7.24-linux-amd64.tar.gz\n`);
  files.set(workerPaths.runc, workerBinaries.runc);
  files.set(workerPaths.runcSums, `${sha('arm64 runc')}  runc.arm64\n${sha(workerBinaries.runc)}  runc.amd64\n`);
  files.set(workerPaths.cni, cni);
  files.set(`${workerPaths.cni}.sha256`, `${sha(cni)}  cni-plugins-linux-amd64-v1.6.1.tgz\n`);
  return {
    kubernetes: `${server.url}/release`,
    etcd: `${server.url}/etcd-io/etcd/releases/download`,
    containerd: `${server.url}/containerd/containerd/releases/download`,
    runc: `${server.url}/opencontainers/runc/releases/download`,
    cniPlugins: `${server.url}/containernetworking/plugins/releases/download`,
  };
}
