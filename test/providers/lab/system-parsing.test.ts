import { describe, expect, it } from 'vitest';
import { nodeCgroupDirs, parseCgroupHierarchies } from '../../../src/providers/lab/cgroups.ts';
import { clusterNetnsPattern } from '../../../src/providers/lab/destroy.ts';
import { mountsBelow, overlayMountArgs, parseMountPoints } from '../../../src/providers/lab/mounts.ts';
import { bridgeAddress } from '../../../src/providers/lab/network.ts';
import { hostsFile } from '../../../src/providers/lab/node.ts';

const mountinfo = [
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '40 27 0:35 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '48 40 0:43 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '49 40 0:44 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
  '50 40 0:45 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  '54 27 0:42 / /var/lib/hardway/lab/demo/etcd-0/rootfs rw,relatime - overlay overlay rw,lowerdir=/img,upperdir=/u,workdir=/w',
  '55 27 0:46 / /var/lib/hardway/lab/demo/etcd-0/rootfs/proc rw - proc proc rw',
  '56 27 0:47 / /var/lib/hardway/lab/demo/etcd-00/rootfs rw - overlay overlay rw',
  '57 27 0:48 / /mnt/with\\040space rw - tmpfs tmpfs rw',
  '',
].join('\n');

describe('reading the system', () => {
  it('lists mount points, decoding escapes', () => {
    expect(parseMountPoints(mountinfo)).toContain('/mnt/with space');
  });

  it('finds mounts below a directory, deepest first, without matching a sibling with the same prefix', () => {
    expect(mountsBelow(parseMountPoints(mountinfo), '/var/lib/hardway/lab/demo/etcd-0')).toEqual([
      '/var/lib/hardway/lab/demo/etcd-0/rootfs/proc',
      '/var/lib/hardway/lab/demo/etcd-0/rootfs',
    ]);
  });

  it('finds the cgroup hierarchies: controllers (workers join them), the named systemd one and cgroup2', () => {
    const hierarchies = parseCgroupHierarchies(mountinfo);
    expect(hierarchies).toEqual([
      { mount: '/sys/fs/cgroup/memory', kind: 'controller', controllers: ['memory'] },
      { mount: '/sys/fs/cgroup/systemd', kind: 'systemd', controllers: [] },
      { mount: '/sys/fs/cgroup/unified', kind: 'unified', controllers: [] },
    ]);
    expect(nodeCgroupDirs(hierarchies, 'hw-demo-etcd-0')).toEqual([
      '/sys/fs/cgroup/memory/hardway/hw-demo-etcd-0',
      '/sys/fs/cgroup/systemd/hardway/hw-demo-etcd-0',
      '/sys/fs/cgroup/unified/hardway/hw-demo-etcd-0',
    ]);
    expect(parseCgroupHierarchies('30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n')).toEqual([{ mount: '/sys/fs/cgroup', kind: 'unified', controllers: [] }]);
  });

  it("matches only this cluster's namespaces when scanning for leftovers", () => {
    const pattern = clusterNetnsPattern('a');
    expect(pattern.exec('hw-a-etcd-0')?.[1]).toBe('etcd-0');
    expect(pattern.exec('hw-a-controller-12')?.[1]).toBe('controller-12');
    expect(pattern.exec('hw-a-worker-3')?.[1]).toBe('worker-3');
    expect(pattern.test('hw-a-b-etcd-0')).toBe(false);
    expect(pattern.test('hwexplore')).toBe(false);
  });

  it('builds the overlay mount and the bridge address from the subnet', () => {
    expect(overlayMountArgs('/img', '/n/upper', '/n/work', '/n/rootfs')).toEqual(['-t', 'overlay', 'overlay', '-o', 'lowerdir=/img,upperdir=/n/upper,workdir=/n/work', '/n/rootfs']);
    expect(bridgeAddress('10.240.0.0/24')).toBe('10.240.0.1/24');
    expect(bridgeAddress('10.250.16.0/20')).toBe('10.250.16.1/20');
  });

  it("writes a first-boot /etc/hosts naming the node at its own address", () => {
    expect(hostsFile({ name: 'etcd-0', ip: '10.240.0.20' }).split('\n')).toContain('10.240.0.20\tetcd-0');
  });
});
