// `hardway explain STEP [--node N]`: what a step does and why, what it needs, and for the node(s)
// the exact files it writes and commands it runs, in order: what a learner would type by hand.
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import type { Playbook, PlaybookTask } from '../engine/playbook.ts';
import { hostsOf } from '../engine/select.ts';
import { interpolate, templateVars } from '../engine/vars.ts';
import { conditionUnmet, describeCondition } from '../engine/when.ts';
import { type Node } from '../inventory/node.ts';
import type { DescribeContext, ModuleRegistry, RunContext, TranscriptEntry } from '../modules/module.ts';
import { describedText } from '../modules/described.ts';
import { backupEntries, restoreMemberEntries, restorePkiEntry } from './backup-transcript.ts';
import { globalOptions, openCluster, type CliIO, type LoadedCluster } from './common.ts';
import { BEFORE_ETCD } from './scale.ts';
import { planContext } from './run-context.ts';
import { loadStepGraph } from './steps.ts';

export function registerExplainCommand(program: Command, io: CliIO): void {
  program
    .command('explain')
    .description('what a step does and why, and per node the exact files and commands')
    .argument('<step>', 'the step, e.g. etcd; or backup, restore (the day-two operations)')
    .option('--node <name>', 'explain for this node only (default: the first node of the step)')
    .option('--all-nodes', 'explain for every node of the step', false)
    .addHelpText('after', '\nExamples:\n  hardway explain etcd --node etcd-0\n  hardway explain pki\n  hardway explain restore')
    .action(async (stepName: string, flags: { node?: string; allNodes: boolean }, command: Command) => {
      const options = globalOptions(command);
      const cluster = await openCluster(options, io);
      const steps = await loadStepGraph();
      if (stepName === 'backup' || stepName === 'restore') return io.stdout(explainOperation(cluster, stepName));
      const playbook = steps.get(stepName);
      if (!playbook) throw new UsageError(`unknown step "${stepName}"; steps are: ${steps.ordered.map((step) => step.step).join(', ')}`);
      const nodes = cluster.inventory.nodes;
      const hosts = hostsOf(playbook, nodes);
      // A step on nodes with none in this cluster may still run its workstation tasks (the NLB's targets).
      const onWorkstationOnly = playbook.hosts.kind === 'local' || (!hosts.length && playbook.tasks.some((task) => task.local));
      let targets: (Node | undefined)[] = onWorkstationOnly ? [undefined] : flags.allNodes ? hosts : hosts.slice(0, 1);
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
  const where = task.local ? undefined : node;
  const vars = templateVars(run, where);
  const context: DescribeContext = { run, node: where, vars };
  const condition = describeCondition(task.when);
  const once = task.local ? ' (on the workstation, once, after every node finished the tasks above)' : task.once ? ' (once, after every node finished the tasks above)' : '';
  const header = `  ${label} ${task.name}${condition ? ` (only with ${condition})` : ''}${once}${task.notify.length ? ` -> notifies ${task.notify.join(', ')}` : ''}`;
  const unmet = conditionUnmet(task.when, run);
  if (unmet) return [header, `     # skipped for this cluster: ${unmet}`];
  let commands: string[];
  try {
    const args = module.args.parse(interpolate(task.args, vars));
    commands = describedText(module.describe(context, args), where);
  } catch (error) {
    commands = [`# (${task.module}: ${(error as Error).message.split('\n')[0]})`];
  }
  return [header, `     # ${module.summary}`, ...commands.flatMap((command) => command.split('\n')).map((line) => `     ${line}`)];
}

const OPERATIONS = {
  backup: {
    title: 'backup: an etcd snapshot with the keys that make it this cluster, in one archive (hardway backup)',
    summary: [
      'etcd holds every object of the cluster; pki/ and encryption-config.yaml make it this cluster (its',
      'CAs, its kubeconfigs, the key its Secrets are encrypted with). hardway takes the snapshot through',
      'the first member that answers healthy, checks it with `etcdctl snapshot status`, and packs it with',
      'the PKI, the encryption config, the spec and the state into one archive of mode 0600, next to its',
      'sha256. The archive holds private keys: keep it as you keep pki/.',
    ],
  },
  restore: {
    title: 'restore: the cluster back from a backup, onto fresh machines of the same spec (hardway restore FILE)',
    summary: [
      'A running cluster is refused unless --force: its data would be replaced. The PKI and the encryption',
      'key come back first, so kubeconfigs keep working and Secrets decrypt. Then the steps up to',
      'binaries make the machines; every member restores its data directory from the same snapshot, as',
      'one new cluster (a new cluster token, the same member names and peer URLs); then every step.',
    ],
  },
} as const;

/** Why: a learner reads the day-two operations as the commands a person types, like a step. */
export function explainOperation(cluster: Pick<LoadedCluster, 'spec' | 'inventory'>, name: keyof typeof OPERATIONS): string {
  const members = cluster.inventory.nodes.etcd();
  const operation = OPERATIONS[name];
  const entries: TranscriptEntry[] =
    name === 'backup'
      ? members.length ? backupEntries(cluster, members[0]!, `backups/${cluster.spec.name}-TIME.tar.gz`) : []
      : [restorePkiEntry(`backups/${cluster.spec.name}-TIME.tar.gz`), ...restoreMemberEntries(members, `${cluster.spec.name}-etcd-restored-TOKEN`)];
  const lines: string[] = [operation.title, '', ...operation.summary, '', 'In order:'];
  entries.forEach((entry, index) => {
    // The steps run between the keys and the members, and after them (each: hardway explain STEP).
    if (name === 'restore' && index === 1) lines.push('', `  then the steps ${BEFORE_ETCD.join(', ')} (hardway explain STEP)`);
    lines.push('', `  ${index + 1}. ${entry.task} (${entry.node ? `on ${entry.node}` : 'on the workstation'})`);
    const node = entry.node === undefined ? undefined : cluster.inventory.nodes.byName(entry.node);
    lines.push(...describedText(entry.commands, node).flatMap((command) => command.split('\n')).map((line) => `     ${line}`));
  });
  if (name === 'restore') lines.push('', '  then every step (hardway up)');
  return `${lines.join('\n')}\n`;
}
