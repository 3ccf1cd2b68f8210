// Checks that need a working API, not only a live one: an object written and read back through
// every API server and through the load balancer (etcd, encryption and admission all on the
// path), and the leader leases of kube-controller-manager and kube-scheduler.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { httpRequest, pollUntil, type HttpRequestOptions } from '../modules/node-probe.ts';
import { loadBalancerType } from '../spec/schema.ts';
import { directTcp, files, viaNode, type HealthContext, type HealthResult, type Tls } from './connect.ts';

/** The ConfigMap verify writes and reads back; in kube-system, so users' namespaces stay clean. */
export const VERIFY_CONFIGMAP = { namespace: 'kube-system', name: 'hardway-verify' } as const;

/** The components elected through a Lease in kube-system. */
export const LEADER_LEASES = ['kube-controller-manager', 'kube-scheduler'] as const;

export interface ApiTarget {
  what: string;
  base: URL;
  open: () => Promise<Duplex>;
}

/** Every API server, each reached through its own node's SSH connection. */
export function controllerTargets(ctx: HealthContext): ApiTarget[] {
  return ctx.run.inventory.nodes.controllers().map((controller) => ({
    what: `kube-apiserver on ${controller.name}`,
    base: new URL(`https://${controller.internalIP}:6443`),
    open: () => viaNode(ctx, controller, controller.internalIP, 6443),
  }));
}

function apiTargets(ctx: HealthContext): ApiTarget[] {
  const targets = controllerTargets(ctx);
  const endpoint = ctx.run.inventory.endpoint;
  if (loadBalancerType(ctx.run.spec) !== 'none' && endpoint.host) {
    targets.push({ what: `the load balancer ${endpoint.host}:${endpoint.port}`, base: new URL(`https://${endpoint.host}:${endpoint.port}`), open: () => directTcp(endpoint.host, endpoint.port) });
  }
  return targets;
}

export async function call(target: ApiTarget, tls: Tls, path: string, signal: AbortSignal, options: HttpRequestOptions = {}): Promise<{ status: number; object: Record<string, any> }> {
  const { status, body } = await httpRequest(await target.open(), new URL(path, target.base), tls, signal, { maxBody: 64 * 1024, ...options });
  let object: Record<string, any> = {};
  try {
    object = JSON.parse(body) as Record<string, any>;
  } catch {
    if (status < 300) throw new Error(`${path} answered HTTP ${status} with a body that is not JSON`);
  }
  return { status, object };
}

/** Why: one API request with the admin identity, answered by the first API server that can. */
export async function kubeRequest(ctx: HealthContext, path: string, options: HttpRequestOptions = {}): Promise<{ status: number; object: Record<string, any> }> {
  const tls = await adminTls(ctx);
  let last: Error | undefined;
  for (const target of controllerTargets(ctx)) {
    try {
      return await call(target, tls, path, ctx.signal, options);
    } catch (error) {
      last = error as Error;
    }
  }
  throw last ?? new Error('the cluster has no API server to ask');
}

export const adminTls = (ctx: HealthContext) => files(ctx, { ca: 'pki/ca.pem', cert: 'pki/admin.pem', key: 'pki/admin-key.pem' }, 'pki/kube-apiserver.pem');

/** Why: /healthz says a server lives; storing and reading an object says the cluster works. */
export async function checkWriteRead(ctx: HealthContext): Promise<HealthResult[]> {
  const tls = await adminTls(ctx);
  // One target after the other: they write the same object, and each must read its own write.
  const results: HealthResult[] = [];
  for (const target of apiTargets(ctx)) results.push(await writeRead(target, tls, ctx.signal));
  return results;
}

