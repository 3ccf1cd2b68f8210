// Rules that relate fields to each other: topology and counts, per-provider requirements, CIDRs
// that must not overlap, node addresses that must be unique and inside the node subnet.
import { deriveInventory } from '../inventory/derive.ts';
import { cidrContains, cidrsOverlap, ipToInt, isNetworkAddress, parseCidr } from '../inventory/ipv4.ts';
import { fieldPath, SpecProblems, type LocatedYaml, type Problem } from './load.ts';
import { unsupportedKubernetesVersion } from './kubernetes-versions.ts';
import { loadBalancerType, type ClusterSpec } from './schema.ts';

export interface ConsistencyReport {
  errors: Problem[];
  warnings: Problem[];
}

type Path = (string | number)[];

/** Why: every cross-field rule in one tested place, each naming the field a user must edit. */
export function checkConsistency(spec: ClusterSpec, located: LocatedYaml): ConsistencyReport {
  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const at = (path: Path, message: string): Problem => ({ file: located.file, line: located.lineOf(path), field: fieldPath(path), message });
  const error = (path: Path, message: string) => errors.push(at(path, message));
  const warn = (path: Path, message: string) => warnings.push(at(path, message));

  checkNodeGroups(spec, error);
  checkLoadBalancer(spec, error, warn);
  checkNetwork(spec, error);
  checkVersions(spec, error);
  if (errors.length) return { errors, warnings };
  checkAddresses(spec, error);
  return { errors, warnings };
}

/** Throw all consistency errors at once; return the warnings for the caller to print. */
export function assertConsistent(spec: ClusterSpec, located: LocatedYaml): Problem[] {
  const report = checkConsistency(spec, located);
  if (report.errors.length) throw SpecProblems.sorted(report.errors);
  return report.warnings;
}

type Report = (path: Path, message: string) => void;

function checkNodeGroups(spec: ClusterSpec, error: Report): void {
  const groups = [
    ['controllers', spec.nodes.controllers] as const,
    ...(spec.nodes.etcd ? [['etcd', spec.nodes.etcd] as const] : []),
    ...(spec.nodes.workers ? [['workers', spec.nodes.workers] as const] : []),
  ];
  for (const [key, group] of groups) {
    if (spec.provider === 'static') {
      if (group.count !== undefined) error(['nodes', key, 'count'], 'the static provider lists `hosts` instead of a count');
      if (group.ips !== undefined) error(['nodes', key, 'ips'], 'the static provider takes addresses from `hosts`');
      if (!group.hosts?.length && (key === 'controllers' || (key === 'etcd' && spec.topology === 'external'))) error(['nodes', key, 'hosts'], 'must list at least one host for the static provider');
    } else {
      if (group.hosts !== undefined) error(['nodes', key, 'hosts'], `\`hosts\` is for the static provider; the ${spec.provider} provider takes a \`count\``);
      if (group.ips && group.count !== undefined && group.ips.length !== group.count) {
        error(['nodes', key, 'ips'], `lists ${group.ips.length} addresses for ${group.count} nodes; list one per node or none`);
      }
    }
    if (group.instanceType !== undefined && spec.provider !== 'aws') error(['nodes', key, 'instanceType'], 'is only used by the aws provider');
  }

  const controllerCount = groupSize(spec, 'controllers');
  if (controllerCount < 1) error(['nodes', 'controllers', spec.provider === 'static' ? 'hosts' : 'count'], 'must be at least 1');
  if (spec.topology === 'stacked') {
    if (spec.nodes.etcd && groupSize(spec, 'etcd') > 0) error(['nodes', 'etcd'], 'the stacked topology runs etcd on the controllers; remove `nodes.etcd` or use `topology: external`');
    if (controllerCount % 2 === 0) error(['nodes', 'controllers', spec.provider === 'static' ? 'hosts' : 'count'], 'must be an odd number >= 1 (the controllers are the etcd members in the stacked topology)');
  } else {
    const etcdCount = groupSize(spec, 'etcd');
    if (!spec.nodes.etcd) error(['nodes', 'etcd'], 'is required with `topology: external` (or use `topology: stacked`)');
    else if (etcdCount < 1 || etcdCount % 2 === 0) error(['nodes', 'etcd', spec.provider === 'static' ? 'hosts' : 'count'], 'must be an odd number >= 1');
  }

  if (spec.provider === 'aws' && !spec.aws) error(['aws'], 'is required for the aws provider (at least `adminCidrs`)');
  if (spec.provider !== 'aws' && spec.aws) error(['aws'], `is only used by the aws provider (this spec uses ${spec.provider})`);
  if (spec.provider !== 'lab' && spec.lab) error(['lab'], `is only used by the lab provider (this spec uses ${spec.provider})`);
}

