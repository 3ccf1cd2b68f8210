// `service: { name, enabled, state }`: a systemd unit enabled and started, stopped, or restarted.
//
// Starting: `systemctl --no-block start` and then polling the unit, never a blocking start. A
// Type=notify etcd member stays "activating" until a quorum of members is up; a blocking start on
// the first member would wait for the others, which the engine starts only after this task. The poll
// fails fast on a unit that failed (with its journal), accepts "active", and after a short settle
// time accepts "still activating": the step's wait task then checks real health.
//
// daemon-reload runs only when a unit file changed in this run (scratch.changedUnits, noted by copy
// and template) or systemd reports NeedDaemonReload. `restarted` (handlers) is skipped when this run
// started the unit from stopped: it already runs with the new files.
import { z } from 'zod';
import { TaskError } from '../errors.ts';
import { tailLines } from '../transport/errors.ts';
import { sleep } from '../transport/retry.ts';
import { shellQuote } from '../transport/shell.ts';
import type { Transport } from '../transport/transport.ts';
import type { CheckResult } from './module.ts';
import { defineModule } from './module.ts';
import { requireNode } from './remote-support.ts';

/** Playbook arguments: `service: { name, enabled, state }`. */
export const serviceArgs = z.strictObject({
  /** `etcd` or `etcd.service`. */
  name: z.string().regex(/^[A-Za-z0-9@._-]+$/, { message: 'must be a unit name like etcd or etcd.service' }),
  enabled: z.boolean().optional(),
  state: z.enum(['started', 'stopped', 'restarted']).optional(),
});
/** The arguments after parsing. */
export type ServiceArgs = z.output<typeof serviceArgs>;

