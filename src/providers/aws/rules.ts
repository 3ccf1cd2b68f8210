// Which traffic the security groups let in, as data: everything between the nodes and from the
// pod network, SSH and the API only from aws.adminCidrs, the NLB's health checks, and with
// workers the kubelet API from each controller and NodePorts from aws.adminCidrs. Kept pure so
// the rule set can be read and tested without AWS.
import type { IpPermission } from '@aws-sdk/client-ec2';
import { SpecError } from '../../errors.ts';
import { deriveInventory } from '../../inventory/derive.ts';
import { parseCidr } from '../../inventory/ipv4.ts';
import type { ClusterSpec } from '../../spec/schema.ts';
import { loadBalancerType } from '../../spec/schema.ts';

/** The apiserver's port on every controller (the NLB listener may use another). */
export const APISERVER_PORT = 6443;
/** The kubelet's API (logs, exec, port-forward, metrics), which the apiservers dial. */
export const KUBELET_PORT = 10250;
/** Kubernetes' default --service-node-port-range. */
export const NODE_PORTS = { from: 30000, to: 32767 } as const;

export interface IngressRule {
  /** 'tcp', or '-1' for all protocols and ports (other protocols appear only in groups read back). */
  protocol: string;
  fromPort?: number;
  toPort?: number;
  cidr?: string;
  sourceGroupId?: string;
  description: string;
}

function tcp(port: number, cidr: string, description: string): IngressRule {
  return { protocol: 'tcp', fromPort: port, toPort: port, cidr, description };
}

/** Why: the node group is where "22 and 6443 only from adminCidrs" is enforced. */
export function nodeIngressRules(spec: ClusterSpec): IngressRule[] {
  const admin = adminCidrs(spec);
  const rules: IngressRule[] = [
    { protocol: '-1', cidr: spec.network.nodeSubnet, description: 'hardway: between cluster nodes' },
    { protocol: '-1', cidr: spec.network.clusterCIDR, description: 'hardway: from the pod network' },
    ...admin.map((cidr) => tcp(22, cidr, 'hardway: SSH from an admin network')),
    ...admin.map((cidr) => tcp(APISERVER_PORT, cidr, 'hardway: Kubernetes API from an admin network')),
  ];
  if (loadBalancerType(spec) === 'nlb') {
    // The NLB lives in the node subnet: its health checks and forwarded traffic come from there.
    rules.push(tcp(APISERVER_PORT, spec.network.nodeSubnet, 'hardway: NLB health checks and forwarded API traffic'));
  }
  rules.push(...workerIngressRules(spec, admin));
  assertNotOpenToTheWorld(rules);
  return rules;
}

/**
 * Only with workers. Pod traffic between nodes is already let in by the two rules above (from the
 * node subnet and from the pod network). The kubelet rule names each controller, so the API
 * servers' reach into kubelets stays written down even if the node-subnet rule is ever narrowed;
 * NodePorts are the one worker port meant for people, so only adminCidrs reach them.
 */
function workerIngressRules(spec: ClusterSpec, admin: readonly string[]): IngressRule[] {
  const nodes = deriveInventory(spec).nodes;
  if (!nodes.some((node) => node.roles.includes('worker'))) return [];
  const controllers = nodes.filter((node) => node.roles.includes('controller'));
  return [
    ...controllers.map((node) => tcp(KUBELET_PORT, `${node.internalIP}/32`, `hardway: kubelet API from ${node.name}`)),
    ...admin.map((cidr) => ({ protocol: 'tcp', fromPort: NODE_PORTS.from, toPort: NODE_PORTS.to, cidr, description: 'hardway: NodePort Services from an admin network' })),
  ];
}

/** The NLB's own group: its listener only from adminCidrs (health checks are not filtered by it). */
export function loadBalancerIngressRules(spec: ClusterSpec): IngressRule[] {
  const rules = adminCidrs(spec).map((cidr) => tcp(spec.loadBalancer.port, cidr, 'hardway: Kubernetes API via the NLB from an admin network'));
  assertNotOpenToTheWorld(rules);
  return rules;
}