function groupSize(spec: ClusterSpec, key: 'controllers' | 'etcd' | 'workers'): number {
  const group = spec.nodes[key];
  if (!group) return 0;
  return spec.provider === 'static' ? (group.hosts?.length ?? 0) : (group.count ?? 0);
}

function checkLoadBalancer(spec: ClusterSpec, error: Report, warn: Report): void {
  const type = loadBalancerType(spec);
  if (type === 'nlb' && spec.provider !== 'aws') error(['loadBalancer', 'type'], 'nlb needs the aws provider; use haproxy');
  if (type === 'haproxy' && spec.provider === 'aws') error(['loadBalancer', 'type'], 'the aws provider uses an NLB; use nlb or none');
  if (type === 'haproxy' && spec.provider === 'static' && !spec.loadBalancer.address) error(['loadBalancer', 'address'], 'is required for haproxy with the static provider: the lb host SSH reaches');
  if (type !== 'haproxy' && spec.loadBalancer.ip) error(['loadBalancer', 'ip'], 'is only used with `type: haproxy`');
  if (type !== 'haproxy' && spec.loadBalancer.address) error(['loadBalancer', 'address'], 'is only used with `type: haproxy`');
  if (type === 'none' && groupSize(spec, 'controllers') > 1) {
    warn(['loadBalancer', 'type'], 'several controllers without a load balancer: clients reach only the first controller');
  }
}

function checkNetwork(spec: ClusterSpec, error: Report): void {
  const cidrs: [string, string][] = [
    ['nodeSubnet', spec.network.nodeSubnet],
    ['serviceCIDR', spec.network.serviceCIDR],
    ['clusterCIDR', spec.network.clusterCIDR],
  ];
  for (const [key, value] of cidrs) {
    if (!isNetworkAddress(value)) error(['network', key], `${value} has host bits set; write the network address, like ${networkOf(value)}`);
  }
  for (let i = 0; i < cidrs.length; i++) {
    for (let j = i + 1; j < cidrs.length; j++) {
      const [leftKey, left] = cidrs[i]!;
      const [rightKey, right] = cidrs[j]!;
      if (cidrsOverlap(left, right)) error(['network', rightKey], `${right} overlaps network.${leftKey} ${left}; the three networks must be disjoint`);
    }
  }
  if (parseCidr(spec.network.serviceCIDR).bits > 30) error(['network', 'serviceCIDR'], 'is too small for any Service (use /24 or larger)');
  const workers = groupSize(spec, 'workers');
  const podRanges = 2 ** Math.max(0, 24 - parseCidr(spec.network.clusterCIDR).bits);
  if (workers > 0 && (parseCidr(spec.network.clusterCIDR).bits > 24 || workers > podRanges)) {
    error(['network', 'clusterCIDR'], `${spec.network.clusterCIDR} holds ${parseCidr(spec.network.clusterCIDR).bits > 24 ? 0 : podRanges} pod ranges of /24 for ${workers} workers; use a larger clusterCIDR such as 10.200.0.0/16`);
  }
  if (spec.aws) {
    if (!isNetworkAddress(spec.aws.vpcCIDR)) error(['aws', 'vpcCIDR'], `${spec.aws.vpcCIDR} has host bits set`);
    const vpc = parseCidr(spec.aws.vpcCIDR);
    const subnet = parseCidr(spec.network.nodeSubnet);
    if (!(subnet.network >= vpc.network && subnet.network + subnet.size <= vpc.network + vpc.size)) {
      error(['network', 'nodeSubnet'], `must lie inside aws.vpcCIDR ${spec.aws.vpcCIDR}`);
    }
    for (const [index, adminCidr] of spec.aws.adminCidrs.entries()) {
      if (parseCidr(adminCidr).bits === 0) error(['aws', 'adminCidrs', index], '0.0.0.0/0 would open SSH and the API to the internet; list your own addresses');
    }
  }
}

