// The inventory follows from the spec: names by role and index, fixed addresses in the node subnet
// (lab, aws) or the listed hosts (static). What only the provider knows (an EC2 public address, an
// NLB DNS name) is merged in from the state after the infra step.
import { loadBalancerType, type ClusterSpec, type RoleGroup } from '../spec/schema.ts';
import { addressInCidr, subnet24 } from './ipv4.ts';
import { Nodes, type Inventory, type Node, type Role } from './node.ts';

/** Where the fixed addresses of each role start inside the node subnet (lab and aws). */
export const ADDRESS_OFFSETS = { controller: 10, etcd: 20, lb: 30, worker: 40 } as const;

export interface ProviderFacts {
  /** Per node: the address SSH reaches (aws public IP). */
  sshAddresses?: Record<string, string>;
  /** The NLB's DNS name (aws). Until infra has run the endpoint host is empty: not known yet. */
  loadBalancerDNSName?: string;
}

export function deriveInventory(spec: ClusterSpec, facts: ProviderFacts = {}): Inventory {
  const controllerRoles: Role[] = spec.topology === 'stacked' ? ['controller', 'etcd'] : ['controller'];
  const nodes: Node[] = [...groupNodes(spec, 'controller', spec.nodes.controllers, controllerRoles)];
  if (spec.topology === 'external' && spec.nodes.etcd) nodes.push(...groupNodes(spec, 'etcd', spec.nodes.etcd, ['etcd']));
  if (spec.nodes.workers) {
    // Pod ranges follow the worker's index, so a worker keeps its range when others are added.
    nodes.push(...groupNodes(spec, 'worker', spec.nodes.workers, ['worker']).map((node, index) => ({ ...node, podCIDR: subnet24(spec.network.clusterCIDR, index) })));
  }

  const lbType = loadBalancerType(spec);
  const loadBalancerNames: string[] = [];
  if (lbType === 'haproxy') {
    const ip = spec.loadBalancer.ip ?? (spec.provider === 'static' ? spec.loadBalancer.address : undefined) ?? addressInCidr(spec.network.nodeSubnet, ADDRESS_OFFSETS.lb);
    nodes.push(makeNode(spec, 'lb-0', ['lb'], ip, spec.provider === 'static' ? (spec.loadBalancer.address ?? ip) : ip));
    loadBalancerNames.push(ip);
  }
  if (lbType === 'nlb' && facts.loadBalancerDNSName) loadBalancerNames.push(facts.loadBalancerDNSName);
  if (spec.loadBalancer.dnsName) loadBalancerNames.push(spec.loadBalancer.dnsName);

  for (const node of nodes) {
    const address = facts.sshAddresses?.[node.name];
    if (address) node.sshAddress = address;
  }

  const firstController = nodes.find((node) => node.roles.includes('controller'));
  const endpointHost =
    spec.loadBalancer.dnsName ??
    (lbType === 'nlb' ? (facts.loadBalancerDNSName ?? '') : undefined) ??
    (lbType === 'haproxy' ? loadBalancerNames[0] : undefined) ??
    firstController?.internalIP ??
    '127.0.0.1';
  return {
    cluster: spec.name,
    provider: spec.provider,
    nodes: Nodes.collect(nodes),
    endpoint: { host: endpointHost, port: spec.loadBalancer.port },
    loadBalancerNames,
  };
}

function groupNodes(spec: ClusterSpec, role: 'controller' | 'etcd' | 'worker', group: RoleGroup, roles: Role[]): Node[] {
  if (spec.provider === 'static') {
    return (group.hosts ?? []).map((host, index) =>
      makeNode(spec, host.name ?? `${role}-${index}`, roles, host.ip ?? host.address, host.address, host.port, host.user),
    );
  }
  const count = group.count ?? 0;
  return Array.from({ length: count }, (_, index) => {
    const ip = group.ips?.[index] ?? addressInCidr(spec.network.nodeSubnet, ADDRESS_OFFSETS[role] + index);
    // aws: SSH reaches the instance's public address, known only after infra.
    return makeNode(spec, `${role}-${index}`, roles, ip, spec.provider === 'aws' ? '' : ip);
  });
}

function makeNode(spec: ClusterSpec, name: string, roles: Role[], internalIP: string, sshAddress: string, port?: number, user?: string): Node {
  return { name, roles, internalIP, sshAddress, sshPort: port ?? spec.ssh.port, user: user ?? spec.ssh.user };
}
