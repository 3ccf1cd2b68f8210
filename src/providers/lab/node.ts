// One lab node's life on this machine: overlay root, network namespace, nspawn process. Every
// function here finds what exists from the system itself (mountinfo, /proc, /run/netns), so a
// crashed run's leftovers are recognised without trusting any record.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, chmod, mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Role } from '../../inventory/node.ts';
import { removeNodeCgroups } from './cgroups.ts';
import { runCommand } from './exec.ts';
import { currentMountPoints, overlayMountArgs, removeTree, unmountBelow } from './mounts.ts';
import { machineName, macAddress, netnsName, nodePaths, vethName, type NodePaths } from './names.ts';
import { createNodeNetwork, deleteNodeNetwork, hostLinkMasters, netnsExists, nodeNetworkIntact, type NodeLink } from './network.ts';
import { spawnNspawn } from './nspawn.ts';
import { containerInitPid, findNspawnPids, nspawnPidsByMachine, signalProcess, waitForExit } from './processes.ts';
import { isWorker, prepareWorkerState, serviceRouteArgs } from './worker.ts';
import { seedWorkerSetup } from './worker-setup.ts';

/** Where and how the nodes of one cluster live on this machine. */
export interface LabSite {
  /** The lab root holding every cluster's runtime dirs. */
  root: string;
  cluster: string;
  bridge: string;
  prefixLength: number;
  /** The spec's network.serviceCIDR: workers get a route for it (worker.ts). */
  serviceCIDR: string;
  signal?: AbortSignal;
  log: (line: string) => void;
}

export interface LabNodeIdentity {
  name: string;
  ip: string;
  /** A worker's container gets what running pods needs (worker.ts, worker-setup.ts). */
  roles: readonly Role[];
}

export function nodeLink(site: LabSite, node: LabNodeIdentity): NodeLink {
  return {
    netns: netnsName(site.cluster, node.name),
    veth: vethName(site.cluster, node.name),
    bridge: site.bridge,
    ip: node.ip,
    prefixLength: site.prefixLength,
    mac: macAddress(site.cluster, node.name),
  };
}

export function pathsOf(site: LabSite, name: string): NodePaths {
  return nodePaths(site.root, site.cluster, name);
}

export interface NodeProbe {
  running: boolean;
  pids: number[];
  /** Why it is not running, for the log: "no nspawn process", "overlay not mounted". */
  reason: string;
}

/**
 * Why: `infra` probes every node on every run; the process table, the mount table and the host's
 * links are read once for all of them, so a probe's cost does not grow with the size of the lab.
 * Only each node's own namespace is asked on its own, in parallel. Running means: exactly one nspawn
 * process for it, its overlay mounted, its network intact.
 */
export async function probeNodes(site: LabSite, nodes: readonly LabNodeIdentity[]): Promise<NodeProbe[]> {
  const [pidsByMachine, mounts, masters] = await Promise.all([nspawnPidsByMachine(), currentMountPoints(), hostLinkMasters(site.signal)]);
  const mounted = new Set(mounts);
  return Promise.all(
    nodes.map(async (node): Promise<NodeProbe> => {
      const pids = pidsByMachine.get(machineName(site.cluster, node.name)) ?? [];
      let reason = '';
      if (pids.length === 0) reason = 'no nspawn process';
      else if (pids.length > 1) reason = `${pids.length} nspawn processes`;
      else if (!mounted.has(resolve(pathsOf(site, node.name).merged))) reason = 'overlay not mounted';
      else if (!(await nodeNetworkIntact(nodeLink(site, node), masters, site.signal))) reason = 'network namespace or link missing';
      return { running: reason === '', pids, reason };
    }),
  );
}

/** Boot a node from a clean slate (no process, mount or namespace of it left): returns nspawn's PID. */
export async function startNode(site: LabSite, node: LabNodeIdentity, image: string, publicKey: string): Promise<number> {
  const paths = pathsOf(site, node.name);
  // The node dir keeps other users of this machine out; the upper dir is the node's `/` (its mode
  // is what the container sees), so it must be 0755 or services running as non-root users fail.
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  for (const dir of [paths.upper, paths.work, paths.merged]) await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(paths.upper, 0o755);
  const lower = await lowerFor(site, paths, node.name, image);
  await runCommand('mount', overlayMountArgs(lower, paths.upper, paths.work, paths.merged), { signal: site.signal, purpose: `mount the root of node ${node.name}` });
  await seedRoot(paths, node, publicKey);
  const worker = isWorker(node);
  if (worker) {
    await prepareWorkerState(paths.workerState);
    await seedWorkerSetup(paths.merged);
  }
  const link = nodeLink(site, node);
  // The namespace is made anew at every start, so the worker's service route comes back with it.
  await createNodeNetwork(link, site.signal);
  if (worker) await runCommand('ip', serviceRouteArgs(link.netns, site.serviceCIDR), { signal: site.signal, purpose: `route the service CIDR on node ${node.name}` });
  await writeFile(paths.consoleLog, '', { mode: 0o600 });
  const pid = await spawnNspawn(
    { root: paths.merged, netns: link.netns, machine: machineName(site.cluster, node.name), hostname: node.name, ...(worker ? { workerState: paths.workerState } : {}) },
    paths.consoleLog,
  );
  await writeFile(paths.pidFile, `${pid}\n`);
  return pid;
}

/**
 * An overlay's upper layer belongs to the image it was made on. A node restarted after hardway
 * moved to a newer image keeps its own while that is still cached; `replace` moves it to the new one.
 */