function networkOf(cidr: string): string {
  const { network, bits } = parseCidr(cidr);
  return `${[24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join('.')}/${bits}`;
}

function checkAddresses(spec: ClusterSpec, error: Report): void {
  const inventory = deriveInventory(spec);
  const subnet = parseCidr(spec.network.nodeSubnet);
  const seenIPs = new Map<string, string>();
  const seenNames = new Set<string>();
  for (const node of inventory.nodes) {
    const path = nodePath(spec, node.name);
    if (seenNames.has(node.name)) error(path, `node name ${node.name} is used twice`);
    seenNames.add(node.name);
    const other = seenIPs.get(node.internalIP);
    if (other) error(path, `${node.name} has the same IP ${node.internalIP} as ${other}`);
    seenIPs.set(node.internalIP, node.name);
    if (!cidrContains(spec.network.nodeSubnet, node.internalIP)) {
      error(path, `${node.name}'s IP ${node.internalIP} is outside network.nodeSubnet ${spec.network.nodeSubnet}`);
      continue;
    }
    const offset = ipToInt(node.internalIP) - subnet.network;
    const reserved = spec.provider === 'aws' ? offset < 4 || offset === subnet.size - 1 : offset === 0 || offset === subnet.size - 1 || (spec.provider === 'lab' && offset === 1);
    if (reserved) error(path, `${node.name}'s IP ${node.internalIP} is reserved in ${spec.network.nodeSubnet} (${reservedWhy(spec)})`);
  }
}

function reservedWhy(spec: ClusterSpec): string {
  if (spec.provider === 'aws') return 'AWS reserves the first four and the last address';
  if (spec.provider === 'lab') return 'the network, broadcast and .1, the lab bridge';
  return 'network and broadcast addresses';
}

/** The spec path a user edits to change a node's address. */
function nodePath(spec: ClusterSpec, name: string): Path {
  const [role, indexText] = name.split('-');
  const index = Number(indexText);
  if (role === 'lb') return ['loadBalancer', spec.loadBalancer.ip ? 'ip' : spec.provider === 'static' ? 'address' : 'type'];
  const key = role === 'controller' ? 'controllers' : role === 'worker' ? 'workers' : 'etcd';
  const group = spec.nodes[key];
  if (spec.provider === 'static') return ['nodes', key, 'hosts', Number.isInteger(index) ? index : 0];
  return group?.ips ? ['nodes', key, 'ips', index] : ['nodes', key, 'count'];
}

/** The version table covers a range of minors; etcd's flags are those of 3.4 and 3.5. */
function checkVersions(spec: ClusterSpec, error: Report): void {
  const kubernetes = unsupportedKubernetesVersion(spec.versions.kubernetes);
  if (kubernetes) error(['versions', 'kubernetes'], kubernetes);
  if (!/^3\.[45]\.\d+$/.test(spec.versions.etcd)) error(['versions', 'etcd'], `etcd ${spec.versions.etcd} is not supported: hardway supports etcd 3.4.x and 3.5.x`);
}
