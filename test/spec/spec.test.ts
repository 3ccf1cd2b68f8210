import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { assertConsistent, checkConsistency } from '../../src/spec/consistency.ts';
import { formatProblem, parseSpecText, SpecProblems } from '../../src/spec/load.ts';
import { deriveInventory } from '../../src/inventory/derive.ts';

const lab = await readFile(new URL('../../examples/lab/cluster.yaml', import.meta.url), 'utf8');

function errorsOf(text: string): string[] {
  try {
    const { spec, located } = parseSpecText(text, 'cluster.yaml');
    assertConsistent(spec, located);
    return [];
  } catch (error) {
    if (error instanceof SpecProblems) return error.problems.map(formatProblem);
    throw error;
  }
}

const lineOf = (text: string, needle: string) => text.split('\n').findIndex((line) => line.includes(needle)) + 1;

describe('cluster.yaml errors name file, line and field', () => {
  it('an even etcd count', () => {
    const text = lab.replace(/count: 3 .*/, 'count: 4');
    expect(errorsOf(text)).toEqual([`cluster.yaml:${lineOf(text, 'count: 4')} nodes.etcd.count: must be an odd number >= 1`]);
  });

  it('a bad CIDR', () => {
    const text = lab.replace('serviceCIDR: 10.32.0.0/24', 'serviceCIDR: 10.32.0.0/33');
    expect(errorsOf(text)).toEqual([`cluster.yaml:${lineOf(text, 'serviceCIDR')} network.serviceCIDR: must be an IPv4 CIDR like 10.240.0.0/24`]);
  });

  it('a duplicate IP', () => {
    const text = lab.replace('  ip: 10.240.0.30', '  ip: 10.240.0.21');
    expect(errorsOf(text)).toEqual([`cluster.yaml:${lineOf(text, 'ip: 10.240.0.21')} loadBalancer.ip: lb-0 has the same IP 10.240.0.21 as etcd-1`]);
  });

  it('unknown keys, at the top and nested, in line order', () => {
    const text = lab.replace('topology: external', 'topology: external\ntopolgy: stacked').replace('  port: 6443', '  port: 6443\n  prot: 1');
    expect(errorsOf(text)).toEqual([
      `cluster.yaml:${lineOf(text, 'topolgy')} topolgy: unknown key (check the spelling; see \`hardway init\` for every field)`,
      `cluster.yaml:${lineOf(text, 'prot: 1')} loadBalancer.prot: unknown key (check the spelling; see \`hardway init\` for every field)`,
    ]);
  });

  it('YAML syntax errors and duplicate keys', () => {
    expect(errorsOf('name: a\nname: b\n')[0]).toMatch(/^cluster.yaml:2: invalid YAML: Map keys must be unique/);
    expect(errorsOf('name: [a\n')[0]).toMatch(/^cluster.yaml:\d+: invalid YAML/);
  });
});

