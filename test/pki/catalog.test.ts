import { describe, expect, it } from 'vitest';
import { deriveInventory } from '../../src/inventory/derive.ts';
import { catalog, selectEntries, splitHosts } from '../../src/pki/catalog.ts';
import { clusterSpecSchema, type ClusterSpecInput } from '../../src/spec/schema.ts';

function entriesFor(input: ClusterSpecInput, facts = {}) {
  const spec = clusterSpecSchema.parse(input);
  return catalog(spec, deriveInventory(spec, facts));
}

const external: ClusterSpecInput = {
  name: 'cat',
  provider: 'lab',
  nodes: { controllers: { count: 3 }, etcd: { count: 3 } },
  network: { serviceCIDR: '10.96.0.0/16', clusterDomain: 'corp.internal' },
  pki: { extraSANs: ['k8s.example.com', '203.0.113.9'] },
};

describe('catalog', () => {
  const entries = entriesFor(external);
  const byName = new Map(entries.map((entry) => [entry.name, entry]));

  it('lists every certificate of DESIGN §6 for 3 controllers and 3 external etcd members', () => {
    expect(entries.map((entry) => entry.name)).toEqual([
      'ca',
      'etcd-ca',
      'etcd-server-etcd-0',
      'etcd-peer-etcd-0',
      'etcd-server-etcd-1',
      'etcd-peer-etcd-1',
      'etcd-server-etcd-2',
      'etcd-peer-etcd-2',
      'apiserver-etcd-client',
      'etcd-healthcheck-client',
      'kube-apiserver',
      'apiserver-kubelet-client',
      'admin',
      'kube-controller-manager',
      'kube-scheduler',
      'service-account',
    ]);
  });

  it.each([
    // name, kind, signer, profile, CN, O
    ['ca', 'ca', undefined, undefined, 'Kubernetes', undefined],
    ['etcd-ca', 'ca', undefined, undefined, 'etcd-ca', undefined],
    ['etcd-server-etcd-1', 'leaf', 'etcd-ca', 'peer', 'etcd-1', undefined],
    ['etcd-peer-etcd-2', 'leaf', 'etcd-ca', 'peer', 'etcd-2', undefined],
    ['apiserver-etcd-client', 'leaf', 'etcd-ca', 'client', 'kube-apiserver-etcd-client', undefined],
    ['etcd-healthcheck-client', 'leaf', 'etcd-ca', 'client', 'kube-etcd-healthcheck-client', undefined],
    ['kube-apiserver', 'leaf', 'ca', 'server', 'kube-apiserver', undefined],
    ['apiserver-kubelet-client', 'leaf', 'ca', 'client', 'kube-apiserver-kubelet-client', undefined],
    ['admin', 'leaf', 'ca', 'client', 'admin', 'system:masters'],
    ['kube-controller-manager', 'leaf', 'ca', 'client', 'system:kube-controller-manager', 'system:kube-controller-manager'],
    ['kube-scheduler', 'leaf', 'ca', 'client', 'system:kube-scheduler', 'system:kube-scheduler'],
    ['service-account', 'keypair', undefined, undefined, 'service-accounts', undefined],
  ])('%s: %s signed by %s, profile %s, CN %s, O %s', (name, kind, signer, profile, cn, organization) => {
    const entry = byName.get(name)!;
    expect(entry).toMatchObject({ kind, cn });
    expect(entry.signer).toBe(signer);
    expect(entry.profile).toBe(profile);
    expect(entry.organization).toBe(organization);
  });

  it.each([
    ['etcd-server-etcd-0', ['etcd-0', '10.240.0.20', '127.0.0.1', 'localhost']],
    ['etcd-peer-etcd-2', ['etcd-2', '10.240.0.22', '127.0.0.1', 'localhost']],
    [
      'kube-apiserver',
      [
        '10.96.0.1',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.corp.internal',
        'controller-0',
        '10.240.0.10',
        'controller-1',
        '10.240.0.11',
        'controller-2',
        '10.240.0.12',
        '10.240.0.30',
        '127.0.0.1',
        'k8s.example.com',
        '203.0.113.9',
      ],
    ],
    ['admin', []],
    ['apiserver-etcd-client', []],
  ])('%s has SANs %j', (name, hosts) => {
    expect(byName.get(name)!.hosts).toEqual(hosts);
  });

  it('puts etcd certificates on the controllers in the stacked topology', () => {
    const stacked = entriesFor({ ...external, topology: 'stacked', nodes: { controllers: { count: 2 } } });
    expect(stacked.filter((entry) => entry.name.startsWith('etcd-server-')).map((entry) => entry.hosts)).toEqual([
      ['controller-0', '10.240.0.10', '127.0.0.1', 'localhost'],
      ['controller-1', '10.240.0.11', '127.0.0.1', 'localhost'],
    ]);
  });

  it('adds the NLB DNS name the provider reported, and the spec dnsName, to kube-apiserver only', () => {
    const input: ClusterSpecInput = { name: 'aws1', provider: 'aws', aws: { adminCidrs: ['198.51.100.0/24'] }, nodes: { controllers: { count: 2 }, etcd: { count: 3 } } };
    const before = entriesFor(input);
    const after = entriesFor(input, { loadBalancerDNSName: 'aws1-nlb-123.elb.us-east-1.amazonaws.com' });
    const changed = after.filter((entry, index) => JSON.stringify(entry) !== JSON.stringify(before[index])).map((entry) => entry.name);
    expect(changed).toEqual(['kube-apiserver']);
    expect(after.find((entry) => entry.name === 'kube-apiserver')!.hosts).toContain('aws1-nlb-123.elb.us-east-1.amazonaws.com');
  });

  it('never lists a SAN twice (the endpoint is also a load balancer name)', () => {
    const hosts = byName.get('kube-apiserver')!.hosts;
    expect(new Set(hosts).size).toBe(hosts.length);
  });
});

describe('selectEntries', () => {
  const entries = entriesFor(external);
  it.each([
    [['ca', 'etcd-ca'], ['ca', 'etcd-ca']],
    [['etcd-server-*'], ['etcd-server-etcd-0', 'etcd-server-etcd-1', 'etcd-server-etcd-2']],
    [['kube-*'], ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']],
    [['nothing'], []],
  ])('%j selects %j', (patterns, names) => {
    expect(selectEntries(entries, patterns).map((entry) => entry.name)).toEqual(names);
  });

  it('selects everything when no pattern is given', () => {
    expect(selectEntries(entries, undefined)).toHaveLength(entries.length);
  });
});

describe('splitHosts', () => {
  it('separates IPs (v4 and v6) from DNS names as cfssl does', () => {
    expect(splitHosts(['a.example', '10.0.0.1', '::1', 'localhost'])).toEqual({ dns: ['a.example', 'localhost'], ips: ['10.0.0.1', '::1'] });
  });
});