async function lowerFor(site: LabSite, paths: NodePaths, name: string, image: string): Promise<string> {
  const recorded = (await readFile(paths.imageRecord, 'utf8').catch(() => '')).trim();
  if (recorded && existsSync(paths.seededMarker)) {
    if (recorded === image || existsSync(recorded)) return recorded;
    site.log(`node ${name}: its image ${recorded} is no longer cached; booting its disk on ${image}`);
  }
  await writeFile(paths.imageRecord, `${image}\n`);
  return image;
}

/**
 * Files a node needs before it boots, written through the overlay into its own layer: the cluster
 * key always; hostname, /etc/hosts and a machine-id only on its first boot (later the hosts step
 * owns /etc/hosts, and a reboot must not change the machine's identity).
 */
async function seedRoot(paths: NodePaths, node: LabNodeIdentity, publicKey: string): Promise<void> {
  const root = paths.merged;
  const sshDir = join(root, 'root/.ssh');
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  await chmod(sshDir, 0o700);
  const authorized = join(sshDir, 'authorized_keys');
  const current = await readFile(authorized, 'utf8').catch(() => '');
  if (!current.split('\n').includes(publicKey)) await appendFile(authorized, `${current && !current.endsWith('\n') ? '\n' : ''}${publicKey}\n`, { mode: 0o600 });
  await chmod(authorized, 0o600);
  if (existsSync(paths.seededMarker)) return;
  await writeFile(join(root, 'etc/hostname'), `${node.name}\n`);
  await writeFile(join(root, 'etc/hosts'), hostsFile(node));
  await writeFile(join(root, 'etc/machine-id'), `${randomBytes(16).toString('hex')}\n`, { mode: 0o444 });
  await writeFile(paths.seededMarker, `${new Date().toISOString()}\n`);
}

export function hostsFile(node: Pick<LabNodeIdentity, 'name' | 'ip'>): string {
  return ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `${node.ip}\t${node.name}`, ''].join('\n');
}

export interface StopOptions {
  /** Kill at once, like pulling the power; otherwise a clean poweroff, then a kill after the bound. */
  hard?: boolean;
  timeoutMs?: number;
}

/**
 * Why: destroy and rebuild must end every process of a node. nspawn turns SIGTERM into an orderly
 * halt of the container; killing the container's PID 1 ends its whole PID namespace at once.
 * Killing nspawn alone would orphan the container, so stragglers are found by namespace too.
 * Returns true when something was running.
 */
export async function stopNodeProcesses(site: LabSite, name: string, options: StopOptions = {}): Promise<boolean> {
  const machine = machineName(site.cluster, name);
  const netns = netnsName(site.cluster, name);
  const pids = await findNspawnPids(machine);
  const stragglers = await netnsPids(netns, site.signal);
  if (!pids.length && !stragglers.length) return false;
  let stopped = false;
  if (!options.hard && pids.length) {
    for (const pid of pids) signalProcess(pid, 'SIGTERM');
    stopped = await waitForExit(pids, options.timeoutMs ?? 20_000);
    if (!stopped) site.log(`node ${name} did not power off within ${Math.round((options.timeoutMs ?? 20_000) / 1000)} s; killing it`);
  }
  if (!stopped) {
    for (const pid of pids) {
      const init = await containerInitPid(pid);
      if (init) signalProcess(init, 'SIGKILL');
    }
    if (!(await waitForExit(pids, 5000))) for (const pid of pids) signalProcess(pid, 'SIGKILL');
  }
  const left = await netnsPids(netns, site.signal);
  for (const pid of left) signalProcess(pid, 'SIGKILL');
  if (!(await waitForExit([...pids, ...left], 10_000))) {
    throw new Error(`processes of node ${name} survived SIGKILL: ${[...pids, ...left].join(', ')}`);
  }
  return true;
}

/** Every process whose network namespace is the node's (what `ip netns pids` lists). */
async function netnsPids(netns: string, signal?: AbortSignal): Promise<number[]> {
  if (!netnsExists(netns)) return [];
  const { stdout } = await runCommand('ip', ['netns', 'pids', netns], { signal, allowFailure: true });
  return stdout.split(/\s+/).filter(Boolean).map(Number).filter((pid) => pid !== process.pid);
}

export interface CleanupOptions {
  /** Also delete the node's own layer (its disk): for replace and destroy. */
  discardUpper?: boolean;
  /** Delete the node's runtime directory entirely: for destroy. */
  removeDir?: boolean;
}

/** Tear down whatever of a node exists (process, mount, namespace, link); returns what was removed. */
export async function cleanupNode(site: LabSite, name: string, options: CleanupOptions = {}): Promise<string[]> {
  const removed: string[] = [];
  if (await stopNodeProcesses(site, name, { hard: true })) removed.push(`process of node ${name}`);
  const paths = pathsOf(site, name);
  for (const point of await unmountBelow(paths.dir, site.signal)) removed.push(`mount ${point}`);
  removed.push(...(await deleteNodeNetwork(netnsName(site.cluster, name), vethName(site.cluster, name), site.signal)));
  removed.push(...(await removeNodeCgroups(machineName(site.cluster, name))));
  // nspawn leaves an empty per-machine directory behind when /run is not a tmpfs.
  await rmdir(`/run/systemd/nspawn/propagate/${machineName(site.cluster, name)}`).catch(() => undefined);
  if (options.removeDir) {
    if (existsSync(paths.dir)) {
      await removeTree(paths.dir, site.signal);
      removed.push(`directory ${paths.dir}`);
    }
  } else if (options.discardUpper) {
    for (const dir of [paths.upper, paths.work, paths.workerState]) await removeTree(dir, site.signal);
    await rm(paths.seededMarker, { force: true });
    await rm(paths.imageRecord, { force: true });
  }
  return removed;
}
