// The certificate catalogue of DESIGN §6, as data: which certificates a cluster needs, who signs
// them, their subject, their SANs and their cfssl signing profile. A pure function of the spec and
// the inventory, so a changed load balancer name changes exactly one entry (kube-apiserver).
import { isIP } from 'node:net';
import { addressInCidr } from '../inventory/ipv4.ts';
import { Nodes, type Inventory } from '../inventory/node.ts';
import type { ClusterSpec } from '../spec/schema.ts';

export type EntryKind = 'ca' | 'leaf' | 'keypair';
export type CaName = 'ca' | 'etcd-ca';
/** cfssl signing profiles written to pki/ca-config.json. */
export type ProfileName = 'server' | 'client' | 'peer';

/** One certificate (or the service-account key pair) of the cluster. */
export interface CatalogEntry {
  /** File base name: pki/<name>.pem, pki/<name>-key.pem, pki/<name>-csr.json. */
  name: string;
  kind: EntryKind;
  /** The CA that signs a leaf. */
  signer?: CaName;
  /** The cfssl profile a leaf is signed with (its usages and expiry). */
  profile?: ProfileName;
  cn: string;
  /** The subject's O; when absent, spec.pki.names.O. */
  organization?: string;
  /** DNS names and IPs, in the order they are written to the CSR JSON. */
  hosts: string[];
  /** One line for docs and `explain`: who presents this certificate to whom. */
  purpose: string;
}

/** The signing profiles: cfssl usage names, mapped to X.509 in usages.ts. */
export const PROFILE_USAGES: Record<ProfileName, string[]> = {
  server: ['signing', 'key encipherment', 'server auth'],
  client: ['signing', 'key encipherment', 'client auth'],
  peer: ['signing', 'key encipherment', 'server auth', 'client auth'],
};

/** What `cfssl gencert -initca` gives a CA. */
export const CA_USAGES = ['cert sign', 'crl sign'];

/** Why: the one place that says which certificates exist; everything else reads this list. */
export function catalog(spec: ClusterSpec, inventory: Inventory): CatalogEntry[] {
  const nodes = inventory.nodes;
  const entries: CatalogEntry[] = [
    { name: 'ca', kind: 'ca', cn: 'Kubernetes', hosts: [], purpose: 'Signs the apiserver, admin and component certificates; every client trusts it.' },
    { name: 'etcd-ca', kind: 'ca', cn: 'etcd-ca', hosts: [], purpose: 'Signs etcd server, peer and client certificates; only etcd and its clients trust it.' },
  ];
  for (const node of nodes.etcd()) {
    const hosts = unique([node.name, node.internalIP, '127.0.0.1', 'localhost']);
    entries.push(
      { name: `etcd-server-${node.name}`, kind: 'leaf', signer: 'etcd-ca', profile: 'peer', cn: node.name, hosts, purpose: `etcd on ${node.name} serves clients on :2379 with it.` },
      { name: `etcd-peer-${node.name}`, kind: 'leaf', signer: 'etcd-ca', profile: 'peer', cn: node.name, hosts, purpose: `etcd on ${node.name} talks to its peers on :2380 with it, both ways.` },
    );
  }
  entries.push(
    { name: 'apiserver-etcd-client', kind: 'leaf', signer: 'etcd-ca', profile: 'client', cn: 'kube-apiserver-etcd-client', hosts: [], purpose: 'kube-apiserver authenticates to etcd with it.' },
    { name: 'etcd-healthcheck-client', kind: 'leaf', signer: 'etcd-ca', profile: 'client', cn: 'kube-etcd-healthcheck-client', hosts: [], purpose: 'hardway and etcdctl check member health with it.' },
    { name: 'kube-apiserver', kind: 'leaf', signer: 'ca', profile: 'server', cn: 'kube-apiserver', hosts: apiserverHosts(spec, inventory, nodes), purpose: 'kube-apiserver serves :6443 with it, directly and behind the load balancer.' },
    { name: 'apiserver-kubelet-client', kind: 'leaf', signer: 'ca', profile: 'client', cn: 'kube-apiserver-kubelet-client', hosts: [], purpose: 'kube-apiserver authenticates to kubelets with it (logs, exec); the ClusterRole system:kube-apiserver-to-kubelet, not a group, grants what it may do.' },
    { name: 'admin', kind: 'leaf', signer: 'ca', profile: 'client', cn: 'admin', organization: 'system:masters', hosts: [], purpose: 'The admin kubeconfig: full access through the system:masters group.' },
    { name: 'kube-controller-manager', kind: 'leaf', signer: 'ca', profile: 'client', cn: 'system:kube-controller-manager', organization: 'system:kube-controller-manager', hosts: [], purpose: 'kube-controller-manager authenticates to the apiserver; RBAC knows this user.' },
    { name: 'kube-scheduler', kind: 'leaf', signer: 'ca', profile: 'client', cn: 'system:kube-scheduler', organization: 'system:kube-scheduler', hosts: [], purpose: 'kube-scheduler authenticates to the apiserver; RBAC knows this user.' },
    ...workerEntries(nodes),
    { name: 'service-account', kind: 'keypair', cn: 'service-accounts', hosts: [], purpose: 'The apiserver signs service-account tokens with the key; apiservers verify them with the public key.' },
  );
  return entries;
}

