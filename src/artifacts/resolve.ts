// Chooses where a run's binaries come from (an artifacts directory, or upstream through the
// cache) and returns verified local files for the requested names and architecture.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { RunContext } from '../modules/module.ts';
import { cachedArtifact } from './cache.ts';
import { artifactSource, DEFAULT_RELEASE_URLS, type Arch, type ArtifactName, type Release, type ReleaseUrls } from './catalog.ts';
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

/** The environment variable that points each release at a mirror (a tree laid out like upstream's). */
export const RELEASE_URL_ENV: Record<Release, string> = {
  kubernetes: 'HARDWAY_KUBERNETES_RELEASE_URL',
  etcd: 'HARDWAY_ETCD_RELEASE_URL',
  containerd: 'HARDWAY_CONTAINERD_RELEASE_URL',
  runc: 'HARDWAY_RUNC_RELEASE_URL',
  cniPlugins: 'HARDWAY_CNI_RELEASE_URL',
};

/** Upstream base URLs, each overridable for mirrors by its RELEASE_URL_ENV variable. */
export function releaseUrls(env: NodeJS.ProcessEnv = process.env): ReleaseUrls {
  const urls = { ...DEFAULT_RELEASE_URLS };
  for (const release of Object.keys(urls) as Release[]) urls[release] = env[RELEASE_URL_ENV[release]] || urls[release];
  return urls;
}

/** Verified local copies of `names` for one architecture, downloading what the cache lacks. */
export async function resolveArtifacts(run: Pick<RunContext, 'options' | 'spec' | 'clusterDir' | 'specFile' | 'hashes'>, names: readonly ArtifactName[], options: ResolveOptions): Promise<ResolvedArtifact[]> {
  const location = artifactsLocation(run, options.env, options.urls);
  if (location.kind === 'directory') {
    return artifactsFromDirectory(location.dir, names, { versions: run.spec.versions, arch: options.arch, specFile: run.specFile, ...(run.hashes ? { hashes: run.hashes } : {}) });
  }
  const resolved: ResolvedArtifact[] = [];
  for (const name of names) {
    const source = artifactSource(name, run.spec.versions, options.arch, location.urls);
    resolved.push(await cachedArtifact(source, { cacheDir: location.cacheDir, signal: options.signal, log: options.log }));
  }
  return resolved;
}

function fromClusterDir(clusterDir: string, path: string): string {
  return isAbsolute(path) ? path : join(clusterDir, path);
}
