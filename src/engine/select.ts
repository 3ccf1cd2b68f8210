// Which steps run, on which nodes: --step (repeatable), --from, --nodes, --with-deps, and the
// prerequisite rule (a needed step must have completed where it matters). All of it here, tested
// table-style, so provision, plan and rebuild agree.
import { UsageError } from '../errors.ts';
import type { Node, Nodes } from '../inventory/node.ts';
import type { StepGraph } from './graph.ts';
import type { Playbook } from './playbook.ts';
import { LOCAL } from './state.ts';

export interface Selection {
  steps?: readonly string[];
  from?: string;
  withDeps?: boolean;
  /** --nodes: limits remote steps to these nodes. */
  nodes?: readonly string[];
}

export interface SelectedStep {
  playbook: Playbook;
  /** The nodes it runs on; empty for a local step (it runs once, on the workstation). */
  nodes: Node[];
  local: boolean;
  /**
   * A step on nodes whose workstation tasks run (playbook.ts PlaybookTask.local): when it runs on
   * any node, or when it has no node at all and --nodes did not narrow the run (an NLB's targets).
   */
  workstation?: boolean;
  /** Added by --with-deps because a selected step needed it. */
  asDependency: boolean;
}

export interface MissingPrerequisite {
  step: string;
  need: string;
  /** Nodes where `need` has not completed (`local` for a local step). */
  where: string[];
}

export interface SelectionResult {
  steps: SelectedStep[];
  /** Needed steps that neither ran before nor are selected. */
  missing: MissingPrerequisite[];
}

/** Has `step` completed on `node` (LOCAL for local steps)? Usually read from the state. */
export type DoneLookup = (step: string, node: string) => boolean;

/** The nodes a playbook's `hosts` names, before --nodes. */
export function hostsOf(playbook: Playbook, nodes: Nodes): Node[] {
  // A step-level `when:` that does not hold leaves the step without hosts, like a role nobody has.
  if (playbook.when && !nodes.byRole(playbook.when.exists).length) return [];
  switch (playbook.hosts.kind) {
    case 'local':
      return [];
    case 'all':
      return [...nodes];
    case 'role':
      return nodes.byRole(playbook.hosts.role);
  }
}

/** Where a step runs given --nodes: the filtered hosts, or for an added dependency all its hosts. */
function targetsOf(playbook: Playbook, nodes: Nodes, filter: readonly string[] | undefined, fallBackToAll: boolean): Node[] {
  const hosts = hostsOf(playbook, nodes);
  if (!filter) return hosts;
  const filtered = hosts.filter((node) => filter.includes(node.name));
  return filtered.length || !fallBackToAll ? filtered : hosts;
}

/**
 * Where `need` has not completed, among the nodes that matter: those the step itself runs on when
 * `need` runs there too (etcd needs hosts on the etcd nodes), otherwise every node `need` runs on.
 */
function notDoneWhere(need: Playbook, stepNodes: readonly Node[], nodes: Nodes, filter: readonly string[] | undefined, isDone: DoneLookup): string[] {
  if (need.hosts.kind === 'local') return isDone(need.step, LOCAL) ? [] : [LOCAL];
  const needHosts = hostsOf(need, nodes);
  // A step on nodes that has none here ran only its workstation tasks, recorded as local.
  if (!needHosts.length && need.tasks.some((task) => task.local)) return isDone(need.step, LOCAL) ? [] : [LOCAL];
  const overlap = needHosts.filter((node) => stepNodes.some((stepNode) => stepNode.name === node.name));
  const relevant = overlap.length ? overlap : targetsOf(need, nodes, filter, true);
  return relevant.filter((node) => !isDone(need.step, node.name)).map((node) => node.name);
}

/** Why: the selection rules of DESIGN §5 in one function; throws UsageError for bad selections. */
export function selectSteps(graph: StepGraph, nodes: Nodes, selection: Selection, isDone: DoneLookup): SelectionResult {
  const known = graph.ordered.map((playbook) => playbook.step);
  const unknownStep = [...(selection.steps ?? []), ...(selection.from ? [selection.from] : [])].filter((step) => !graph.get(step));
  if (unknownStep.length) throw new UsageError(`unknown step ${unknownStep.map((step) => `"${step}"`).join(', ')}; steps are: ${known.join(', ')}`);
  if (selection.steps?.length && selection.from) throw new UsageError('--step and --from cannot be combined: --from already selects that step and every step after it');
  if (selection.nodes) {
    const unknownNodes = selection.nodes.filter((name) => !nodes.byName(name));
    if (unknownNodes.length) throw new UsageError(`unknown node ${unknownNodes.join(', ')}; nodes are: ${nodes.names().join(', ')}`);
  }

  let chosen: Set<string>;
  if (selection.steps?.length) chosen = new Set(selection.steps);
  else if (selection.from) chosen = new Set(known.slice(known.indexOf(selection.from)));
  else chosen = new Set(known);

  const explicit = new Set(chosen);
  const missing: MissingPrerequisite[] = [];
  // Walk from the latest step backwards so that dependencies added by --with-deps are checked too.
  for (const playbook of [...graph.ordered].reverse()) {
    if (!chosen.has(playbook.step)) continue;
    for (const needName of playbook.needs) {
      if (chosen.has(needName)) continue;
      const need = graph.get(needName)!;
      const stepNodes = targetsOf(playbook, nodes, selection.nodes, !explicit.has(playbook.step));
      const where = notDoneWhere(need, stepNodes, nodes, selection.nodes, isDone);
      if (!where.length) continue;
      if (selection.withDeps) chosen.add(needName);
      else missing.push({ step: playbook.step, need: needName, where });
    }
  }

  const steps = graph.ordered
    .filter((playbook) => chosen.has(playbook.step))
    .map((playbook) => {
      const asDependency = !explicit.has(playbook.step);
      const local = playbook.hosts.kind === 'local';
      const stepNodes = targetsOf(playbook, nodes, selection.nodes, asDependency);
      const workstation = !local && playbook.tasks.some((task) => task.local) && (stepNodes.length > 0 || (!selection.nodes && !hostsOf(playbook, nodes).length));
      return { playbook, local, nodes: stepNodes, ...(workstation ? { workstation } : {}), asDependency };
    });
  return { steps, missing };
}

/** The refusal message for prerequisites that have not completed. */
export function describeMissing(missing: readonly MissingPrerequisite[]): string {
  const lines = missing.map((item) =>
    item.where[0] === LOCAL
      ? `step "${item.step}" needs "${item.need}", which has not completed`
      : `step "${item.step}" needs "${item.need}", which has not completed on ${item.where.join(', ')}`,
  );
  const needs = [...new Set(missing.map((item) => item.need))];
  return `${lines.join('\n')}\nRun ${needs.map((need) => `--step ${need}`).join(' ')} first, or add --with-deps to run what is missing.`;
}
