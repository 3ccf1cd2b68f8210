// Chooses where a run's binaries come from (an artifacts directory, or upstream through the
// cache) and returns verified local files for the requested names and architecture.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { RunContext } from '../engine/context.ts';
import { cachedEtcdBinary, cachedKubernetesBinary } from './cache.ts';
import { artifactSource, DEFAULT_RELEASE_URLS, type Arch, type ArtifactName, type ReleaseUrls } from './catalog.ts';
import { artifactsFromDirectory } from './local-dir.ts';
import type { ResolvedArtifact } from './resolved.ts';

export type ArtifactsLocation = { kind: 'directory'; dir: string } | { kind: 'download'; cacheDir: string; urls: ReleaseUrls };

export interface ResolveOptions {
  arch: Arch;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Base URLs; default: the environment's overrides, else upstream. */
  urls?: ReleaseUrls;
  env?: NodeJS.ProcessEnv;
}

/** Why: --artifacts-dir beats artifacts.dir beats downloading; one rule for modules and `explain`. */
export function artifactsLocation(run: Pick<RunContext, 'options' | 'spec' | 'clusterDir'>, env: NodeJS.ProcessEnv = process.env, urls?: ReleaseUrls): ArtifactsLocation {
  if (run.options.artifactsDir) return { kind: 'directory', dir: resolve(run.options.artifactsDir) };
  if (run.spec.artifacts.dir) return { kind: 'directory', dir: fromClusterDir(run.clusterDir, run.spec.artifacts.dir) };
  const cacheDir = run.spec.artifacts.cacheDir
    ? fromClusterDir(run.clusterDir, run.spec.artifacts.cacheDir)
    : join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'hardway', 'artifacts');
  return { kind: 'download', cacheDir, urls: urls ?? releaseUrls(env) };
}

/** Upstream base URLs, overridable for mirrors: HARDWAY_KUBERNETES_RELEASE_URL, HARDWAY_ETCD_RELEASE_URL. */
export function releaseUrls(env: NodeJS.ProcessEnv = process.env): ReleaseUrls {
  return {
    kubernetes: env.HARDWAY_KUBERNETES_RELEASE_URL || DEFAULT_RELEASE_URLS.kubernetes,
    etcd: env.HARDWAY_ETCD_RELEASE_URL || DEFAULT_RELEASE_URLS.etcd,
  };
}

/** Verified local copies of `names` for one architecture, downloading what the cache lacks. */
export async function resolveArtifacts(run: Pick<RunContext, 'options' | 'spec' | 'clusterDir' | 'specFile'>, names: readonly ArtifactName[], options: ResolveOptions): Promise<ResolvedArtifact[]> {
  const location = artifactsLocation(run, options.env, options.urls);
  if (location.kind === 'directory') {
    return artifactsFromDirectory(location.dir, names, { versions: run.spec.versions, arch: options.arch, specFile: run.specFile });
  }
  const resolved: ResolvedArtifact[] = [];
  for (const name of names) {
    const source = artifactSource(name, run.spec.versions, options.arch, location.urls);
    const cacheOptions = { cacheDir: location.cacheDir, signal: options.signal, log: options.log };
    resolved.push(source.kind === 'etcd' ? await cachedEtcdBinary(source, cacheOptions) : await cachedKubernetesBinary(source, cacheOptions));
  }
  return resolved;
}

function fromClusterDir(clusterDir: string, path: string): string {
  return isAbsolute(path) ? path : join(clusterDir, path);
}
