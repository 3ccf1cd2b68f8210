// A worker's pods leave before its machine is rebuilt, and come back after: the drain and the
// uncordon of src/modules/drain.ts, through an API server with the admin identity.
import type { RunContext } from '../modules/module.ts';
import type { HealthContext } from '../health/connect.ts';
import { drainNode, setUnschedulable } from '../modules/drain.ts';
import { currentInventory, type RebuildContext } from './context.ts';

function healthContext(ctx: RebuildContext): HealthContext {
  // The API requests need only the connections, the inventory and the cluster files of a run.
  const run = { spec: ctx.spec, clusterDir: ctx.clusterDir, inventory: currentInventory(ctx), transports: ctx.peers } as unknown as RunContext;
  return { run, signal: ctx.signal };
}

/** Why: rebuilding a worker with live pods would kill them; drain moves them first. */
export async function drainWorker(ctx: RebuildContext): Promise<string> {
  return drainNode(healthContext(ctx), ctx.node.name, ctx.spec.versions.kubernetes, 'With the control plane down, rebuild the controllers first; --force skips the drain.');
}

/** Lets the scheduler use the rebuilt worker again. */
export async function uncordonWorker(ctx: RebuildContext): Promise<string> {
  const result = await setUnschedulable(healthContext(ctx), ctx.node.name, false);
  return result === 'changed' ? `uncordoned ${ctx.node.name}` : `${ctx.node.name} was schedulable`;
}
