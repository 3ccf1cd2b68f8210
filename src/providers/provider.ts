// What the infra, loadbalancer, rebuild and destroy paths need from where machines come from.
import type { Inventory, Node } from '../inventory/node.ts';
import type { ProviderFacts } from '../inventory/derive.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import type { StateStore } from '../engine/state.ts';
import type { TransportPool } from '../transport/transport.ts';

export interface ProviderContext {
  spec: ClusterSpec;
  clusterDir: string;
  state: StateStore;
  /** The inventory derived from the spec (before provider facts). */
  inventory: Inventory;
  log: (line: string) => void;
  signal: AbortSignal;
  /** Connections to the nodes, for providers that act on them (static destroy --wipe). */
  transports?: TransportPool;
}

export interface EnsureResult {
  /** Resources created by this call, as "kind name" lines; empty means everything was found. */
  created: string[];
  /** Resources that already existed. */
  found: string[];
  /** What only the provider knows (public SSH addresses, the NLB DNS name). */
  facts: ProviderFacts;
}

/**
 * One resource of a provider's plan, read with the finders ensure uses: what ensure would do with
 * it, as data, so nothing reads the printed line back.
 */
export interface PlannedResource {
  /**
   * found: there as wanted; create: ensure makes it; change: ensure alters what is there (boots a
   * stopped node on its disk, adds or revokes a rule, re-points a route, flips a setting);
   * missing: needed, and only the user can make it (ensure would stop there).
   */
  readonly action: 'found' | 'create' | 'change' | 'missing';
  /** The line `plan` prints. */
  readonly text: string;
  /** Lines under it: the rules a security group gains or loses, what a worker node is given. */
  readonly details?: readonly string[];
  /** A machine of the inventory that exists already (running, or a disk kept), so a dry run looks at it rather than planning it fresh. */
  readonly existingNode?: string;
}

/** The plan as the lines a person reads, details indented under their resource. */
export function planText(plan: readonly PlannedResource[]): string[] {
  return plan.flatMap((resource) => [resource.text, ...(resource.details ?? []).map((line) => `  ${line}`)]);
}

/** Why: lab, aws and static differ only in where machines come from and go to. */
export interface Provider {
  readonly name: 'lab' | 'aws' | 'static';
  /** Throw a PrerequisiteError (exit 3) naming what is missing: root, a package, credentials. */
  preflight(ctx: ProviderContext): Promise<void>;
  /** What ensure would create or find, without changing anything. */
  plan(ctx: ProviderContext): Promise<PlannedResource[]>;
  /** Create or find every machine (and the NLB); idempotent. */
  ensure(ctx: ProviderContext): Promise<EnsureResult>;
  /** Replace one machine by a fresh one with the same name and address. */
  replace(ctx: ProviderContext, node: Node): Promise<void>;
  /**
   * Remove one machine the spec no longer lists (scaling in), after its etcd member left; returns
   * what was done. Without it the machine is left running and the caller says so.
   */
  remove?(ctx: ProviderContext, name: string): Promise<string>;
  /** Tear down what the provider created. */
  destroy(ctx: ProviderContext, options: { purge?: boolean; wipe?: boolean }): Promise<string[]>;
  /** Load balancer membership (aws NLB targets); haproxy is handled by the loadbalancer playbook. */
  registerTargets?(ctx: ProviderContext, nodes: Node[]): Promise<{ changed: boolean; reason: string }>;
  deregisterTargets?(ctx: ProviderContext, nodes: Node[]): Promise<void>;
}
