// What the rebuild phases share: the cluster, the node, two SSH pools (a patient one for the new
// machine and the engine's steps, a quick one for peers that may be dead), the provider, and the
// engine's step runner supplied by the CLI.
import type { StateStore } from '../engine/state.ts';
import { deriveInventory } from '../inventory/derive.ts';
import type { Inventory, Node } from '../inventory/node.ts';
import type { Provider, ProviderContext } from '../providers/provider.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import type { TransportPool } from '../transport/transport.ts';

/** Why: phases get one object instead of a dozen parameters, and no module-level state. */
export interface RebuildContext {
  spec: ClusterSpec;
  clusterDir: string;
  state: StateStore;
  /** The node being rebuilt, as the inventory had it when the rebuild started. */
  node: Node;
  /** Other machines (etcd peers, lb nodes): connects with short retries, so a dead one is noticed quickly. */
  peers: TransportPool;
  /** The rebuilt node's connection (waits for a booting machine); the engine's steps use the same pool. */
  nodes: TransportPool;
  provider: Provider;
  signal: AbortSignal;
  /** Progress lines for the person running the rebuild. */
  log: (line: string) => void;
  force: boolean;
  wipe: boolean;
  /** Run these playbook steps on the rebuilt node only; throws when a step fails. */
  runSteps(steps: readonly string[]): Promise<void>;
}

/** Why: the inventory follows the state (aws gives a replaced machine a new public address). */
export function currentInventory(ctx: Pick<RebuildContext, 'spec' | 'state'>): Inventory {
  return deriveInventory(ctx.spec, ctx.state.data.providerFacts);
}

/** The node as the current inventory has it. */
export function currentNode(ctx: RebuildContext): Node {
  return currentInventory(ctx).nodes.find((node) => node.name === ctx.node.name) ?? ctx.node;
}

/** Why: provider calls (replace, NLB targets) take the same context the infra step gives them. */
export function providerContextOf(ctx: RebuildContext): ProviderContext {
  return { spec: ctx.spec, clusterDir: ctx.clusterDir, state: ctx.state, inventory: currentInventory(ctx), log: ctx.log, signal: ctx.signal, transports: ctx.peers };
}
