// Room for more nodes under fs.inotify.max_user_instances. The limit is per user, and every root
// process on this machine shares it, every node's too: each node's systemd, journald, dbus and
// logind and, in a worker, containerd and kubelet open inotify instances. A node that finds none left fails
// to boot with "Failed to create inotify object: Too many open files", far from the cause; the
// lab checks before booting instead, and says what to raise.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { PrerequisiteError } from '../../errors.ts';

/** Measured here (ENVIRONMENT.md): what one booted node uses, with a little room. */
export const INOTIFY_PER_NODE = 10;
export const INOTIFY_PER_WORKER = 14;

export const INOTIFY_SYSCTL = 'fs.inotify.max_user_instances';

/** One process as far as this check cares: its effective uid and where its fds point. */
export interface ProcessFds {
  pid: number;
  euid: number;
  fdTargets: readonly string[];
}

/**
 * Inotify instances uid 0 holds now: fds that read `anon_inode:inotify`. An instance inherited or
 * duplicated into several fds counts once per fd, so this may over-count a little, never under.
 */
export function countRootInotify(processes: readonly ProcessFds[]): number {
  let count = 0;
  for (const process of processes) {
    if (process.euid !== 0) continue;
    for (const target of process.fdTargets) if (target === 'anon_inode:inotify') count++;
  }
  return count;
}

export interface InotifyRoom {
  limit: number;
  inUse: number;
  /** Nodes about to boot, by kind. */
  plain: number;
  workers: number;
}

export function inotifyNeeded(room: Pick<InotifyRoom, 'plain' | 'workers'>): number {
  return room.plain * INOTIFY_PER_NODE + room.workers * INOTIFY_PER_WORKER;
}

/** The refusal when the nodes to boot would not fit, else undefined. */
export function inotifyShortfall(room: InotifyRoom): PrerequisiteError | undefined {
  const needed = inotifyNeeded(room);
  if (needed === 0 || room.inUse + needed <= room.limit) return undefined;
  const nodes = [room.plain ? `${room.plain} node${room.plain > 1 ? 's' : ''}` : '', room.workers ? `${room.workers} worker${room.workers > 1 ? 's' : ''}` : ''].filter(Boolean).join(' and ');
  const suggested = Math.max(512, nextPowerOfTwo(room.inUse + needed));
  return new PrerequisiteError(
    `${INOTIFY_SYSCTL} is ${room.limit} and root already uses ${room.inUse} inotify instances; booting ${nodes} needs about ${needed} more (${INOTIFY_PER_NODE} per node, ${INOTIFY_PER_WORKER} per worker), so a node would fail to boot`,
    { hint: `Raise the limit on this machine: \`sysctl ${INOTIFY_SYSCTL}=${suggested}\` (it is shared by every root process), or destroy a lab you no longer need.` },
  );
}

function nextPowerOfTwo(value: number): number {
  let power = 1;
  while (power < value) power *= 2;
  return power;
}

/** Every process's effective uid and fd targets, from /proc (processes that exit meanwhile are skipped). */
export async function readProcessFds(proc = '/proc'): Promise<ProcessFds[]> {
  const found: ProcessFds[] = [];
  for (const entry of await readdir(proc)) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`${proc}/${entry}/status`, 'utf8').catch(() => '');
    const euid = /^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1];
    if (euid === undefined) continue;
    const fds = await readdir(`${proc}/${entry}/fd`).catch(() => [] as string[]);
    const fdTargets = await Promise.all(fds.map((fd) => readlink(`${proc}/${entry}/fd/${fd}`).catch(() => '')));
    found.push({ pid: Number(entry), euid: Number(euid), fdTargets });
  }
  return found;
}

/** Why: refuse before booting nodes that could not all boot, naming the setting and the numbers. */
export async function checkInotifyRoom(nodes: { plain: number; workers: number }): Promise<void> {
  if (nodes.plain + nodes.workers === 0) return;
  const limit = Number((await readFile('/proc/sys/fs/inotify/max_user_instances', 'utf8')).trim());
  const shortfall = inotifyShortfall({ limit, inUse: countRootInotify(await readProcessFds()), ...nodes });
  if (shortfall) throw shortfall;
}