/**
 * Node authorization needs a kubelet to be `system:node:NAME` in `system:nodes`; its serving
 * certificate carries the names the API server dials (logs, exec, port-forward).
 */
function workerEntries(nodes: Nodes): CatalogEntry[] {
  const workers = nodes.workers();
  if (!workers.length) return [];
  return [
    ...workers.flatMap((node): CatalogEntry[] => [
      { name: `kubelet-client-${node.name}`, kind: 'leaf', signer: 'ca', profile: 'client', cn: `system:node:${node.name}`, organization: 'system:nodes', hosts: [], purpose: `The kubelet on ${node.name} authenticates to the apiserver with it (Node authorizer).` },
      { name: `kubelet-server-${node.name}`, kind: 'leaf', signer: 'ca', profile: 'server', cn: `system:node:${node.name}`, organization: 'system:nodes', hosts: unique([node.name, node.internalIP]), purpose: `The kubelet on ${node.name} serves :10250 with it (logs, exec, port-forward).` },
    ]),
    { name: 'kube-proxy', kind: 'leaf', signer: 'ca', profile: 'client', cn: 'system:kube-proxy', organization: 'system:node-proxier', hosts: [], purpose: 'kube-proxy on every worker authenticates to the apiserver; RBAC knows this user.' },
  ];
}

/** The kube-apiserver SANs: the Service IP and names, every controller, the load balancer, loopback. */
function apiserverHosts(spec: ClusterSpec, inventory: Inventory, nodes: Nodes): string[] {
  const domain = spec.network.clusterDomain;
  return unique([
    addressInCidr(spec.network.serviceCIDR, 1),
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${domain}`,
    ...nodes.controllers().flatMap((node) => [node.name, node.internalIP]),
    ...inventory.loadBalancerNames,
    inventory.endpoint.host,
    '127.0.0.1',
    ...spec.pki.extraSANs,
  ]);
}

function unique(values: string[]): string[] {
  return [...new Set(values.filter((value) => value.length > 0))];
}

/** Split cfssl `hosts` into DNS names and IPs, as cfssl does. */
export function splitHosts(hosts: readonly string[]): { dns: string[]; ips: string[] } {
  return { dns: hosts.filter((host) => isIP(host) === 0), ips: hosts.filter((host) => isIP(host) !== 0) };
}

/** Names that match `patterns` (exact or with `*` wildcards); all when patterns is undefined. */
export function selectEntries(entries: readonly CatalogEntry[], patterns: readonly string[] | undefined): CatalogEntry[] {
  if (!patterns) return [...entries];
  const matchers = patterns.map((pattern) => new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`));
  return entries.filter((entry) => matchers.some((matcher) => matcher.test(entry.name)));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
