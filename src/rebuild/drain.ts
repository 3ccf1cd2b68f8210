// A worker's pods leave before its machine does: cordon (no new pods), then evict the pods bound
// to it, DaemonSet pods and static (mirror) pods aside, through the Eviction API as `kubectl
// drain` does, so a PodDisruptionBudget is honoured (an eviction it refuses is tried again until
// the bound), and wait, with the same bound, until they are gone; their controllers recreate them
// on the other workers. Uncordon lets pods back once the rebuilt kubelet is Ready. Both go through
// an API server with the admin identity.
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

/** policy/v1 Eviction exists from Kubernetes 1.22; older API servers know policy/v1beta1. */
export function evictionApiVersion(kubernetes: string): string {
  const [major = 0, minor = 0] = kubernetes.split('.').map(Number);
  return major > 1 || minor >= 22 ? 'policy/v1' : 'policy/v1beta1';
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
    const policy = evictionApiVersion(ctx.spec.versions.kubernetes);
    const evicted = new Set<string>();
    await pollUntil(
      async () => {
        const left = podsToMove(await listPodsOn(health, name));
        for (const pod of left) {
          const key = `${pod.namespace}/${pod.name}`;
          if (evicted.has(key)) continue;
          const answer = await kubeRequest(health, `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}/eviction`, { method: 'POST', json: { apiVersion: policy, kind: 'Eviction', metadata: pod } });
          // 429: a PodDisruptionBudget allows no disruption now; the next attempt asks again.
          if (answer.status < 300 || answer.status === 404) evicted.add(key);
          else if (answer.status !== 429) throw new Error(`evicting pod ${key} answered HTTP ${answer.status}: ${answer.object.message ?? ''}`);
        }
        if (left.length) throw new Error(`${left.length} pods still on ${name}: ${left.map((pod) => `${pod.namespace}/${pod.name}${evicted.has(`${pod.namespace}/${pod.name}`) ? '' : ' (its disruption budget refuses the eviction)'}`).join(', ')}`);
      },
      { timeoutMs: DRAIN_TIMEOUT_MS, what: `the pods of ${name} to be evicted and gone`, signal: ctx.signal, where: { node: name } },
    );
    return `cordoned ${name} and evicted ${moving.length} pods from it`;
  } catch (error) {
    throw new TaskError(`cannot drain ${name}: ${(error as Error).message}`, { node: name }, { cause: error, hint: 'The API must answer to drain a worker. With the control plane down, rebuild the controllers first; --force skips the drain.' });
  }
}

/** Lets the scheduler use the rebuilt worker again. */
export async function uncordonWorker(ctx: RebuildContext): Promise<string> {
  const result = await setUnschedulable(healthContext(ctx), ctx.node.name, false);
  return result === 'changed' ? `uncordoned ${ctx.node.name}` : `${ctx.node.name} was schedulable`;
}
