// Paths in the spec are relative to the cluster directory, and may start with `~/`.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { ClusterSpec } from './schema.ts';

/** Why: `ssh.keyPath: ~/.ssh/id_ed25519` and `ssh/id_ed25519` must both mean what a user expects. */
export function resolveSpecPath(clusterDir: string, path: string, home = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return isAbsolute(path) ? path : resolve(clusterDir, path);
}

export function sshKeyPath(spec: ClusterSpec, clusterDir: string): string {
  return resolveSpecPath(clusterDir, spec.ssh.keyPath);
}
