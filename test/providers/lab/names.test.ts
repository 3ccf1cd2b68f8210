import { describe, expect, it } from 'vitest';
import { bridgeName, cacheRoot, labRoot, linkPrefix, macAddress, machineName, MAX_INTERFACE_NAME, netnsName, nodePaths, vethName } from '../../../src/providers/lab/names.ts';

describe('lab names', () => {
  const longest = 'a2345678901234567890'; // the schema allows 20 characters

  it('keeps every link name within 15 characters, even for the longest cluster name', () => {
    for (const node of ['controller-0', 'etcd-12', 'lb-0', 'controller-999', 'some-odd-name']) {
      expect(vethName(longest, node).length).toBeLessThanOrEqual(MAX_INTERFACE_NAME);
    }
    expect(bridgeName(longest).length).toBeLessThanOrEqual(MAX_INTERFACE_NAME);
  });

  it('names veths readably by role letter and index under the cluster prefix', () => {
    const prefix = linkPrefix('demo');
    expect(prefix).toMatch(/^hw[0-9a-f]{6}$/);
    expect(vethName('demo', 'controller-0')).toBe(`${prefix}-c0`);
    expect(vethName('demo', 'etcd-2')).toBe(`${prefix}-e2`);
    expect(vethName('demo', 'lb-0')).toBe(`${prefix}-l0`);
    expect(bridgeName('demo')).toBe(`${prefix}-br`);
  });

  it('gives different clusters different prefixes and the same cluster the same one', () => {
    expect(linkPrefix('demo')).toBe(linkPrefix('demo'));
    expect(linkPrefix('demo')).not.toBe(linkPrefix('demo2'));
    const nodes = ['controller-0', 'controller-1', 'etcd-0', 'etcd-1', 'etcd-2', 'lb-0'];
    expect(new Set(nodes.map((node) => vethName('demo', node))).size).toBe(nodes.length);
  });

  it('names namespaces and machines after cluster and node', () => {
    expect(netnsName('demo', 'etcd-0')).toBe('hw-demo-etcd-0');
    expect(machineName('demo', 'etcd-0')).toBe('hw-demo-etcd-0');
  });

  it('derives stable, locally administered unicast MACs, distinct per node', () => {
    const mac = macAddress('demo', 'etcd-0');
    expect(mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(macAddress('demo', 'etcd-0')).toBe(mac);
    expect(macAddress('demo', 'etcd-1')).not.toBe(mac);
    expect(macAddress('other', 'etcd-0')).not.toBe(mac);
  });

  it('places node files under the lab root and honours the environment overrides', () => {
    expect(labRoot({})).toBe('/var/lib/hardway/lab');
    expect(labRoot({ HARDWAY_LAB_DIR: '/srv/lab' })).toBe('/srv/lab');
    expect(cacheRoot({}, undefined)).toBe('/var/cache/hardway');
    expect(cacheRoot({}, '/data/cache')).toBe('/data/cache');
    expect(cacheRoot({ HARDWAY_CACHE_DIR: '/tmp/c' }, '/data/cache')).toBe('/tmp/c');
    const paths = nodePaths('/var/lib/hardway/lab', 'demo', 'etcd-0');
    expect(paths.upper).toBe('/var/lib/hardway/lab/demo/etcd-0/upper');
    expect(paths.merged).toBe('/var/lib/hardway/lab/demo/etcd-0/rootfs');
  });
});
