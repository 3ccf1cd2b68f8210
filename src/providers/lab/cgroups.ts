// A control group per node. With --keep-unit, nspawn puts itself and its container in
// `supervisor` and `payload` below the cgroup it was started in; nodes started from the same
// cgroup would then share one `payload` tree, and their systemds fight over it (dbus never
// starts, boot never finishes). So each node's nspawn starts in a cgroup of its own.
//
// A worker goes further. On a host that mixes v1 controller hierarchies (cpu, memory, pids, ...)
// with an empty cgroup2 mount, nspawn mounts, inside the node, each v1 hierarchy at the group its
// own process is in. Left in the host's root group, every worker would see the same tree and all
// kubelets would share one /kubepods, each deleting the others' pods' groups. So a worker's nspawn
// first joins a group of its own in every v1 hierarchy too.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { poll, PollTimeout } from '../../util/poll.ts';

export interface CgroupHierarchy {
  mount: string;
  /**
   * `unified`: the cgroup2 tree; `systemd`: the named v1 tree systemd tracks processes in (hybrid
   * or legacy hosts); `controller`: a v1 hierarchy of resource controllers (cpu, memory, ...).
   */
  kind: 'unified' | 'systemd' | 'controller';
  /** The v1 controllers of a `controller` hierarchy (`cpu`, `cpuacct` when co-mounted). */
  controllers: string[];
}

/** The parent every lab node's group lives in, in each hierarchy. */
export const CGROUP_PARENT = 'hardway';

/** The cgroup hierarchies mounted on this machine, from a mountinfo text. */
export function parseCgroupHierarchies(mountinfo: string): CgroupHierarchy[] {
  const found: CgroupHierarchy[] = [];
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const mount = before.split(' ')[4];
    const [fstype, , superOptions = ''] = after.split(' ');
    if (!mount) continue;
    const options = superOptions.split(',');
    if (fstype === 'cgroup2') found.push({ mount, kind: 'unified', controllers: [] });
    else if (fstype === 'cgroup' && options.includes('name=systemd')) found.push({ mount, kind: 'systemd', controllers: [] });
    else if (fstype === 'cgroup') found.push({ mount, kind: 'controller', controllers: options.filter((option) => V1_CONTROLLERS.has(option)) });
  }
  return found;
}

const V1_CONTROLLERS = new Set(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'net_cls', 'net_prio', 'perf_event', 'hugetlb', 'rdma', 'misc']);

/** One hierarchy's part of a node's placement: the groups to create, parent first. */
export interface CgroupPlacement {
  hierarchy: CgroupHierarchy;
  /** `<mount>/hardway`, then `<mount>/hardway/<machine>`: the group the nspawn process joins. */
  levels: string[];
  /** cpuset: a new group has no CPUs or memory nodes and refuses processes until given its parent's. */
  copyCpuset: boolean;
}

/**
 * Where a node's nspawn process goes. Every node: the systemd and cgroup2 trees (which nspawn
 * manages). A worker: every v1 controller hierarchy as well, so its kubelet has a tree of its own.
 */
export function planNodeCgroups(hierarchies: readonly CgroupHierarchy[], machine: string, worker: boolean): CgroupPlacement[] {
  return hierarchies
    .filter((hierarchy) => hierarchy.kind !== 'controller' || worker)
    .map((hierarchy) => ({
      hierarchy,
      levels: [join(hierarchy.mount, CGROUP_PARENT), join(hierarchy.mount, CGROUP_PARENT, machine)],
      copyCpuset: hierarchy.controllers.includes('cpuset'),
    }));
}

/** Where a node's group is in every hierarchy (whatever its role: removal looks everywhere). */
export function nodeCgroupDirs(hierarchies: readonly CgroupHierarchy[], machine: string): string[] {
  return hierarchies.map((hierarchy) => join(hierarchy.mount, CGROUP_PARENT, machine));
}

/**
 * The order to remove a tree of groups in: a group can only be removed (rmdir) once it has no
 * child groups, so deepest first; siblings in a stable order.
 */
export function removalOrder(dirs: readonly string[]): string[] {
  const depth = (dir: string) => dir.split(sep).filter(Boolean).length;
  return [...new Set(dirs)].sort((a, b) => depth(b) - depth(a) || a.localeCompare(b));
}

/** True when systemd is this machine's init (sd_booted): then systemd-run gives each node a scope. */
export function systemdIsInit(): boolean {
  return existsSync('/run/systemd/system');
}

async function hierarchies(): Promise<CgroupHierarchy[]> {
  return parseCgroupHierarchies(await readFile('/proc/self/mountinfo', 'utf8'));
}

/**
 * Create the node's cgroups (mkdir in a cgroup filesystem creates a group), level by level so a
 * new cpuset group gets its parent's CPUs and memory nodes before anything joins it. Returns the
 * groups the nspawn process must join.
 */
export async function prepareNodeCgroups(machine: string, worker: boolean): Promise<string[]> {
  const groups: string[] = [];
  for (const placement of planNodeCgroups(await hierarchies(), machine, worker)) {
    let parent = placement.hierarchy.mount;
    for (const level of placement.levels) {
      await mkdir(level, { recursive: true });
      if (placement.copyCpuset) await inheritCpuset(parent, level);
      parent = level;
    }
    groups.push(placement.levels.at(-1)!);
  }
  return groups;
}

async function inheritCpuset(parent: string, group: string): Promise<void> {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    if ((await readFile(join(group, file), 'utf8')).trim() !== '') continue;
    const value = (await readFile(join(parent, file), 'utf8')).trim();
    try {
      await writeFile(join(group, file), value);
    } catch (error) {
      throw new Error(`could not give the cgroup ${group} its parent's ${file} (${value}): ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * Remove the node's cgroups once its processes are gone, in every hierarchy. A cgroup is removed
 * with rmdir, children first; its files are virtual and go with it. A stopped container leaves its
 * own groups behind (nspawn's payload, a worker's kubepods and containerd's groups).
 */
export async function removeNodeCgroups(machine: string): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of nodeCgroupDirs(await hierarchies(), machine)) {
    if (!existsSync(dir)) continue;
    for (const group of removalOrder(await groupTree(dir))) await removeGroup(group);
    removed.push(`cgroup ${dir}`);
    // The shared `hardway` parent goes with the last node of any cluster.
    await rmdir(join(dir, '..')).catch(() => undefined);
  }
  return removed;
}

/** The group and every group below it (directories; a group's files are never directories). */
async function groupTree(dir: string): Promise<string[]> {
  const found = [dir];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isDirectory()) found.push(...(await groupTree(join(dir, entry.name))));
  return found;
}

/** Processes killed a moment ago may still be leaving their group (EBUSY): a few short retries. */
async function removeGroup(group: string): Promise<void> {
  let failure: unknown;
  try {
    await poll(
      async () => {
        try {
          await rmdir(group);
          return true;
        } catch (error) {
          failure = error;
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') return true;
          if (code === 'EBUSY') return undefined;
          throw error;
        }
      },
      { timeoutMs: 2000, intervalMs: 100 },
    );
  } catch (error) {
    const cause = error instanceof PollTimeout ? failure : error;
    const procs = (await readFile(join(group, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
    throw new Error(`could not remove the cgroup ${group}: ${(cause as Error).message}${procs.length ? ` (processes still in it: ${procs.join(', ')})` : ''}`, { cause });
  }
}

