// The service module's decision, kept apart from the module that runs systemctl (pyinfra style):
// the playbook arguments, the `systemctl show` facts and their parser, what check decides, and
// whether a start or restart came up. Pure functions, tested with `systemctl show` fixtures.
import { z } from 'zod';
import { shellQuote } from '../transport/shell.ts';
import type { CheckResult } from './module.ts';

/** Playbook arguments: `service: { name, enabled, state }`. */
export const serviceArgs = z.strictObject({
  /** `etcd` or `etcd.service`. */
  name: z.string().regex(/^[A-Za-z0-9@._-]+$/, { message: 'must be a unit name like etcd or etcd.service' }),
  enabled: z.boolean().optional(),
  /** reloaded (handlers): a running unit reloads its config (ExecReload), a stopped one starts. */
  state: z.enum(['started', 'stopped', 'restarted', 'reloaded']).optional(),
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
  action?: 'start' | 'stop' | 'restart' | 'reload';
}

/** A node never read: its unit file was just written (a reload), then everything the task asks. */
export function freshServicePlan(args: ServiceArgs): ServicePlan {
  const action = args.state ? ({ started: 'start', stopped: 'stop', restarted: 'restart', reloaded: 'reload' } as const)[args.state] : undefined;
  const handler = args.state === 'restarted' || args.state === 'reloaded';
  return { unit: unitName(args.name), daemonReload: !handler, ...(args.enabled !== undefined ? { enable: args.enabled } : {}), ...(action ? { action } : {}) };
}

/**
 * Why: apply runs these and describe prints them, so a transcript is what ran. Start and restart
 * are `--no-block` (apply then polls the unit): etcd (Type=notify) reports ready only once a quorum
 * runs, so a blocking start on the first member would wait for the others; a wait task follows.
 */
export function serviceCommands(plan: ServicePlan): string[] {
  const q = shellQuote(plan.unit.replace(/\.service$/, ''));
  return [
    ...(plan.daemonReload ? ['systemctl daemon-reload'] : []),
    ...(plan.enable !== undefined ? [`systemctl ${plan.enable ? 'enable' : 'disable'} ${q}`] : []),
    ...(plan.action === 'stop' || plan.action === 'reload' ? [`systemctl ${plan.action} ${q}`] : plan.action ? [`systemctl --no-block ${plan.action} ${q}`] : []),
  ];
}


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
export function decideService(facts: ServiceFacts, args: ServiceArgs, run: { changedUnits: readonly string[]; startedThisRun: boolean }): CheckResult<ServicePlan> {
  const unit = unitName(args.name);
  const daemonReload = run.changedUnits.length > 0 || facts.NeedDaemonReload === 'yes';
  if (facts.LoadState === 'masked') throw new RangeError(`${unit} is masked; unmask it (systemctl unmask ${unit}) if it should run`);
  if (facts.LoadState === 'not-found' && !run.changedUnits.includes(unit)) {
    throw new RangeError(`${unit} is not installed (no unit file); the task that writes /etc/systemd/system/${unit} must run first`);
  }
  const plan: ServicePlan = { unit, daemonReload };
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
  } else if (args.state === 'reloaded') {
    if (run.startedThisRun) okParts.push('started by this run, no reload needed');
    else if (RUNNING.has(active)) {
      plan.action = 'reload';
      reasons.push(`reload ${unit}`);
    } else {
      plan.action = 'start';
      reasons.push(`start ${unit} (${active}; nothing to reload)`);
    }
  }

  if (!reasons.length) return { changed: false, reason: `${unit} ${okParts.join(', ') || facts.ActiveState}` };
  // For `plan --diff`: the unit's state now and what would be done to it.
  const now = `${facts.ActiveState || 'unknown'}${facts.SubState ? ` (${facts.SubState})` : ''}, ${facts.UnitFileState || 'no unit file'}`;
  return { changed: true, reason: reasons.join(', '), diff: `${unit}: ${now} -> ${reasons.join(', ')}`, plan };
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
