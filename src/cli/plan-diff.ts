// `hardway plan --diff`: connect, run every selected task's check in a dry run (the engine with
// dryRun: true, so handlers a change would notify are checked too), and show per step, node and
// task what would change: unified diffs of files, the state of units and what would be done to them.
// Nothing is applied and nothing is recorded.
import { AlreadyReported, UsageError } from '../errors.ts';
import type { TaskResult } from '../engine/execute.ts';
import { formatRecap } from '../engine/recap.ts';
import { runSteps, type RunReport } from '../engine/runner.ts';
import { describeMissing, selectSteps, type Selection, type SelectedStep } from '../engine/select.ts';
import { Nodes } from '../inventory/node.ts';
import { openCluster, type CliIO, type GlobalOptions } from './common.ts';
import { runContext } from './run-context.ts';
import { loadStepGraph } from './steps.ts';

/** One task that would change (or failed to check), as plan --diff prints it. */
export interface DiffTask {
  task: string;
  module: string;
  handler?: string;
  status: 'changed' | 'failed';
  reason: string;
  diff?: string;
}

/** One step of the diff: the nodes with something to change, and those with nothing. */
export interface DiffStep {
  step: string;
  title: string;
  nodes: { node: string; internalIP: string; tasks: DiffTask[] }[];
  /** Nodes (or `local`) where every task found nothing to do. */
  unchanged: string[];
}

/** Why: the data behind the text and --json forms, from a dry run's results. */
export function diffSteps(steps: readonly SelectedStep[], report: RunReport, nodes: Nodes): DiffStep[] {
  return steps
    .filter((selected) => report.steps.includes(selected.playbook.step))
    .map((selected) => {
      const step = selected.playbook.step;
      const results = report.results.filter((result) => result.step === step);
      const names = selected.local ? ['local'] : selected.nodes.map((node) => node.name);
      const changes = names.map((name) => ({
        node: name,
        internalIP: nodes.byName(name)?.internalIP ?? '',
        tasks: results.filter((result) => result.node === name && (result.status === 'changed' || result.status === 'failed')).map(diffTask),
      }));
      return {
        step,
        title: selected.playbook.title,
        nodes: changes.filter((entry) => entry.tasks.length),
        unchanged: changes.filter((entry) => !entry.tasks.length && results.some((result) => result.node === entry.node)).map((entry) => entry.node),
      };
    });
}

function diffTask(result: TaskResult): DiffTask {
  return {
    task: result.task,
    module: result.module,
    ...(result.handler ? { handler: result.handler } : {}),
    status: result.status as 'changed' | 'failed',
    reason: result.reason.replace(/^would /, ''),
    ...(result.diff ? { diff: result.diff } : {}),
  };
}

/** The text form: per step, per node, each change with its diff indented under it. */
export function formatDiff(cluster: string, steps: readonly DiffStep[]): string {
  let out = `Diff for cluster ${cluster}: what provision would change (dry run; nothing was changed)\n`;
  for (const step of steps) {
    out += `\n${step.step}: ${step.title}\n`;
    if (!step.nodes.length) {
      out += `  no change${step.unchanged.length && step.unchanged[0] !== 'local' ? ` on ${step.unchanged.join(', ')}` : ''}\n`;
      continue;
    }
    for (const node of step.nodes) {
      out += `  ${node.node === 'local' ? 'on the workstation' : `${node.node}${node.internalIP ? ` (${node.internalIP})` : ''}`}\n`;
      for (const task of node.tasks) {
        const mark = task.status === 'failed' ? '!' : '~';
        out += `    ${mark} ${task.handler ? `handler "${task.handler}": ` : ''}${task.task}: ${task.status === 'failed' ? 'check failed: ' : ''}${task.reason.split('\n')[0]}\n`;
        if (task.diff) out += `${task.diff.replace(/\n$/, '').split('\n').map((line) => `        ${line}`).join('\n')}\n`;
      }
    }
    if (step.unchanged.length && step.unchanged[0] !== 'local') out += `  no change on ${step.unchanged.join(', ')}\n`;
  }
  return out;
}

/** Options of `plan` that only --diff uses. */
export interface DiffFlags {
  artifactsDir?: string;
}

/** Why: `plan --diff` reads the same facts a run would, through the same checks, and changes nothing. */
export async function planDiffAction(options: GlobalOptions, selection: Selection, flags: DiffFlags, io: CliIO): Promise<void> {
  const cluster = await openCluster(options, io);
  const steps = await loadStepGraph();
  const nodes = cluster.inventory.nodes;
  const selected = selectSteps(steps, nodes, selection, (step, node) => cluster.state.stepRecord(step, node)?.status === 'done');
  if (selected.missing.length) throw new UsageError(`${describeMissing(selected.missing)}\nplan --diff compares the nodes with what those steps would make; without --diff, plan shows the tasks without connecting.`);
  if (!selected.steps.length) throw new UsageError('no step selected');

  const run = runContext({
    cluster,
    modules: steps.modules,
    options: { dryRun: true, verbose: options.verbose, concurrency: options.concurrency, artifactsDir: flags.artifactsDir, nodeFilter: selection.nodes ? [...selection.nodes] : undefined },
    signal: new AbortController().signal,
    log: (line) => options.verbose && io.stderr(`${line}\n`),
    planNewMachines: true,
  });
  try {
    const report = await runSteps(run, selected.steps, 'silent');
    const diff = diffSteps(selected.steps, report, run.inventory.nodes);
    if (options.json) io.stdout(`${JSON.stringify({ cluster: cluster.spec.name, ok: report.ok, dryRun: true, steps: diff }, null, 2)}\n`);
    else io.stdout(`${formatDiff(cluster.spec.name, diff)}${formatRecap(report)}`);
    if (!report.ok) throw new AlreadyReported(1);
  } finally {
    await run.close();
  }
}
