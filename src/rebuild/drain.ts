// A worker's pods leave before its machine does: cordon (no new pods), then delete the pods bound
// to it, DaemonSet pods and static (mirror) pods aside, and wait, with a bound, until they are
// gone; their controllers recreate them on the other workers. Uncordon lets pods back once the
// rebuilt kubelet is Ready. Both go through an API server with the admin identity.
import type { RunContext } from '../engine/context.ts';
import { TaskError } from '../errors.ts';
import { kubeRequest } from '../health/api-checks.ts';
import type { HealthContext } from '../health/connect.ts';
import { pollUntil } from '../modules/wait.ts';
import { currentInventory, type RebuildContext } from './context.ts';

/** A pod with live work stops within its grace period; this bound says when to stop waiting. */
export const DRAIN_TIMEOUT_MS = 180_000;

function healthContext(ctx: RebuildContext): HealthContext {
  // The API requests need only the connections, the inventory and the cluster files of a run.
  const run = { spec: ctx.spec, clusterDir: ctx.clusterDir, inventory: currentInventory(ctx), transports: ctx.peers } as unknown as RunContext;
  return { run, signal: ctx.signal };
}

/** Pods a drain moves: not a DaemonSet's (they belong on every node) and not a static pod's mirror. */
export function podsToMove(pods: Record<string, any>[]): { namespace: string; name: string }[] {
  return pods
    .filter((pod) => !(pod.metadata?.ownerReferences ?? []).some((owner: Record<string, any>) => owner.kind === 'DaemonSet'))
    .filter((pod) => !pod.metadata?.annotations?.['kubernetes.io/config.mirror'])
    .map((pod) => ({ namespace: pod.metadata.namespace as string, name: pod.metadata.name as string }));
}

async function setUnschedulable(health: HealthContext, name: string, unschedulable: boolean): Promise<'changed' | 'unchanged' | 'missing'> {
  const path = `/api/v1/nodes/${name}`;
  const current = await kubeRequest(health, path);
  if (current.status === 404) return 'missing';
  if (current.status !== 200) throw new Error(`reading node ${name} answered HTTP ${current.status}: ${current.object.message ?? ''}`);
  if (Boolean(current.object.spec?.unschedulable) === unschedulable) return 'unchanged';
  const updated = { ...current.object, spec: { ...current.object.spec, unschedulable } };
  const written = await kubeRequest(health, path, { method: 'PUT', json: updated });
  if (written.status >= 300) throw new Error(`updating node ${name} answered HTTP ${written.status}: ${written.object.message ?? ''}`);
  return 'changed';
}

async function listPodsOn(health: HealthContext, name: string): Promise<Record<string, any>[]> {
  const { status, object } = await kubeRequest(health, `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${name}`)}`);
  if (status !== 200) throw new Error(`listing the pods of ${name} answered HTTP ${status}: ${object.message ?? ''}`);
  return (object.items ?? []) as Record<string, any>[];
}

/** Why: rebuilding a worker with live pods would kill them; drain moves them first. */
export async function drainWorker(ctx: RebuildContext): Promise<string> {
  const health = healthContext(ctx);
  const name = ctx.node.name;
  try {
    if ((await setUnschedulable(health, name, true)) === 'missing') return `${name} is not registered with the API server: nothing to drain`;
    const moving = podsToMove(await listPodsOn(health, name));
    for (const pod of moving) {
      const deleted = await kubeRequest(health, `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}`, { method: 'DELETE' });
      if (deleted.status >= 300 && deleted.status !== 404) throw new Error(`deleting pod ${pod.namespace}/${pod.name} answered HTTP ${deleted.status}: ${deleted.object.message ?? ''}`);
    }
    await pollUntil(
      async () => {
        const left = podsToMove(await listPodsOn(health, name));
        if (left.length) throw new Error(`${left.length} pods still on ${name}: ${left.map((pod) => `${pod.namespace}/${pod.name}`).join(', ')}`);
      },
      { timeoutMs: DRAIN_TIMEOUT_MS, what: `the pods of ${name} to be gone`, signal: ctx.signal, where: { node: name } },
    );
    return `cordoned ${name} and moved ${moving.length} pods off it`;
  } catch (error) {
    throw new TaskError(`cannot drain ${name}: ${(error as Error).message}`, { node: name }, { cause: error, hint: 'The API must answer to drain a worker. With the control plane down, rebuild the controllers first; --force skips the drain.' });
  }
}

/** Lets the scheduler use the rebuilt worker again. */
export async function uncordonWorker(ctx: RebuildContext): Promise<string> {
  const result = await setUnschedulable(healthContext(ctx), ctx.node.name, false);
  return result === 'changed' ? `uncordoned ${ctx.node.name}` : `${ctx.node.name} was schedulable`;
}
