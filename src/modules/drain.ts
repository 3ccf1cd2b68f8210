// `drain: {}` and `uncordon: {}` (on a worker, through an API server with the admin identity): a
// worker's pods leave before its kubelet is replaced, as `kubectl drain` does it: cordon (no new
// pods), then evict the pods bound to it, DaemonSet pods and static (mirror) pods aside, through
// the Eviction API, so a PodDisruptionBudget is honoured (an eviction it refuses is tried again
// until the bound), and wait, with the same bound, until they are gone; their controllers recreate
// them on the other workers. Uncordon lets pods back. The rebuild of a worker and the removal of
// one dropped from the spec use the same drain.
import { z } from 'zod';
import { TaskError } from '../errors.ts';
import { kubeRequest } from '../health/api-checks.ts';
import type { HealthContext } from '../health/connect.ts';
import { shellQuote } from '../transport/shell.ts';
import { onWorkstation } from './described.ts';
import type { CheckResult } from './module.ts';
import { defineModule } from './module.ts';
import { requireNode } from './remote-support.ts';
import { pollUntil, type HttpRequestOptions } from './node-probe.ts';

/** A pod with live work stops within its grace period; this bound says when to stop waiting. */
export const DRAIN_TIMEOUT_MS = 180_000;

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

/** The request that cordons or uncordons: only spec.unschedulable, and null removes it, as an uncordoned Node reads (kubectl's own patch). */
export function unschedulablePatch(unschedulable: boolean): HttpRequestOptions {
  return { method: 'PATCH', json: { spec: { unschedulable: unschedulable ? true : null } }, contentType: 'application/merge-patch+json' };
}

/**
 * Cordon or uncordon as kubectl does: a merge patch of spec.unschedulable alone. A read-modify-PUT
 * would race the kubelet, which updates its Node right after a restart (HTTP 409 Conflict).
 */
export async function setUnschedulable(health: HealthContext, name: string, unschedulable: boolean): Promise<'changed' | 'unchanged' | 'missing'> {
  const path = `/api/v1/nodes/${name}`;
  const current = await kubeRequest(health, path);
  if (current.status === 404) return 'missing';
  if (current.status !== 200) throw new Error(`reading node ${name} answered HTTP ${current.status}: ${current.object.message ?? ''}`);
  if (Boolean(current.object.spec?.unschedulable) === unschedulable) return 'unchanged';
  const written = await kubeRequest(health, path, unschedulablePatch(unschedulable));
  if (written.status === 404) return 'missing';
  if (written.status >= 300) throw new Error(`updating node ${name} answered HTTP ${written.status}: ${written.object.message ?? ''}`);
  return 'changed';
}

export async function listPodsOn(health: HealthContext, name: string): Promise<Record<string, any>[]> {
  const { status, object } = await kubeRequest(health, `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${name}`)}`);
  if (status !== 200) throw new Error(`listing the pods of ${name} answered HTTP ${status}: ${object.message ?? ''}`);
  return (object.items ?? []) as Record<string, any>[];
}

/** Why: a worker leaving the cluster for good (rebuilt, or dropped from the spec) hands its pods on first. */
export async function drainNode(health: HealthContext, name: string, kubernetes: string, hint: string): Promise<string> {
  const refused = new Set<string>();
  try {
    if ((await setUnschedulable(health, name, true)) === 'missing') return `${name} is not registered with the API server: nothing to drain`;
    const moving = podsToMove(await listPodsOn(health, name));
    const policy = evictionApiVersion(kubernetes);
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
          else if (answer.status === 429) refused.add(key);
          else if (answer.status !== 429) throw new Error(`evicting pod ${key} answered HTTP ${answer.status}: ${answer.object.message ?? ''}`);
        }
        if (left.length) throw new Error(`${left.length} pods still on ${name}: ${left.map((pod) => `${pod.namespace}/${pod.name}${evicted.has(`${pod.namespace}/${pod.name}`) ? '' : ' (its disruption budget refuses the eviction)'}`).join(', ')}`);
      },
      { timeoutMs: DRAIN_TIMEOUT_MS, what: `the pods of ${name} to be evicted and gone`, signal: health.signal, where: { node: name } },
    );
    return `cordoned ${name} and evicted ${moving.length} pods from it`;
  } catch (error) {
    const budget = refused.size ? await budgetHint(health, name) : '';
    throw new TaskError(`cannot drain ${name}: ${(error as Error).message}`, { node: name }, { cause: error, hint: budget || `The API must answer to drain a worker. ${hint}` });
  }
}

/**
 * Why: a disruption budget refuses an eviction while the pod's replacement has nowhere to run;
 * the usual cause is the other workers being cordoned (a drain interrupted half-way), so name them.
 */
async function budgetHint(health: HealthContext, name: string): Promise<string> {
  const { status, object } = await kubeRequest(health, '/api/v1/nodes').catch(() => ({ status: 0, object: {} as Record<string, any> }));
  const cordoned = status === 200 ? ((object.items ?? []) as Record<string, any>[]).filter((node) => node.spec?.unschedulable && node.metadata?.name !== name).map((node) => node.metadata.name as string) : [];
  const others = cordoned.length ? ` The other workers cordoned: ${cordoned.join(', ')}; \`kubectl uncordon ${cordoned.join(' ')}\` lets the pods move there.` : '';
  return `A PodDisruptionBudget refuses to evict a pod of ${name} until its replacement runs elsewhere.${others} Then run the command again.`;
}

