// What makes a lab node able to run real pods (containerd, runc, kubelet) inside systemd-nspawn,
// on the host side: extra nspawn options, host directories for the container runtime's state, and
// a route for the service CIDR. What is done inside the node is in worker-setup.ts.
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Role } from '../../inventory/node.ts';
import { WORKER_SETUP_UNIT } from './worker-setup.ts';

/**
 * Capabilities every node keeps beyond nspawn's default set. CAP_NET_ADMIN: the routes step
 * installs routes to the workers' pod ranges on every node (controllers included, so they reach
 * pods); it acts on the node's own network namespace only.
 */
export const NODE_CAPABILITIES: readonly string[] = ['CAP_NET_ADMIN'];

/**
 * Capabilities a worker keeps beyond nspawn's default set. CAP_NET_ADMIN: the CNI bridge plugin
 * makes bridges, veths and iptables rules, kube-proxy writes iptables. CAP_SYSLOG: kubelet's OOM
 * watcher reads the kernel log (/dev/kmsg).
 */
export const WORKER_CAPABILITIES: readonly string[] = [...NODE_CAPABILITIES, 'CAP_SYSLOG'];

/**
 * Directories of a worker kept on a host directory (a real filesystem) instead of the node's
 * overlay root: containerd's overlayfs snapshotter cannot use an overlay upper dir that is itself
 * on an overlay, and kubelet's pod volumes and the pods' logs belong with the runtime's state.
 * The mode is what the node sees on the bind mount.
 */
export const WORKER_STATE_DIRS: readonly { inside: string; mode: number }[] = [
  { inside: '/var/lib/containerd', mode: 0o711 },
  { inside: '/var/lib/kubelet', mode: 0o700 },
  { inside: '/var/log/pods', mode: 0o755 },
];

export function isWorker(node: { roles: readonly Role[] }): boolean {
  return node.roles.includes('worker');
}

/** The host directory holding one bound directory: `<node>/state/var-lib-containerd`. */
export function workerStatePath(stateRoot: string, inside: string): string {
  return join(stateRoot, inside.replace(/^\/+/, '').replaceAll('/', '-'));
}

/**
 * nspawn options only workers get (beyond their capabilities, see nspawnArgs). `@keyring`: runc gives each container a session keyring
 * (keyctl), which nspawn's default seccomp filter refuses. /dev/kmsg read-only: the kernel log is
 * the host's, kubelet only reads it.
 */
export function workerNspawnArgs(stateRoot: string): string[] {
  return [
    '--system-call-filter=@keyring',
    '--bind-ro=/dev/kmsg',
    ...WORKER_STATE_DIRS.map(({ inside }) => `--bind=${workerStatePath(stateRoot, inside)}:${inside}`),
  ];
}

/** Create (or repair the modes of) the worker's state directories before nspawn binds them. */
export async function prepareWorkerState(stateRoot: string): Promise<void> {
  await mkdir(stateRoot, { recursive: true, mode: 0o755 });
  for (const { inside, mode } of WORKER_STATE_DIRS) {
    const path = workerStatePath(stateRoot, inside);
    await mkdir(path, { recursive: true, mode });
    await chmod(path, mode);
  }
}

/**
 * The node's namespace has no default route (nothing may leave the bridge), so a process on a
 * worker's own network (kubelet, a host-network pod) could not even start a connection to a
 * Service IP: the route lookup fails before kube-proxy's DNAT rewrites the address. A route for
 * the service CIDR on eth0 is enough for the lookup; the DNAT then sends it to a real endpoint.
 */
export function serviceRouteArgs(netns: string, serviceCIDR: string): string[] {
  return ['-n', netns, 'route', 'replace', serviceCIDR, 'dev', 'eth0'];
}

/** What booting a worker adds to a plain node, for `hardway plan` (one line). */
export function workerPlan(stateRoot: string, serviceCIDR: string): string {
  return `as a worker: ${WORKER_CAPABILITIES.join(',')}, @keyring syscalls, /dev/kmsg read-only; ${WORKER_STATE_DIRS.map(({ inside }) => inside).join(', ')} on ${stateRoot}; a cgroup of its own in every v1 hierarchy; ${WORKER_SETUP_UNIT} inside; route ${serviceCIDR} dev eth0`;
}