describe('consistency', () => {
  const base = { name: 'c', provider: 'lab', nodes: { controllers: { count: 2 }, etcd: { count: 3 } } };
  const check = (input: Record<string, unknown>) => {
    const text = JSON.stringify(input);
    const { spec, located } = parseSpecText(text, 'c.yaml');
    return checkConsistency(spec, located);
  };
  const messages = (input: Record<string, unknown>) => check(input).errors.map((problem) => `${problem.field}: ${problem.message}`);

  it.each([
    ['overlapping CIDRs', { ...base, network: { serviceCIDR: '10.240.0.0/16' } }, /network.serviceCIDR: 10.240.0.0\/16 overlaps network.nodeSubnet 10.240.0.0\/24/],
    ['host bits in a CIDR', { ...base, network: { clusterCIDR: '10.200.1.0/16' } }, /network.clusterCIDR: 10.200.1.0\/16 has host bits set; write the network address, like 10.200.0.0\/16/],
    ['an IP outside the subnet', { ...base, nodes: { ...base.nodes, controllers: { count: 1, ips: ['10.9.0.5'] } } }, /nodes.controllers.ips\[0\]: controller-0's IP 10.9.0.5 is outside network.nodeSubnet/],
    ['the lab bridge address', { ...base, loadBalancer: { ip: '10.240.0.1' } }, /loadBalancer.ip: lb-0's IP 10.240.0.1 is reserved/],
    ['ips that do not match the count', { ...base, nodes: { ...base.nodes, etcd: { count: 3, ips: ['10.240.0.20'] } } }, /nodes.etcd.ips: lists 1 addresses for 3 nodes/],
    ['stacked with etcd nodes', { ...base, topology: 'stacked', nodes: { controllers: { count: 3 }, etcd: { count: 3 } } }, /nodes.etcd: the stacked topology runs etcd on the controllers/],
    ['stacked with an even controller count', { ...base, topology: 'stacked', nodes: { controllers: { count: 2 } } }, /nodes.controllers.count: must be an odd number >= 1 \(the controllers are the etcd members/],
    ['external without etcd nodes', { ...base, nodes: { controllers: { count: 1 } } }, /nodes.etcd: is required with `topology: external`/],
    ['static hosts on the lab provider', { ...base, nodes: { ...base.nodes, controllers: { hosts: [{ address: '10.240.0.10' }] } } }, /nodes.controllers.hosts: `hosts` is for the static provider/],
    ['an NLB off AWS', { ...base, loadBalancer: { type: 'nlb' } }, /loadBalancer.type: nlb needs the aws provider/],
    ['aws without its section', { ...base, provider: 'aws', loadBalancer: {} }, /aws: is required for the aws provider/],
    ['aws open to the world', { ...base, provider: 'aws', aws: { adminCidrs: ['0.0.0.0/0'] } }, /aws.adminCidrs\[0\]: 0.0.0.0\/0 would open SSH and the API to the internet/],
    ['aws reserved addresses', { ...base, provider: 'aws', aws: { adminCidrs: ['203.0.113.0/24'] }, nodes: { ...base.nodes, controllers: { count: 1, ips: ['10.240.0.2'] } } }, /controller-0's IP 10.240.0.2 is reserved in 10.240.0.0\/24 \(AWS reserves/],
    ['a subnet outside the VPC', { ...base, provider: 'aws', aws: { adminCidrs: ['203.0.113.0/24'], vpcCIDR: '10.0.0.0/16' } }, /network.nodeSubnet: must lie inside aws.vpcCIDR/],
    ['static haproxy without an address', { name: 'c', provider: 'static', nodes: { controllers: { hosts: [{ address: '10.240.0.10' }] }, etcd: { hosts: [{ address: '10.240.0.20' }] } } }, /loadBalancer.address: is required for haproxy with the static provider/],
  ])('%s', (_name, input, expected) => {
    expect(messages(input as Record<string, unknown>).join('\n')).toMatch(expected);
  });

  it('warns, without failing, about several controllers and no load balancer', () => {
    const report = check({ ...base, loadBalancer: { type: 'none' } });
    expect(report.errors).toEqual([]);
    expect(report.warnings.map((problem) => problem.message)).toEqual(['several controllers without a load balancer: clients reach only the first controller']);
  });

  it('accepts every example', async () => {
    for (const example of ['lab/cluster.yaml', 'lab/stacked.yaml', 'aws/cluster.yaml', 'static/cluster.yaml']) {
      const text = await readFile(new URL(`../../examples/${example}`, import.meta.url), 'utf8');
      expect(errorsOf(text), example).toEqual([]);
    }
  });
});

describe('deriveInventory', () => {
  it('names nodes by role, gives fixed addresses and points the endpoint at the load balancer', () => {
    const { spec } = parseSpecText(lab, 'cluster.yaml');
    const inventory = deriveInventory(spec);
    expect(inventory.nodes.map((node) => `${node.name}=${node.internalIP}:${node.roles.join('+')}`)).toEqual([
      'controller-0=10.240.0.10:controller',
      'controller-1=10.240.0.11:controller',
      'etcd-0=10.240.0.20:etcd',
      'etcd-1=10.240.0.21:etcd',
      'etcd-2=10.240.0.22:etcd',
      'lb-0=10.240.0.30:lb',
    ]);
    expect(inventory.endpoint).toEqual({ host: '10.240.0.30', port: 6443 });
  });

  it('stacked controllers are etcd members; aws learns SSH addresses and the NLB name from the provider', () => {
    const stacked = parseSpecText(JSON.stringify({ name: 's', provider: 'lab', topology: 'stacked', nodes: { controllers: { count: 3 } } }), 's.yaml').spec;
    expect(deriveInventory(stacked).nodes.filter((node) => node.roles.includes('etcd')).map((node) => node.name)).toEqual(['controller-0', 'controller-1', 'controller-2']);
    const aws = parseSpecText(JSON.stringify({ name: 'a', provider: 'aws', aws: { adminCidrs: ['203.0.113.0/24'] }, nodes: { controllers: { count: 1 }, etcd: { count: 1 } } }), 'a.yaml').spec;
    const before = deriveInventory(aws);
    expect(before.endpoint.host).toBe('');
    expect(before.nodes[0]?.sshAddress).toBe('');
    const after = deriveInventory(aws, { loadBalancerDNSName: 'a-123.elb.amazonaws.com', sshAddresses: { 'controller-0': '198.51.100.7' } });
    expect(after.endpoint.host).toBe('a-123.elb.amazonaws.com');
    expect(after.loadBalancerNames).toEqual(['a-123.elb.amazonaws.com']);
    expect(after.nodes[0]?.sshAddress).toBe('198.51.100.7');
  });
});