/** Why: a worker removed for good must not stay listed (NotReady) as a node of the cluster. */
export async function deleteNodeObject(health: HealthContext, name: string): Promise<string> {
  const { status, object } = await kubeRequest(health, `/api/v1/nodes/${encodeURIComponent(name)}`, { method: 'DELETE' });
  if (status === 404) return `node ${name} was not registered with the API server`;
  if (status >= 300) throw new TaskError(`deleting node ${name} answered HTTP ${status}: ${object.message ?? ''}`, { node: name }, { hint: 'Delete it yourself: kubectl delete node NAME' });
  return `deleted node ${name} from the API server`;
}


/** What the API says of a node: whether it is registered, cordoned, and which pods a drain moves. */
export interface NodeScheduling {
  registered: boolean;
  unschedulable: boolean;
  movable: { namespace: string; name: string }[];
}

async function readScheduling(health: HealthContext, name: string): Promise<NodeScheduling> {
  const { status, object } = await kubeRequest(health, `/api/v1/nodes/${encodeURIComponent(name)}`);
  if (status === 404) return { registered: false, unschedulable: false, movable: [] };
  if (status !== 200) throw new Error(`reading node ${name} answered HTTP ${status}: ${object.message ?? ''}`);
  return { registered: true, unschedulable: Boolean(object.spec?.unschedulable), movable: podsToMove(await listPodsOn(health, name)) };
}

/** Why: the pure decision, tested with fixtures: drained means cordoned with nothing left to move. */
export function decideDrain(name: string, facts: NodeScheduling): CheckResult {
  if (!facts.registered) return { changed: false, reason: `${name} is not registered with the API server: nothing to drain` };
  if (facts.unschedulable && !facts.movable.length) return { changed: false, reason: `${name} is cordoned and runs no pod a drain moves` };
  return { changed: true, reason: `${facts.unschedulable ? '' : 'cordon and '}evict ${facts.movable.length} pod${facts.movable.length === 1 ? '' : 's'} from ${name}` };
}

/** Why: the pure decision, tested with fixtures. */
export function decideUncordon(name: string, facts: NodeScheduling): CheckResult {
  if (!facts.registered) return { changed: false, reason: `${name} is not registered with the API server` };
  return facts.unschedulable ? { changed: true, reason: `uncordon ${name}` } : { changed: false, reason: `${name} is schedulable` };
}

const KUBECTL = 'kubectl --kubeconfig kubeconfigs/admin.kubeconfig';
const noArgs = z.strictObject({});

/** The kubectl lines a person types on the workstation for the same work (explain, transcripts). */
export const kubectlLines = {
  drain: (name: string) => `${KUBECTL} drain ${shellQuote(name)} --ignore-daemonsets --delete-emptydir-data --force --timeout=${DRAIN_TIMEOUT_MS / 1000}s`,
  uncordon: (name: string) => `${KUBECTL} uncordon ${shellQuote(name)}`,
  deleteNode: (name: string) => `${KUBECTL} delete node ${shellQuote(name)} --ignore-not-found`,
};

/** Why: replacing a kubelet under running pods is what `kubectl drain` exists for; PDBs hold. */
export const drainModule = defineModule({
  name: 'drain',
  where: 'remote',
  summary: 'Cordon the node and evict its pods through the Eviction API (PodDisruptionBudgets hold), as kubectl drain',
  args: noArgs,
  async check(ctx) {
    const node = requireNode(ctx);
    return decideDrain(node.name, await readScheduling({ run: ctx.run, signal: ctx.signal }, node.name));
  },
  async apply(ctx) {
    const node = requireNode(ctx);
    return { changed: true, reason: await drainNode({ run: ctx.run, signal: ctx.signal }, node.name, ctx.run.spec.versions.kubernetes, 'Check the PodDisruptionBudgets that refuse it (kubectl get pdb -A), or make room on the other workers.') };
  },
  describe(ctx) {
    return [onWorkstation(kubectlLines.drain(ctx.node?.name ?? 'NODE'))];
  },
});

/** Why: a drained worker takes pods again once its kubelet is back. */
export const uncordonModule = defineModule({
  name: 'uncordon',
  where: 'remote',
  summary: 'Let the scheduler place pods on the node again (kubectl uncordon)',
  args: noArgs,
  async check(ctx) {
    const node = requireNode(ctx);
    return decideUncordon(node.name, await readScheduling({ run: ctx.run, signal: ctx.signal }, node.name));
  },
  async apply(ctx) {
    const node = requireNode(ctx);
    const result = await setUnschedulable({ run: ctx.run, signal: ctx.signal }, node.name, false);
    return { changed: result === 'changed', reason: result === 'changed' ? `uncordoned ${node.name}` : `${node.name} was schedulable` };
  },
  describe(ctx) {
    return [onWorkstation(kubectlLines.uncordon(ctx.node?.name ?? 'NODE'))];
  },
});