function adminCidrs(spec: ClusterSpec): string[] {
  const cidrs = spec.aws?.adminCidrs ?? [];
  if (!cidrs.length) throw new SpecError('aws.adminCidrs must list the networks allowed to reach SSH and the API', { field: 'aws.adminCidrs' });
  return [...new Set(cidrs)];
}

/** A /0 source on any rule would open SSH or the API (or everything) to the internet. */
function assertNotOpenToTheWorld(rules: IngressRule[]): void {
  for (const rule of rules) {
    if (rule.cidr && parseCidr(rule.cidr).bits === 0) {
      throw new SpecError(`refusing a security group rule from ${rule.cidr} (${rule.description.replace('hardway: ', '')})`, { field: 'aws.adminCidrs' }, {
        hint: 'List your own addresses (for example your public IP as x.x.x.x/32), never 0.0.0.0/0.',
      });
    }
  }
}

/** A stable key per rule, to compare what exists with what is wanted. */
export function ruleKey(rule: IngressRule): string {
  const ports = rule.protocol === '-1' ? '' : `${rule.fromPort ?? ''}-${rule.toPort ?? ''}`;
  return [rule.protocol, ports, rule.cidr ?? '', rule.sourceGroupId ?? ''].join('|');
}

/** Flatten AWS's grouped permissions into one rule per source. */
export function rulesFromPermissions(permissions: readonly IpPermission[] | undefined): IngressRule[] {
  const rules: IngressRule[] = [];
  for (const permission of permissions ?? []) {
    const protocol = permission.IpProtocol === '6' ? 'tcp' : (permission.IpProtocol ?? '-1');
    const ports = protocol === '-1' ? {} : { fromPort: permission.FromPort, toPort: permission.ToPort };
    for (const range of permission.IpRanges ?? []) rules.push({ protocol, ...ports, cidr: range.CidrIp ?? '', description: range.Description ?? '' });
    // Never written by hardway, but read so a hand-added ::/0 rule is noticed and removed.
    for (const range of permission.Ipv6Ranges ?? []) rules.push({ protocol, ...ports, cidr: range.CidrIpv6 ?? '', description: range.Description ?? '' });
    for (const pair of permission.UserIdGroupPairs ?? []) rules.push({ protocol, ...ports, sourceGroupId: pair.GroupId ?? '', description: pair.Description ?? '' });
  }
  return rules;
}

/** One AWS permission per rule, with its description. */
export function permissionsFromRules(rules: readonly IngressRule[]): IpPermission[] {
  return rules.map((rule) => ({
    IpProtocol: rule.protocol,
    ...(rule.protocol === '-1' ? {} : { FromPort: rule.fromPort, ToPort: rule.toPort }),
    ...(rule.cidr && !rule.cidr.includes(':') ? { IpRanges: [{ CidrIp: rule.cidr, Description: rule.description }] } : {}),
    ...(rule.cidr?.includes(':') ? { Ipv6Ranges: [{ CidrIpv6: rule.cidr, Description: rule.description }] } : {}),
    ...(rule.sourceGroupId ? { UserIdGroupPairs: [{ GroupId: rule.sourceGroupId, Description: rule.description }] } : {}),
  }));
}

/** What to add and what to remove so the group holds exactly the wanted rules. */
export function diffRules(wanted: readonly IngressRule[], existing: readonly IngressRule[]): { add: IngressRule[]; remove: IngressRule[] } {
  const existingKeys = new Set(existing.map(ruleKey));
  const wantedKeys = new Set(wanted.map(ruleKey));
  return { add: wanted.filter((rule) => !existingKeys.has(ruleKey(rule))), remove: existing.filter((rule) => !wantedKeys.has(ruleKey(rule))) };
}
