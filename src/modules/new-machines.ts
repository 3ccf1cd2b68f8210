// A dry run of a cluster whose machines do not exist yet (never built, or destroyed): there is no
// SSH key, no state and nothing to connect to. The inventory is the spec's (inventory/derive.ts);
// every remote task is planned as it would run on a fresh node, from its module's describe(),
// and nothing connects: the run's transport pool refuses those nodes with NewMachineError.
//
// Which machines are new is decided once per run (newMachinesFor) and kept on the run object; the
// infra step narrows it to what its provider plan would really create (a lab node found running
// is not new). Real runs never have new machines: the infra step makes them first.
import type { StateStore } from '../engine/state.ts';
import type { Node } from '../inventory/node.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import { classify, describedText, type DescribedLine } from './described.ts';
import type { RunContext, TaskContext, CheckResult, TaskModule } from './module.ts';
import { unitName, type ServiceArgs } from './service-decision.ts';
import { waitTarget, type WaitArgs } from './wait.ts';

/** Why: a dry run asked for a machine that does not exist yet; the task is planned for a fresh node instead. */
export class NewMachineError extends Error {
  readonly node: string;

  constructor(node: string) {
    super(`${node} does not exist yet (a dry run of a cluster that was never built connects nowhere)`);
    this.name = 'NewMachineError';
    this.node = node;
  }
}

/** What a run context built by cli/run-context.ts carries beyond RunContext. */
export interface WithNewMachines {
  /** Names of nodes a dry run plans as fresh machines; undefined in real runs and on built clusters. */
  readonly newMachines?: Set<string>;
}

export function newMachinesOf(run: RunContext): Set<string> | undefined {
  return (run as RunContext & WithNewMachines).newMachines;
}

export function isNewMachine(run: RunContext, node: Pick<Node, 'name'> | undefined): boolean {
  return node !== undefined && (newMachinesOf(run)?.has(node.name) ?? false);
}

/**
 * Why: only a cluster the provider has never made machines for may be planned without looking.
 * Static hosts always exist. A lab or aws cluster is new while the state records neither an infra
 * step nor anything of its provider (hardway destroy clears both).
 */
export function neverBuilt(spec: Pick<ClusterSpec, 'provider'>, state: StateStore): boolean {
  if (spec.provider === 'static') return false;
  const data = state.data;
  return !data.steps.infra && data.provider[spec.provider] === undefined && !Object.keys(data.providerFacts ?? {}).length;
}

/** The nodes a dry run plans as new machines: every node of a never-built cluster, else none. */
export function newMachinesFor(cluster: { spec: ClusterSpec; state: StateStore; inventory: { nodes: readonly Node[] } }, dryRun: boolean): Set<string> | undefined {
  if (!dryRun || !neverBuilt(cluster.spec, cluster.state)) return undefined;
  return new Set(cluster.inventory.nodes.map((node) => node.name));
}

/** The first command a description runs, for a one-line reason. */
function firstCommand(lines: readonly DescribedLine[]): string | undefined {
  for (const line of lines.map(classify)) {
    if (line.kind === 'upload') return `scp ${line.source} -> ${line.dest}`;
    if (line.kind === 'command') {
      // The command a heredoc feeds is hardway's own `cat > FILE`: the field says which file.
      const written = line.stdin !== undefined ? /^cat > (\S+)$/.exec(line.command)?.[1] : undefined;
      return written ? `write ${written}` : line.command.split('\n')[0];
    }
  }
  return undefined;
}

/** describe()'s lines as a diff body for `plan --diff`: what would run, one `+` line each. */
export function describedDiff(lines: readonly DescribedLine[], node: TaskContext['node']): string | undefined {
  const shown = describedText(lines, node).flatMap((line) => line.split('\n')).filter((line) => line.trim() !== '');
  return shown.length ? shown.map((line) => `+ ${line}`).join('\n') : undefined;
}

/**
 * Why: on a fresh node the plan follows from the task alone (DESIGN §4: "with no facts, the plan
 * is made for a fresh node"). A module's own `fresh` decides when it has one; otherwise the task
 * would do everything describe() lists. Never connects, never reads files a step has not made.
 */
export function freshPlan(module: TaskModule<any, any>, ctx: TaskContext, args: unknown): CheckResult {
  if (module.fresh) return module.fresh(ctx, args);
  const builtin = FRESH_PLANS[module.name];
  if (builtin) return builtin(ctx, args as never);
  const lines = module.describe(ctx, args);
  const first = firstCommand(lines);
  return { changed: true, reason: `${first ? first.slice(0, 100) : module.name} (new machine)`, ...optionalDiff(describedDiff(lines, ctx.node)) };
}

function optionalDiff(diff: string | undefined): { diff?: string } {
  return diff ? { diff } : {};
}

/**
 * Fresh-node plans of modules whose files this layer does not own (service, wait, binaries): kept
 * here so they need no change to follow; each may move into its module as `fresh`.
 */
const FRESH_PLANS: Record<string, (ctx: TaskContext, args: Record<string, any>) => CheckResult> = {
  // A wait only observes: on a new machine it waits as on any other.
  wait: (ctx, args) => ({ changed: true, probe: true, reason: `wait for ${waitTarget(args as WaitArgs)}`, ...optionalDiff(describedDiff(freshDescribe(ctx, 'wait', args), ctx.node)) }),
  binaries: (ctx, args) => {
    if (ctx.node && !ctx.node.roles.includes(args.role)) return { changed: false, reason: `not a${args.role === 'etcd' ? 'n' : ''} ${args.role} node: nothing to install` };
    const files = (args.files as string[] | undefined) ?? [];
    return { changed: true, reason: `${files.map((file) => `${file}: upload (missing)`).join('; ')} (new machine)`, ...optionalDiff(describedDiff(freshDescribe(ctx, 'binaries', args), ctx.node)) };
  },
  service: (ctx, args) => serviceOnFreshNode(ctx, args as ServiceArgs),
};

function freshDescribe(ctx: TaskContext, name: string, args: unknown): DescribedLine[] {
  const module = ctx.run.modules.get(name);
  return module ? module.describe(ctx, args) : [];
}

/**
 * A unit on a fresh node: written by this run (the template task before it, noted in the scratch)
 * and neither enabled nor running. The same notes a run keeps: a start is remembered, so a restart
 * handler after it has nothing to do, and daemon-reload happens once after units were written.
 */
function serviceOnFreshNode(ctx: TaskContext, args: ServiceArgs): CheckResult {
  const unit = unitName(args.name);
  const reasons: string[] = [];
  const written = [...ctx.scratch.changedUnits].sort();
  if (written.length) reasons.push(`daemon-reload (${written.join(', ')} changed)`);
  if (args.enabled === true) reasons.push(`enable ${unit}`);
  if (args.state === 'started' && !ctx.scratch.startedServices.has(unit)) reasons.push(`start ${unit} (inactive)`);
  if (args.state === 'restarted' && !ctx.scratch.startedServices.has(unit)) reasons.push(`restart ${unit}`);
  if (!reasons.length) {
    return { changed: false, reason: `${unit} ${args.state === 'restarted' ? 'started by this run, no restart needed' : args.state === 'stopped' ? 'stopped' : 'inactive'}` };
  }
  if (written.length) ctx.scratch.changedUnits.clear();
  if (args.state === 'started') ctx.scratch.startedServices.add(unit);
  return { changed: true, reason: reasons.join(', '), diff: `${unit}: not on the new machine yet -> ${reasons.join(', ')}` };
}
