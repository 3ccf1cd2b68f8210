// One provider call's working set: the context, the SDK clients, the tuned bounds, and the
// lists of what was created and found, so each resource helper stays a small function.
import { SpecError } from '../../errors.ts';
import type { ClusterSpec } from '../../spec/schema.ts';
import type { ProviderContext } from '../provider.ts';
import { createAwsApi, type AwsApi } from './api.ts';
import { awsErrorCode } from './errors.ts';
import type { AwsWaitBounds, ResolvedAwsOptions } from './options.ts';
import { recordAws, type AwsState } from './state.ts';
import { waitFor, type Probe } from './wait.ts';

export type AwsSpec = NonNullable<ClusterSpec['aws']>;

export interface AwsRun {
  readonly ctx: ProviderContext;
  readonly api: AwsApi;
  readonly options: ResolvedAwsOptions;
  readonly cluster: string;
  readonly spec: ClusterSpec;
  readonly aws: AwsSpec;
  readonly created: string[];
  readonly found: string[];
}

/** Why: every provider method starts the same way and must close the clients however it ends. */
export async function withRun<T>(ctx: ProviderContext, options: ResolvedAwsOptions, body: (run: AwsRun) => Promise<T>): Promise<T> {
  const aws = ctx.spec.aws;
  if (!aws) throw new SpecError('the aws provider needs an `aws:` section (at least adminCidrs)', { field: 'aws' });
  const api = createAwsApi(ctx.spec, options.retry, ctx.signal);
  try {
    return await body({ ctx, api, options, cluster: ctx.spec.name, spec: ctx.spec, aws, created: [], found: [] });
  } finally {
    api.close();
  }
}

/** Record and say that a resource was made ("vpc vpc-0abc"). */
export function noteCreated(run: AwsRun, kind: string, id: string): void {
  run.created.push(`${kind} ${id}`);
  run.ctx.log(`created ${kind} ${id}`);
}

/** Record that a resource already existed. */
export function noteFound(run: AwsRun, kind: string, id: string): void {
  run.found.push(`${kind} ${id}`);
}

/** The one resource of a kind, warning when an earlier failure left more than one. */
export function single<T>(run: AwsRun, kind: string, items: readonly T[] | undefined, id: (item: T) => string | undefined): T | undefined {
  const list = items ?? [];
  if (list.length > 1) {
    run.ctx.log(`warning: ${list.length} ${kind}s are tagged for cluster ${run.cluster} (${list.map(id).join(', ')}); using ${id(list[0] as T)}`);
  }
  return list[0];
}

/** Wait with the bound named in the options. */
export function waitBounded<T>(run: AwsRun, what: string, bound: keyof AwsWaitBounds, probe: () => Promise<Probe<T>>, hint?: string): Promise<T | undefined> {
  return waitFor(what, probe, {
    timeoutMs: run.options.waits[bound],
    initialDelayMs: run.options.waits.pollInitialMs,
    maxDelayMs: run.options.waits.pollMaxMs,
    log: run.ctx.log,
    signal: run.ctx.signal,
    ...(hint ? { hint } : {}),
  });
}

/**
 * Retry a call while AWS answers with one of `codes`: a resource just created may be unknown to
 * the next call for a few seconds (eventual consistency), a delete refused until a dependency is gone.
 */
export async function retryWhile<T>(run: AwsRun, what: string, codes: (code: string) => boolean, bound: keyof AwsWaitBounds, call: () => Promise<T>): Promise<T> {
  let value: { result: T } | undefined;
  await waitBounded(run, what, bound, async () => {
    try {
      value = { result: await call() };
      return { done: true, status: 'done' };
    } catch (error) {
      const code = awsErrorCode(error);
      if (code && codes(code)) return { done: false, status: code };
      throw error;
    }
  });
  if (!value) throw new Error(`internal: ${what} finished without a result`);
  return value.result;
}

/** Codes that mean "not visible yet" right after a create. */
export function isNotFoundYet(code: string): boolean {
  return code.endsWith('NotFound');
}

/** Merge resource ids into provider.aws in the state. */
export function recordAwsIds(run: AwsRun, ids: Partial<AwsState>): Promise<void> {
  return recordAws(run.ctx, (aws) => Object.assign(aws, ids));
}
