// Checks of the workers as the API server sees them: each registered, and Ready (its kubelet
// reports, the runtime and the pod network are up).
import { pollUntil } from '../modules/node-probe.ts';
import { kubeRequest } from './api-checks.ts';
import type { HealthContext, HealthResult } from './connect.ts';

/** `Ready True`, or why not: the Ready condition's reason and message, or "not registered". */
export function judgeNode(object: Record<string, any> | undefined): { ok: boolean; detail: string } {
  if (!object) return { ok: false, detail: 'not registered with the API server' };
  const ready = (object.status?.conditions as Record<string, any>[] | undefined)?.find((condition) => condition.type === 'Ready');
  if (!ready) return { ok: false, detail: 'registered, no Ready condition yet' };
  if (ready.status === 'True') return { ok: true, detail: `Ready (kubelet ${object.status?.nodeInfo?.kubeletVersion ?? '?'})` };
  return { ok: false, detail: `not Ready: ${[ready.reason, ready.message].filter(Boolean).join(': ') || ready.status}` };
}

/** Why: a worker that runs but never turns Ready has a broken runtime, CNI or certificate. */
export async function checkWorkersReady(ctx: HealthContext, waitMs: number): Promise<HealthResult[]> {
  const workers = ctx.run.inventory.nodes.workers();
  return Promise.all(
    workers.map(async (worker): Promise<HealthResult> => {
      const what = `node ${worker.name}`;
      let verdict = { ok: false, detail: 'not checked' };
      try {
        await pollUntil(
          async () => {
            const { status, object } = await kubeRequest(ctx, `/api/v1/nodes/${worker.name}`);
            if (status !== 200 && status !== 404) throw new Error(`reading node ${worker.name} answered HTTP ${status}: ${object.message ?? ''}`.trim());
            verdict = judgeNode(status === 404 ? undefined : object);
            if (!verdict.ok) throw new Error(verdict.detail);
          },
          { timeoutMs: waitMs, what: `node ${worker.name} to be Ready`, signal: ctx.signal, where: {} },
        );
        return { what, ok: true, detail: verdict.detail };
      } catch (error) {
        return { what, ok: false, detail: verdict.detail === 'not checked' ? (error as Error).message : verdict.detail };
      }
    }),
  );
}
