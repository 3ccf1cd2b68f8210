// A control group per node. With --keep-unit, nspawn puts itself and its container in
// `supervisor` and `payload` below the cgroup it was started in; nodes started from the same
// cgroup would then share one `payload` tree, and their systemds fight over it (dbus never
// starts, boot never finishes). So each node's nspawn starts in a cgroup of its own.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface CgroupHierarchy {
  mount: string;
  /** `unified`: the cgroup2 tree; `systemd`: the named v1 tree systemd tracks processes in (hybrid or legacy hosts). */
  kind: 'unified' | 'systemd';
}

/** The hierarchies nspawn manages, from a mountinfo text. */
export function parseCgroupHierarchies(mountinfo: string): CgroupHierarchy[] {
  const found: CgroupHierarchy[] = [];
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const mount = before.split(' ')[4];
    const [fstype, , superOptions = ''] = after.split(' ');
    if (!mount) continue;
    if (fstype === 'cgroup2') found.push({ mount, kind: 'unified' });
    else if (fstype === 'cgroup' && superOptions.split(',').includes('name=systemd')) found.push({ mount, kind: 'systemd' });
  }
  return found;
}

/** Where a node's cgroup lives in each hierarchy. */
export function nodeCgroupDirs(hierarchies: readonly CgroupHierarchy[], machine: string): string[] {
  return hierarchies.map((hierarchy) => join(hierarchy.mount, 'hardway', machine));
}

/** True when systemd is this machine's init (sd_booted): then systemd-run gives each node a scope. */
export function systemdIsInit(): boolean {
  return existsSync('/run/systemd/system');
}

async function hierarchies(): Promise<CgroupHierarchy[]> {
  return parseCgroupHierarchies(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** Create the node's cgroups (mkdir in a cgroup filesystem creates a group); returns their dirs. */
export async function prepareNodeCgroups(machine: string): Promise<string[]> {
  const dirs = nodeCgroupDirs(await hierarchies(), machine);
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  return dirs;
}

/**
 * Remove the node's cgroups once its processes are gone. A cgroup is removed with rmdir, children
 * first; its files are virtual and go with it. A stopped container leaves its own groups behind.
 */
export async function removeNodeCgroups(machine: string): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of nodeCgroupDirs(await hierarchies(), machine)) {
    if (!existsSync(dir)) continue;
    await removeGroupTree(dir);
    removed.push(`cgroup ${dir}`);
    // The shared `hardway` parent goes with the last node of any cluster.
    await rmdir(join(dir, '..')).catch(() => undefined);
  }
  return removed;
}

async function removeGroupTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isDirectory()) await removeGroupTree(join(dir, entry.name));
  try {
    await rmdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`could not remove the cgroup ${dir}: ${(error as Error).message}`);
  }
}
