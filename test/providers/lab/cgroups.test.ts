import { describe, expect, it } from 'vitest';
import { nodeCgroupDirs, parseCgroupHierarchies, planNodeCgroups, removalOrder } from '../../../src/providers/lab/cgroups.ts';

// This project's machines: v1 controller hierarchies, systemd's named tree and an empty cgroup2.
const HYBRID = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices',
  '37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer',
  '38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio',
  '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  '42 23 0:40 / /proc rw,nosuid - proc proc rw',
].join('\n');

// A systemd distribution's legacy layout: co-mounted controllers, optional fields before ` - `.
const COMOUNTED = [
  '25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct',
  '26 24 0:23 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:10 - cgroup cgroup rw,net_cls,net_prio',
  '27 24 0:24 / /sys/fs/cgroup/cpuset rw,nosuid shared:11 - cgroup cgroup rw,cpuset,clone_children',
].join('\n');

const V1 = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids'];

describe('cgroup hierarchies', () => {
  it('finds every v1 controller hierarchy, systemd\'s tree and the cgroup2 mount, nothing else', () => {
    const found = parseCgroupHierarchies(HYBRID);
    expect(found.filter((h) => h.kind === 'controller').map((h) => h.controllers)).toEqual(V1.map((controller) => [controller]));
    expect(found.filter((h) => h.kind === 'systemd').map((h) => h.mount)).toEqual(['/sys/fs/cgroup/systemd']);
    expect(found.filter((h) => h.kind === 'unified').map((h) => h.mount)).toEqual(['/sys/fs/cgroup/unified']);
    expect(found).toHaveLength(10);
  });

  it('reads co-mounted controllers and ignores mount options that are not controllers', () => {
    expect(parseCgroupHierarchies(COMOUNTED).map((h) => [h.mount, h.controllers])).toEqual([
      ['/sys/fs/cgroup/cpu,cpuacct', ['cpu', 'cpuacct']],
      ['/sys/fs/cgroup/net_cls,net_prio', ['net_cls', 'net_prio']],
      ['/sys/fs/cgroup/cpuset', ['cpuset']],
    ]);
  });
});

describe('placing a node\'s nspawn process', () => {
  const hierarchies = parseCgroupHierarchies(HYBRID);

  it('puts a plain node in a group of its own in systemd\'s tree and cgroup2 only', () => {
    const plan = planNodeCgroups(hierarchies, 'hw-demo-etcd-0', false);
    expect(plan.map((placement) => placement.levels.at(-1))).toEqual(['/sys/fs/cgroup/systemd/hardway/hw-demo-etcd-0', '/sys/fs/cgroup/unified/hardway/hw-demo-etcd-0']);
    expect(plan.some((placement) => placement.copyCpuset)).toBe(false);
  });

  it('puts a worker in a group of its own in every v1 hierarchy too, so kubelets never share /kubepods', () => {
    const plan = planNodeCgroups(hierarchies, 'hw-demo-worker-0', true);
    const groups = plan.map((placement) => placement.levels.at(-1));
    for (const controller of [...V1, 'systemd', 'unified']) expect(groups).toContain(`/sys/fs/cgroup/${controller}/hardway/hw-demo-worker-0`);
    expect(groups).toHaveLength(10);
  });

  it('creates parent first, and gives only cpuset levels their parent\'s CPUs and memory nodes', () => {
    const plan = planNodeCgroups(hierarchies, 'hw-demo-worker-0', true);
    const cpuset = plan.find((placement) => placement.hierarchy.mount === '/sys/fs/cgroup/cpuset')!;
    expect(cpuset.levels).toEqual(['/sys/fs/cgroup/cpuset/hardway', '/sys/fs/cgroup/cpuset/hardway/hw-demo-worker-0']);
    expect(cpuset.copyCpuset).toBe(true);
    expect(plan.filter((placement) => placement.copyCpuset)).toHaveLength(1);
    expect(planNodeCgroups(parseCgroupHierarchies(COMOUNTED), 'm', true).map((placement) => placement.copyCpuset)).toEqual([false, false, true]);
  });

  it('looks for a node\'s groups in every hierarchy when removing, whatever its role', () => {
    expect(nodeCgroupDirs(hierarchies, 'hw-demo-etcd-0')).toHaveLength(10);
  });
});

describe('removing a node\'s groups', () => {
  it('removes children before parents (rmdir refuses a group with child groups)', () => {
    const node = '/sys/fs/cgroup/memory/hardway/hw-demo-worker-0';
    const tree = [node, `${node}/kubepods`, `${node}/kubepods/besteffort`, `${node}/kubepods/besteffort/pod1/c1`, `${node}/kubepods/besteffort/pod1`, `${node}/k8s.io`, `${node}/k8s.io/abc`];
    const order = removalOrder(tree);
    expect(order.at(-1)).toBe(node);
    for (const dir of tree) {
      for (const child of tree.filter((other) => other.startsWith(`${dir}/`))) expect(order.indexOf(child)).toBeLessThan(order.indexOf(dir));
    }
    expect(removalOrder([...tree, node])).toHaveLength(tree.length);
  });
});
