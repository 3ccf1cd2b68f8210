// `when:` on a playbook task: the task runs only where its condition holds (kubeadm's RunIf).
// Conditions are data over spec values, never expressions, so a playbook cannot carry code.
import { z } from 'zod';
import type { Inventory } from '../inventory/node.ts';
import { loadBalancerType, type ClusterSpec } from '../spec/schema.ts';

const providers = z.enum(['lab', 'aws', 'static']);

export const whenSchema = z.strictObject({
  /** The providers the task runs with (the lab image already has Debian's containerd). */
  provider: z.union([providers, z.array(providers).min(1)]).optional(),
  /** Only when the cluster has at least one node of this role (pod routes exist only with workers). */
  exists: z.enum(['controller', 'etcd', 'lb', 'worker']).optional(),
  /** Only with this kind of load balancer (haproxy on lb nodes, or an AWS NLB). */
  loadBalancer: z.enum(['haproxy', 'nlb', 'none']).optional(),
});

export type TaskCondition = z.output<typeof whenSchema>;

/** Why: one place decides whether a task applies; it returns why not, for the recap and explain. */
export function conditionUnmet(when: TaskCondition | undefined, run: { spec: Pick<ClusterSpec, 'provider' | 'loadBalancer'>; inventory: Pick<Inventory, 'nodes'> }): string | undefined {
  if (when?.provider) {
    const wanted = [when.provider].flat();
    if (!wanted.includes(run.spec.provider)) return `only with provider ${wanted.join(' or ')} (this is ${run.spec.provider})`;
  }
  if (when?.exists && !run.inventory.nodes.some((node) => node.roles.includes(when.exists!))) return `only when the cluster has a ${when.exists} node`;
  if (when?.loadBalancer && loadBalancerType(run.spec) !== when.loadBalancer) return `only with load balancer ${when.loadBalancer} (this cluster has ${loadBalancerType(run.spec)})`;
  return undefined;
}

/** How `explain` names a condition: "provider aws or static". */
export function describeCondition(when: TaskCondition | undefined): string | undefined {
  const parts = [when?.provider ? `provider ${[when.provider].flat().join(' or ')}` : '', when?.exists ? `a ${when.exists} node` : '', when?.loadBalancer ? `load balancer ${when.loadBalancer}` : ''].filter(Boolean);
  return parts.length ? parts.join(' and ') : undefined;
}
