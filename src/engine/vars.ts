// The variables a playbook's `${...}` placeholders and the units/ templates can use. Derived from
// the run's spec and inventory for one node, so a template never computes cluster topology itself.
import { addressInCidr } from '../inventory/ipv4.ts';
import { type Node } from '../inventory/node.ts';
import { SpecError } from '../errors.ts';
import { kubernetesFeatures, type KubernetesFeatures } from '../spec/kubernetes-versions.ts';
import type { RunContext } from '../modules/module.ts';

export interface TemplateVars extends Record<string, unknown> {
  node: Node | undefined;
  spec: RunContext['spec'];
  cluster: string;
  inventory: RunContext['inventory'];
  controllers: Node[];
  etcd: Node[];
  lb: Node[];
  /** `etcd-0=https://10.240.0.20:2380,...` */
  etcdInitialCluster: string;
  /** `https://10.240.0.20:2379,...` */
  etcdServers: string;
  /** The first address of the service CIDR: the `kubernetes` Service. */
  kubernetesServiceIP: string;
  /** `https://HOST:PORT` of the load balancer (or the only controller). */
  apiEndpoint: string;
  /** `new` for a member of the first bootstrap; `existing` for one joined later (rebuild). */
  etcdInitialClusterState: 'new' | 'existing';
  /** Paths on the workstation. */
  clusterDir: string;
  /** What differs between Kubernetes minors (flags, config API versions): one table. */
  k8s: KubernetesFeatures;
  workers: Node[];
  /** Where the container runtime lives: Debian's packages in the lab image, release archives elsewhere. */
  runtime: ContainerRuntimePaths;
  /** The other workers' pod ranges this node routes to their node address (routes step). */
  podRoutes: { cidr: string; via: string }[];
  /** The cluster DNS Service address kubelets hand to pods (the tenth of the service CIDR). */
  clusterDNS: string;
}

export interface ContainerRuntimePaths {
  containerd: string;
  runc: string;
  cniBinDir: string;
  /** No process of the lab has CAP_SYS_RESOURCE: containerd must not lower oom_score_adj (ENVIRONMENT.md). */
  restrictOomScoreAdj: boolean;
}

/** Why: the lab's image has Debian's containerd, runc and CNI plugins; other providers get release binaries. */
export function containerRuntimePaths(provider: RunContext['spec']['provider']): ContainerRuntimePaths {
  return provider === 'lab'
    ? { containerd: '/usr/bin/containerd', runc: '/usr/sbin/runc', cniBinDir: '/usr/lib/cni', restrictOomScoreAdj: true }
    : { containerd: '/usr/local/bin/containerd', runc: '/usr/local/sbin/runc', cniBinDir: '/opt/cni/bin', restrictOomScoreAdj: false };
}

/**
 * Members joined to a running cluster keep `existing`, so a re-run changes nothing: a rebuilt one
 * (`'existing'`: it rejoined with every member of the spec), or one added by scaling out, with the
 * member list it joined (etcd refuses a joiner whose --initial-cluster is not the cluster's list).
 */
export type EtcdJoin = 'existing' | { state: 'existing'; initialCluster: string };

export function joinedEtcdMembers(run: Pick<RunContext, 'state'>): Record<string, EtcdJoin> {
  return (run.state.data.operations.etcdJoined as Record<string, EtcdJoin> | undefined) ?? {};
}

/**
 * The --initial-cluster a member's unit carries. etcd reads it only on a member's first start, but
 * a changed unit restarts the member, so a bootstrapped member keeps the list it started with
 * (recorded when the cluster first scaled: `operations.etcdBootstrap`) and a joined one its own.
 */
export function etcdInitialClusterOf(run: Pick<RunContext, 'state'>, etcd: readonly Node[], node: Node | undefined): string {
  const joined = node ? joinedEtcdMembers(run)[node.name] : undefined;
  if (joined && typeof joined === 'object') return joined.initialCluster;
  const bootstrap = run.state.data.operations.etcdBootstrap;
  if (!joined && typeof bootstrap === 'string') return bootstrap;
  return initialClusterString(etcd);
}

/** `NAME=https://IP:2380,...` in the spec's order. */
export function initialClusterString(members: readonly { name: string; internalIP: string }[]): string {
  return members.map((member) => `${member.name}=https://${member.internalIP}:2380`).join(',');
}

export function templateVars(run: RunContext, node: Node | undefined): TemplateVars {
  const nodes = run.inventory.nodes;
  const etcd = nodes.etcd();
  return {
    node,
    spec: run.spec,
    cluster: run.spec.name,
    inventory: run.inventory,
    controllers: nodes.controllers(),
    etcd,
    lb: nodes.lb(),
    etcdInitialCluster: etcdInitialClusterOf(run, etcd, node),
    etcdServers: etcd.map((member) => `https://${member.internalIP}:2379`).join(','),
    kubernetesServiceIP: addressInCidr(run.spec.network.serviceCIDR, 1),
    apiEndpoint: `https://${run.inventory.endpoint.host}:${run.inventory.endpoint.port}`,
    etcdInitialClusterState: node && joinedEtcdMembers(run)[node.name] ? 'existing' : 'new',
    clusterDir: run.clusterDir,
    k8s: kubernetesFeatures(run.spec.versions.kubernetes),
    workers: nodes.workers(),
    runtime: containerRuntimePaths(run.spec.provider),
    podRoutes: nodes
      .workers()
      .filter((worker) => worker.name !== node?.name && worker.podCIDR)
      .map((worker) => ({ cidr: worker.podCIDR!, via: worker.internalIP })),
    clusterDNS: addressInCidr(run.spec.network.serviceCIDR, 10),
  };
}

const PLACEHOLDER = /\$\{([^}]*)\}/g;
const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

/** Why: playbooks are data; `${node.name}` resolves a dotted path, never evaluates code. */
export function interpolate<T>(value: T, vars: Record<string, unknown>): T {
  if (typeof value === 'string') return interpolateString(value, vars) as T;
  if (Array.isArray(value)) return value.map((item) => interpolate(item, vars)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, vars)])) as T;
  }
  return value;
}

function interpolateString(text: string, vars: Record<string, unknown>): string {
  return text.replace(PLACEHOLDER, (_, expression: string) => {
    const path = expression.trim();
    if (!PATH.test(path)) throw new SpecError(`\${${expression}} is not a variable path like \${node.name}`);
    const resolved = path.split('.').reduce<unknown>((current, key) => (current == null ? undefined : (current as Record<string, unknown>)[key]), vars);
    if (resolved === undefined || resolved === null) throw new SpecError(`\${${path}} has no value here`);
    return typeof resolved === 'object' ? JSON.stringify(resolved) : String(resolved);
  });
}

/** The placeholders a value uses, for load-time checks of the variable names. */
export function placeholders(value: unknown): string[] {
  if (typeof value === 'string') return [...value.matchAll(PLACEHOLDER)].map((match) => (match[1] ?? '').trim());
  if (Array.isArray(value)) return value.flatMap(placeholders);
  if (value && typeof value === 'object') return Object.values(value).flatMap(placeholders);
  return [];
}