async function writeRead(target: ApiTarget, tls: Tls, signal: AbortSignal): Promise<HealthResult> {
  const { namespace, name } = VERIFY_CONFIGMAP;
  const collection = `/api/v1/namespaces/${namespace}/configmaps`;
  const token = randomBytes(8).toString('hex');
  const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { written: token, through: target.what } };
  try {
    let written = await call(target, tls, collection, signal, { method: 'POST', json: object });
    // It exists from an earlier verify: an unconditional update writes it again.
    if (written.status === 409) written = await call(target, tls, `${collection}/${name}`, signal, { method: 'PUT', json: object });
    if (written.status >= 300) throw new Error(`writing ConfigMap ${namespace}/${name} answered HTTP ${written.status}: ${written.object.message ?? ''}`.trim());
    const read = await call(target, tls, `${collection}/${name}`, signal);
    if (read.status !== 200) throw new Error(`reading ConfigMap ${namespace}/${name} answered HTTP ${read.status}: ${read.object.message ?? ''}`.trim());
    if (read.object.data?.written !== token) throw new Error(`ConfigMap ${namespace}/${name} read back ${JSON.stringify(read.object.data?.written)}, not what was written`);
    return { what: target.what, ok: true, detail: `wrote and read ConfigMap ${namespace}/${name}` };
  } catch (error) {
    return { what: target.what, ok: false, detail: (error as Error).message };
  }
}

/** `controller-0_5f1c...` -> `controller-0`: leader election's identity is the hostname plus a UUID. */
export function leaseHolderNode(holderIdentity: string | undefined): string | undefined {
  if (!holderIdentity) return undefined;
  const index = holderIdentity.lastIndexOf('_');
  return index > 0 ? holderIdentity.slice(0, index) : holderIdentity;
}

/** Why: exactly one controller-manager and one scheduler must lead; a lease nobody renews is a stopped component. */
export function judgeLease(lease: Record<string, any>, controllers: readonly string[], now: Date): { ok: boolean; detail: string } {
  const holder = leaseHolderNode(lease.spec?.holderIdentity);
  if (!holder) return { ok: false, detail: 'no holder' };
  if (!controllers.includes(holder)) return { ok: false, detail: `held by ${holder}, which is not a controller of this cluster` };
  const renewed = Date.parse(lease.spec?.renewTime ?? '');
  const duration = Number(lease.spec?.leaseDurationSeconds ?? 15);
  const ageSeconds = Number.isFinite(renewed) ? Math.round((now.getTime() - renewed) / 1000) : Number.NaN;
  // Renewed every few seconds; a lease older than twice its duration (plus clock skew) has lapsed.
  if (!Number.isFinite(ageSeconds) || ageSeconds > 2 * duration + 30) return { ok: false, detail: `held by ${holder} but ${Number.isFinite(ageSeconds) ? `not renewed for ${ageSeconds}s` : 'never renewed'}` };
  return { ok: true, detail: `leader ${holder}` };
}

/** The leader of each elected component, waiting up to `waitMs` for a fresh cluster to elect them. */
export async function checkLeaders(ctx: HealthContext, waitMs: number): Promise<HealthResult[]> {
  const tls = await adminTls(ctx);
  const targets = apiTargets(ctx);
  const controllers = ctx.run.inventory.nodes.controllers().map((node) => node.name);
  const readLease = async (name: string) => {
    let last: Error | undefined;
    for (const target of targets) {
      try {
        const { status, object } = await call(target, tls, `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${name}`, ctx.signal);
        if (status === 404) throw new Error(`no Lease kube-system/${name} yet`);
        if (status !== 200) throw new Error(`reading Lease kube-system/${name} answered HTTP ${status}: ${object.message ?? ''}`.trim());
        return object;
      } catch (error) {
        last = error as Error;
      }
    }
    throw last ?? new Error('no API server to ask');
  };
  return Promise.all(
    LEADER_LEASES.map(async (name): Promise<HealthResult> => {
      const what = `${name} leader`;
      let verdict = { ok: false, detail: 'not checked' };
      try {
        await pollUntil(
          async () => {
            verdict = judgeLease(await readLease(name), controllers, new Date());
            if (!verdict.ok) throw new Error(verdict.detail);
          },
          { timeoutMs: waitMs, what: `a ${name} to hold its leader lease`, signal: ctx.signal, where: {} },
        );
        return { what, ok: true, detail: verdict.detail };
      } catch (error) {
        return { what, ok: false, detail: verdict.ok ? (error as Error).message : verdict.detail === 'not checked' ? (error as Error).message : verdict.detail };
      }
    }),
  );
}
