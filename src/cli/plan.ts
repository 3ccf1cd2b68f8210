// `hardway plan`: the selected steps in order and, per node, each task with its module and
// arguments, without connecting anywhere; `--diff` connects and shows what would change (plan-diff.ts).
import type { Command } from 'commander';
import { type Node } from '../inventory/node.ts';
import type { Playbook, PlaybookTask } from '../engine/playbook.ts';
import { selectSteps, type MissingPrerequisite, type SelectedStep } from '../engine/select.ts';
import { interpolate, templateVars } from '../engine/vars.ts';
import { conditionUnmet } from '../engine/when.ts';
import type { RunContext } from '../modules/module.ts';
import { globalOptions, openCluster, type CliIO } from './common.ts';
import { selectionOptions, addSelectionOptions, type SelectionFlags } from './selection.ts';
import { loadStepGraph } from './steps.ts';
import { planContext } from './run-context.ts';
import { planDiffAction, type DiffFlags } from './plan-diff.ts';
import { describeDropped, describeEtcdScale, pendingEtcdScale, pendingMachineScale } from './scale.ts';

interface PlannedTask {
  name: string;
  module: string;
  args: unknown;
  notify: string[];
  once: boolean;
  /** Why its `when:` does not hold for this cluster: provision reports it ok and touches nothing. */
  skipped?: string;
}

export function registerPlanCommand(program: Command, io: CliIO): void {
  const command = program
    .command('plan')
    .description('print the ordered steps and, per node, each task; connects nowhere (unless --diff)');
  addSelectionOptions(command)
    .option('--diff', 'connect and show, per node and task, what would change: unified diffs of files, the state of units; changes nothing', false)
    .option('--artifacts-dir <dir>', 'with --diff: compare binaries with this directory (with SHA256SUMS) instead of the download cache')
    .addHelpText('after', '\nExamples:\n  hardway plan --step etcd\n  hardway plan --step etcd --nodes etcd-0 --json\n  hardway plan --diff --step control-plane')
    .action(async (flags: SelectionFlags & DiffFlags & { diff: boolean }, cmd: Command) => {
      const options = globalOptions(cmd);
      if (flags.diff) return planDiffAction(options, selectionOptions(flags), flags, io);
      const cluster = await openCluster(options, io);
      const steps = await loadStepGraph();
      const nodes = cluster.inventory.nodes;
      const selection = selectSteps(steps, nodes, selectionOptions(flags), (step, node) => cluster.state.stepRecord(step, node)?.status === 'done');
      const run = planContext(cluster, steps.modules);
      const planned = selection.steps.map((step) => planStep(run, step));
      const scale = pendingEtcdScale(cluster);
      const dropped = pendingMachineScale(cluster);
      const membership = [...(scale ? describeEtcdScale(scale) : []), ...(dropped ? describeDropped(dropped) : [])];
      if (options.json) {
        io.stdout(`${JSON.stringify({ cluster: cluster.spec.name, steps: planned, missing: selection.missing, membership }, null, 2)}\n`);
        return;
      }
      io.stdout(formatPlan(cluster.spec.name, cluster.spec.provider, planned, selection.missing));
      if (membership.length) io.stdout(`\nmembership changes:\n${membership.map((line) => `  ${line}`).join('\n')}\n`);
    });
}

export interface PlannedStep {
  step: string;
  title: string;
  needs: string[];
  asDependency: boolean;
  local: boolean;
  nodes: { name: string; internalIP: string; tasks: PlannedTask[] }[];
  once: { node: string; task: PlannedTask }[];
  handlers: { name: string; serial: boolean; tasks: string[] }[];
}

function planTask(run: RunContext, task: PlaybookTask, node: Node | undefined): PlannedTask {
  let args = task.args;
  try {
    args = interpolate(task.args, templateVars(run, node));
  } catch {
    // A value only the run can supply (an NLB name before infra): show the placeholder.
  }
  const unmet = conditionUnmet(task.when, run);
  return { name: task.name, module: task.module, args, notify: task.notify, once: task.once, ...(unmet ? { skipped: unmet } : {}) };
}

