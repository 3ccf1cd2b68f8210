// Names of everything the lab creates on this machine, derived from the cluster and node names.
// Interface names are at most 15 characters, so links carry a short hash of the cluster name;
// namespaces and machines, which have no such limit, keep readable names.
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/** Linux's IFNAMSIZ minus the terminating NUL. */
export const MAX_INTERFACE_NAME = 15;

/** Why: two clusters on one machine must never share a link name, and `ip link` must show whose it is. */
export function linkPrefix(cluster: string): string {
  return `hw${createHash('sha256').update(cluster).digest('hex').slice(0, 6)}`;
}

/** The per-cluster bridge the host and every node's veth attach to. */
export function bridgeName(cluster: string): string {
  return `${linkPrefix(cluster)}-br`;
}

/**
 * The host end of a node's veth pair: `hw1a2b3c-c0` for controller-0, `-e1` for etcd-1, `-l0`
 * for lb-0; other names get a hash so the result always fits 15 characters.
 */
export function vethName(cluster: string, node: string): string {
  const match = /^([a-z])[a-z]*-(\d{1,3})$/.exec(node);
  const suffix = match ? `${match[1]}${match[2]}` : createHash('sha256').update(node).digest('hex').slice(0, 6);
  return `${linkPrefix(cluster)}-${suffix}`;
}

/**
 * A stable, locally administered MAC for a node's eth0 (or, with node `bridge`, for the bridge).
 * Why: a replaced node keeps its address like a rebooted machine keeps its NIC; a new MAC would
 * leave the host's neighbour cache pointing at the old one for half a minute.
 */
export function macAddress(cluster: string, node: string): string {
  const bytes = createHash('sha256').update(`${cluster}/${node}`).digest().subarray(0, 5);
  return ['02', ...[...bytes].map((byte) => byte.toString(16).padStart(2, '0'))].join(':');
}

/** The node's network namespace (`ip netns`), also its nspawn machine name. */
export function netnsName(cluster: string, node: string): string {
  return `hw-${cluster}-${node}`;
}

/** Why: nspawn's -M names the container; it must be unique per machine even across clusters. */
export function machineName(cluster: string, node: string): string {
  return netnsName(cluster, node);
}

/** Where nodes of all clusters keep their overlays: HARDWAY_LAB_DIR or /var/lib/hardway/lab. */
export function labRoot(env: NodeJS.ProcessEnv): string {
  return env.HARDWAY_LAB_DIR || '/var/lib/hardway/lab';
}

/** Where node images are cached: HARDWAY_CACHE_DIR, else the spec's lab.cacheDir, else the default. */
export function cacheRoot(env: NodeJS.ProcessEnv, specCacheDir: string | undefined): string {
  return env.HARDWAY_CACHE_DIR || specCacheDir || '/var/cache/hardway';
}

export function clusterRuntimeDir(root: string, cluster: string): string {
  return join(root, cluster);
}

export interface NodePaths {
  dir: string;
  /** The overlay's writable layer: everything the node changed. */
  upper: string;
  work: string;
  /** The node's root filesystem as the container sees it. */
  merged: string;
  pidFile: string;
  consoleLog: string;
  /** Present once the upper layer got its first-boot files (hostname, machine-id). */
  seededMarker: string;
  /** The image the node's layer was made on: a restart keeps using it while it exists. */
  imageRecord: string;
  /** Workers: host directories bound over the container runtime's state dirs (part of its disk). */
  workerState: string;
}

export function nodePaths(root: string, cluster: string, node: string): NodePaths {
  const dir = join(clusterRuntimeDir(root, cluster), node);
  return {
    dir,
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    merged: join(dir, 'rootfs'),
    pidFile: join(dir, 'nspawn.pid'),
    consoleLog: join(dir, 'console.log'),
    seededMarker: join(dir, 'seeded'),
    imageRecord: join(dir, 'image'),
    workerState: join(dir, 'state'),
  };
}
