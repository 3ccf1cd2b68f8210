// `hardway explain STEP [--node N]`: what a step does and why, what it needs, and for the node(s)
// the exact files it writes and commands it runs, in order: what a learner would type by hand.
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import type { DescribeContext } from '../engine/context.ts';
import type { Playbook, PlaybookTask } from '../engine/playbook.ts';
import { hostsOf } from '../engine/select.ts';
import { interpolate, templateVars } from '../engine/vars.ts';
import { conditionUnmet, describeCondition } from '../engine/when.ts';
import { Nodes, type Node } from '../inventory/node.ts';
import type { ModuleRegistry } from '../modules/module.ts';
import type { RunContext } from '../engine/context.ts';
import { globalOptions, openCluster, type CliIO } from './common.ts';
import { planContext } from './run-context.ts';
import { loadStepGraph } from './steps.ts';

export function registerExplainCommand(program: Command, io: CliIO): void {
  program
    .command('explain')
    .description('what a step does and why, and per node the exact files and commands')
    .argument('<step>', 'the step, e.g. etcd')
    .option('--node <name>', 'explain for this node only (default: the first node of the step)')
    .option('--all-nodes', 'explain for every node of the step', false)
    .addHelpText('after', '\nExamples:\n  hardway explain etcd --node etcd-0\n  hardway explain pki')
    .action(async (stepName: string, flags: { node?: string; allNodes: boolean }, command: Command) => {
      const options = globalOptions(command);
      const cluster = await openCluster(options, io);
      const steps = await loadStepGraph();
      const playbook = steps.get(stepName);
      if (!playbook) throw new UsageError(`unknown step "${stepName}"; steps are: ${steps.ordered.map((step) => step.step).join(', ')}`);
      const nodes = new Nodes(cluster.inventory.nodes);
      const hosts = hostsOf(playbook, nodes);
      let targets: (Node | undefined)[] = playbook.hosts.kind === 'local' ? [undefined] : flags.allNodes ? hosts : hosts.slice(0, 1);
      if (flags.node) {
        const node = hosts.find((candidate) => candidate.name === flags.node);
        if (!node) throw new UsageError(`step ${stepName} does not run on "${flags.node}"; it runs on: ${hosts.map((host) => host.name).join(', ') || 'the workstation'}`);
        targets = [node];
      }
      const run = planContext(cluster, steps.modules);
      io.stdout(explainStep(run, steps.modules, playbook, targets, hosts));
    });
}

/** Why: the learner's view of a step, built from the same playbook and describe() a run uses. */
export function explainStep(run: RunContext, modules: ModuleRegistry, playbook: Playbook, targets: readonly (Node | undefined)[], hosts: readonly Node[]): string {
  const lines: string[] = [`${playbook.step}: ${playbook.title}`, ''];
  if (playbook.summary) lines.push(playbook.summary, '');
  if (playbook.chapter) lines.push(`Kubernetes the hard way: ${playbook.chapter}`);
  lines.push(`Needs: ${playbook.needs.join(', ') || 'nothing'}`);
  const onlyWhen = playbook.when ? ` (only when the cluster has a ${playbook.when.exists} node)` : '';
  lines.push(`Runs on: ${playbook.hosts.kind === 'local' ? 'this workstation' : hosts.map((node) => `${node.name} (${node.internalIP})`).join(', ') || 'no node of this cluster'}${onlyWhen}`);
  for (const node of targets) {
    lines.push('', node ? `On ${node.name} (${node.internalIP}), in order:` : 'On the workstation, in order:');
    playbook.tasks.forEach((task, index) => lines.push(...explainTask(run, modules, task, node, `${index + 1}.`)));
    for (const handler of playbook.handlers) {
      lines.push('', `Handler "${handler.name}" (only when a task that notifies it changed something${handler.serial ? '; one node at a time' : ''}):`);
      handler.tasks.forEach((task, index) => lines.push(...explainTask(run, modules, task, node, `h${index + 1}.`)));
    }
  }
  return `${lines.join('\n')}\n`;
}

function explainTask(run: RunContext, modules: ModuleRegistry, task: PlaybookTask, node: Node | undefined, label: string): string[] {
  const module = modules.get(task.module)!;
  const vars = templateVars(run, node);
  const context: DescribeContext = { run, node, vars };
  const condition = describeCondition(task.when);
  const header = `  ${label} ${task.name}${condition ? ` (only with ${condition})` : ''}${task.once ? ' (once, after every node finished the tasks above)' : ''}${task.notify.length ? ` -> notifies ${task.notify.join(', ')}` : ''}`;
  const unmet = conditionUnmet(task.when, run);
  if (unmet) return [header, `     # skipped for this cluster: ${unmet}`];
  let commands: string[];
  try {
    const args = module.args.parse(interpolate(task.args, vars));
    commands = module.describe(context, args);
  } catch (error) {
    commands = [`# (${task.module}: ${(error as Error).message.split('\n')[0]})`];
  }
  return [header, `     # ${module.summary}`, ...commands.flatMap((command) => command.split('\n')).map((line) => `     ${line}`)];
}