/** Why: plan shows exactly the tasks provision would run, per node, from the same selection. */
export function planStep(run: RunContext, selected: SelectedStep): PlannedStep {
  const playbook: Playbook = selected.playbook;
  const nodes = selected.local ? [undefined] : selected.nodes;
  const firstNode = selected.nodes[0];
  return {
    step: playbook.step,
    title: playbook.title,
    needs: playbook.needs,
    asDependency: selected.asDependency,
    local: selected.local,
    nodes: nodes.map((node) => ({
      name: node?.name ?? 'local',
      internalIP: node?.internalIP ?? '',
      tasks: playbook.tasks.filter((task) => selected.local || !task.once).map((task) => planTask(run, task, node)),
    })),
    // A workstation task runs on the workstation (also with no node); another once task on the first node.
    once: selected.local
      ? []
      : playbook.tasks.flatMap((task) => (task.local ? (selected.workstation ? [{ node: 'local', task: planTask(run, task, undefined) }] : []) : task.once && firstNode ? [{ node: firstNode.name, task: planTask(run, task, firstNode) }] : [])),
    handlers: playbook.handlers.map((handler) => ({ name: handler.name, serial: handler.serial, tasks: handler.tasks.map((task) => task.name) })),
  };
}

function formatArgs(args: unknown): string {
  if (!args || typeof args !== 'object') return JSON.stringify(args);
  if (!Object.keys(args).length) return '';
  return Object.entries(args as Record<string, unknown>)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? (/\s/.test(value) ? JSON.stringify(value) : value) : JSON.stringify(value)}`)
    .join(' ');
}

function formatTask(index: number, task: PlannedTask): string {
  const notify = task.notify.length ? `  -> notify ${task.notify.join(', ')}` : '';
  if (task.skipped) return `    ${String(index).padStart(2)}. ${task.name}\n        skipped: ${task.skipped}\n`;
  return `    ${String(index).padStart(2)}. ${task.name}\n        ${[task.module, formatArgs(task.args)].filter(Boolean).join(" ")}${notify}\n`;
}

export function formatPlan(cluster: string, provider: string, steps: readonly PlannedStep[], missing: readonly MissingPrerequisite[]): string {
  let out = `Plan for cluster ${cluster} (${provider}): ${steps.map((step) => step.step).join(' -> ') || 'no steps'}\n`;
  for (const step of steps) {
    out += `\n${step.step}: ${step.title}${step.asDependency ? ' (prerequisite, via --with-deps)' : ''}\n`;
    const notDone = missing.filter((item) => item.step === step.step);
    if (step.needs.length) out += `  needs: ${step.needs.join(', ')}\n`;
    for (const item of notDone) out += `  ! needs ${item.need}, not completed${item.where[0] === 'local' ? '' : ` on ${item.where.join(', ')}`}: provision refuses without --with-deps\n`;
    if (!step.local && !step.nodes.length && !step.once.some((once) => once.node === 'local')) out += '  (no selected node runs this step)\n';
    for (const node of step.nodes) {
      out += `  ${node.name}${node.internalIP ? ` (${node.internalIP})` : ''}\n`;
      node.tasks.forEach((task, index) => (out += formatTask(index + 1, task)));
    }
    for (const once of step.once) {
      out += `  once, ${once.node === 'local' ? 'on the workstation' : `on ${once.node}`}, after every node's tasks above:\n${formatTask(1, once.task)}`;
    }
    for (const handler of step.handlers) out += `  handler "${handler.name}"${handler.serial ? ' (one node at a time)' : ''}: ${handler.tasks.join('; ')} — runs only where a notifying task changed\n`;
  }
  return out;
}