const PROPERTIES = ['LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'NeedDaemonReload', 'InvocationID', 'Result'] as const;
/** The `systemctl show` properties the decision reads. */
export type ServiceFacts = Record<(typeof PROPERTIES)[number], string>;

/** What apply does, decided by check. */
export interface ServicePlan {
  unit: string;
  daemonReload: boolean;
  enable?: boolean;
  action?: 'start' | 'stop' | 'restart';
  facts: ServiceFacts;
}

/** How long a start may stay "activating" before the task moves on (the wait task checks health). */
const SETTLE_MS = 10_000;
/**
 * How long a unit may take to finish stopping before its queued start runs: a real
 * kube-apiserver has been seen taking more than 15 s to exit after SIGTERM (ENVIRONMENT.md).
 */
const STOPPING_MS = 120_000;
const POLL_MS = 250;

/** `etcd` -> `etcd.service`; names with a unit suffix stay as they are. */
export function unitName(name: string): string {
  return /\.(service|socket|timer|target|mount|path)$/.test(name) ? name : `${name}.service`;
}

/** One `systemctl show` for every property the decision needs. */
export function serviceFactsCommand(unit: string): string {
  return `systemctl show ${shellQuote(unit)} --no-pager ${PROPERTIES.map((property) => `-p ${property}`).join(' ')}`;
}

/** `Key=value` lines into facts; missing properties read as empty. */
export function parseServiceFacts(stdout: string): ServiceFacts {
  const facts = Object.fromEntries(PROPERTIES.map((property) => [property, ''])) as ServiceFacts;
  for (const line of stdout.split('\n')) {
    const index = line.indexOf('=');
    const key = line.slice(0, index) as keyof ServiceFacts;
    if (index > 0 && (PROPERTIES as readonly string[]).includes(key)) facts[key] = line.slice(index + 1).trim();
  }
  return facts;
}

const ENABLED = new Set(['enabled', 'enabled-runtime', 'static', 'alias', 'indirect', 'generated']);
const RUNNING = new Set(['active', 'activating', 'reloading']);

/**
 * Why: the pure decision (pyinfra style), tested with `systemctl show` fixtures.
 * `changedUnits` are units written this run and not yet reloaded; `startedThisRun` says this run
 * started the unit from stopped.
 */
export function decideService(facts: ServiceFacts, args: ServiceArgs, run: { changedUnits: readonly string[]; startedThisRun: boolean }): CheckResult {
  const unit = unitName(args.name);
  const daemonReload = run.changedUnits.length > 0 || facts.NeedDaemonReload === 'yes';
  if (facts.LoadState === 'masked') throw new RangeError(`${unit} is masked; unmask it (systemctl unmask ${unit}) if it should run`);
  if (facts.LoadState === 'not-found' && !run.changedUnits.includes(unit)) {
    throw new RangeError(`${unit} is not installed (no unit file); the task that writes /etc/systemd/system/${unit} must run first`);
  }
  const plan: ServicePlan = { unit, daemonReload, facts };
  const reasons: string[] = [];
  const okParts: string[] = [];
  if (daemonReload) reasons.push(`daemon-reload (${run.changedUnits.length ? `${run.changedUnits.join(', ')} changed` : 'systemd asks for it'})`);

  if (args.enabled === true) {
    if (ENABLED.has(facts.UnitFileState)) okParts.push(facts.UnitFileState);
    else {
      plan.enable = true;
      reasons.push(`enable ${unit}`);
    }
  } else if (args.enabled === false) {
    if (facts.UnitFileState === 'enabled') {
      plan.enable = false;
      reasons.push(`disable ${unit}`);
    } else okParts.push(facts.UnitFileState || 'disabled');
  }

  const active = facts.ActiveState;
  if (args.state === 'started') {
    if (RUNNING.has(active)) okParts.push(active === 'active' ? 'running' : active);
    else {
      plan.action = 'start';
      reasons.push(`start ${unit} (${active}${facts.Result && facts.Result !== 'success' ? `, ${facts.Result}` : ''})`);
    }
  } else if (args.state === 'stopped') {
    if (RUNNING.has(active)) {
      plan.action = 'stop';
      reasons.push(`stop ${unit}`);
    } else okParts.push('stopped');
  } else if (args.state === 'restarted') {
    if (run.startedThisRun) okParts.push('started by this run, no restart needed');
    else {
      plan.action = 'restart';
      reasons.push(`restart ${unit}`);
    }
  }

  if (!reasons.length) return { changed: false, reason: `${unit} ${okParts.join(', ') || facts.ActiveState}` };
  // For `plan --diff`: the unit's state now and what would be done to it.
  const now = `${facts.ActiveState || 'unknown'}${facts.SubState ? ` (${facts.SubState})` : ''}, ${facts.UnitFileState || 'no unit file'}`;
  return { changed: true, reason: reasons.join(', '), diff: `${unit}: ${now} -> ${reasons.join(', ')}`, data: plan };
}

/** Keep polling, the unit is up, or it failed (with why). */
export type SettleVerdict = { done: false } | { done: true; ok: true; reason: string } | { done: true; ok: false; reason: string };

/** Why: after `--no-block start|restart`, decide from two `systemctl show` readings whether the unit came up. */
export function settleVerdict(before: ServiceFacts, now: ServiceFacts, timedOut: boolean): SettleVerdict {
  const newInvocation = now.InvocationID !== '' && now.InvocationID !== before.InvocationID;
  if (!newInvocation) {
    if (!timedOut) return { done: false };
    if (now.ActiveState === 'active') return { done: true, ok: true, reason: 'running' };
    return { done: true, ok: false, reason: `did not start (${now.ActiveState}/${now.SubState}, result ${now.Result || 'unknown'})` };
  }
  switch (now.ActiveState) {
    case 'active':
      return { done: true, ok: true, reason: `running (${now.SubState})` };
    case 'failed':
      return { done: true, ok: false, reason: `failed (${now.Result})` };
    case 'inactive':
      return now.Result === 'success' ? { done: true, ok: true, reason: 'ran and exited' } : { done: true, ok: false, reason: `exited (${now.Result})` };
    case 'activating':
    case 'reloading':
      // The main process exited and systemd waits to start it again: a crash loop, not a slow start.
      if (now.SubState === 'auto-restart') return { done: true, ok: false, reason: `keeps exiting (${now.Result || 'exit-code'}); systemd is restarting it` };
      return timedOut ? { done: true, ok: true, reason: `still ${now.ActiveState} (${now.SubState}); a Type=notify unit like etcd reports ready once its peers are up` } : { done: false };
    default:
      return timedOut ? { done: true, ok: false, reason: `${now.ActiveState} (${now.SubState})` } : { done: false };
  }
}

async function readFacts(transport: Transport, unit: string, signal: AbortSignal): Promise<ServiceFacts> {
  return parseServiceFacts((await transport.exec(serviceFactsCommand(unit), { signal })).stdout);
}

/** Why: etcd and the control plane run as systemd units; restarts happen only when something changed. */
export const serviceModule = defineModule({
  name: 'service',
  where: 'remote',
  summary: 'Enable, start, stop or restart a systemd unit (daemon-reload only when a unit changed)',
  args: serviceArgs,
  async check(ctx, args) {
    const node = requireNode(ctx);
    const unit = unitName(args.name);
    const transport = await ctx.connect();
    const facts = await readFacts(transport, unit, ctx.signal);
    let result: CheckResult;
    try {
      result = decideService(facts, args, { changedUnits: [...ctx.scratch.changedUnits].sort(), startedThisRun: ctx.scratch.startedServices.has(unit) });
    } catch (error) {
      throw new TaskError((error as Error).message, { node: node.name, step: ctx.step, task: ctx.task });
    }
    // A dry run applies nothing: keep the run's notes as apply would, so later tasks (a restart
    // handler after a start, a second daemon-reload) are shown as a run would do them.
    if (ctx.run.options.dryRun && result.changed) {
      const plan = result.data as ServicePlan;
      if (plan.daemonReload) ctx.scratch.changedUnits.clear();
      if (plan.action === 'start') ctx.scratch.startedServices.add(plan.unit);
    }
    return result;
  },
  async apply(ctx, _args, check) {
    const node = requireNode(ctx);
    const plan = check.data as ServicePlan;
    const transport = await ctx.connect();
    const q = shellQuote(plan.unit);
    if (plan.daemonReload) {
      await transport.exec('systemctl daemon-reload', { signal: ctx.signal });
      ctx.scratch.changedUnits.clear();
    }
    if (plan.enable !== undefined) await transport.exec(`systemctl ${plan.enable ? 'enable' : 'disable'} ${q}`, { signal: ctx.signal });
    if (plan.action === 'stop') await transport.exec(`systemctl stop ${q}`, { signal: ctx.signal });
    if (plan.action !== 'start' && plan.action !== 'restart') return;

    const before = await readFacts(transport, plan.unit, ctx.signal);
    await transport.exec(`systemctl --no-block ${plan.action} ${q}`, { signal: ctx.signal });
    if (plan.action === 'start') ctx.scratch.startedServices.add(plan.unit);
    const started = performance.now();
    let deadline = started + SETTLE_MS;
    for (;;) {
      const now = await readFacts(transport, plan.unit, ctx.signal);
      // Still stopping the old process: the settle time starts once it is gone (bounded).
      if (now.ActiveState === 'deactivating' && performance.now() - started < STOPPING_MS) deadline = Math.max(deadline, performance.now() + SETTLE_MS);
      const verdict = settleVerdict(before, now, performance.now() >= deadline);
      if (verdict.done && verdict.ok) return { changed: true, reason: `${plan.action === 'start' ? 'started' : 'restarted'} ${plan.unit}: ${verdict.reason}` };
      if (verdict.done) {
        const journal = await transport.exec(`journalctl -u ${q} -n 25 --no-pager -o cat`, { check: false, signal: ctx.signal });
        throw new TaskError(`${plan.unit} ${verdict.reason}${journal.stdout.trim() ? `; its journal ends with:\n${tailLines(journal.stdout, 25, 4000)}` : ''}`, { node: node.name, step: ctx.step, task: ctx.task }, {
          hint: `Look at the whole log on the node: hardway ssh ${node.name} -- journalctl -u ${plan.unit} --no-pager`,
        });
      }
      await sleep(POLL_MS, ctx.signal);
    }
  },
  describe(_ctx, args) {
    const unit = shellQuote(unitName(args.name).replace(/\.service$/, ''));
    const lines: string[] = [];
    if (args.state !== 'restarted') lines.push('systemctl daemon-reload');
    if (args.enabled === true) lines.push(`systemctl enable ${unit}`);
    if (args.enabled === false) lines.push(`systemctl disable ${unit}`);
    // --no-block as apply does: etcd (Type=notify) reports ready only once a quorum of members
    // runs, so a blocking start on the first member would wait for the others; a wait task follows.
    if (args.state === 'started') lines.push(`systemctl --no-block start ${unit}`);
    if (args.state === 'stopped') lines.push(`systemctl stop ${unit}`);
    if (args.state === 'restarted') lines.push(`systemctl --no-block restart ${unit}`);
    return lines;
  },
});
