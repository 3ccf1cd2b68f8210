// Runs the selected steps as a listr2 tree: steps in order; within a step, nodes in parallel
// (bounded by --concurrency) and each node's tasks in order; a `once` task is a barrier that runs
// on one node; handlers run last for the nodes whose notifying tasks changed (serial ones one node
// at a time). Results are recorded per task and, per node, per step in the state.
import { Listr, type ListrTask } from 'listr2';
import type { Node } from '../inventory/node.ts';
import type { NodeScratch, RunContext } from '../modules/module.ts';
import { executeTask, taskContext, type TaskResult } from './execute.ts';
import { readAhead } from './read-ahead.ts';
import { laterTasks, phases, type Phase } from './phases.ts';
import { handlerRef, type Handler, type PlaybookTask } from './playbook.ts';
import { OwedHandlers } from './owed-handlers.ts';
import type { SelectedStep } from './select.ts';
import { LOCAL, type StepNodeRecord } from './state.ts';
import type { RoundTrips } from '../transport/transport.ts';

export type RendererChoice = 'default' | 'simple' | 'verbose' | 'silent' | 'test';

export interface RunReport {
  ok: boolean;
  dryRun: boolean;
  steps: string[];
  results: TaskResult[];
  durationMs: number;
  /** Wall time of each step that ran, in run order. */
  stepDurations: { step: string; durationMs: number }[];
  /** SSH connections and round trips per node, when the transports count them. */
  roundTrips?: Record<string, RoundTrips>;
}

interface StepRun {
  run: RunContext;
  step: SelectedStep;
  results: TaskResult[];
  scratch: (node: string) => NodeScratch;
  failedNodes: Set<string>;
  /** handler name -> nodes whose notifying task changed */
  pending: Map<string, Set<string>>;
  owed: OwedHandlers;
  started: number;
  durations: RunReport['stepDurations'];
  /** The steps after this one in the run: their checks are read ahead with this step's (read-ahead.ts). */
  later: readonly SelectedStep[];
}

/** Why: the listr2 renderer for where output goes (DESIGN §1, issue 2): never cursor codes in CI. */
export function chooseRenderer(options: { json: boolean; verbose: boolean; isTTY: boolean; ci: boolean }): RendererChoice {
  if (options.json) return 'silent';
  if (options.verbose) return 'verbose';
  if (!options.isTTY || options.ci) return 'simple';
  return 'default';
}

/** Run steps in order; stops after the first step with a failed node. */
export async function runSteps(run: RunContext, selected: readonly SelectedStep[], renderer: RendererChoice): Promise<RunReport> {
  const started = performance.now();
  // A step no node of this cluster takes part in (the workers step without workers) is not run, nor listed.
  const steps = selected.filter((step) => step.local || step.nodes.length || step.workstation);
  const results: TaskResult[] = [];
  const scratches = new Map<string, NodeScratch>();
  const scratch = (node: string) => {
    let value = scratches.get(node);
    if (!value) {
      value = { startedServices: new Set(), changedUnits: new Set() };
      scratches.set(node, value);
    }
    return value;
  };
  let failed = false;
  const stepDurations: RunReport['stepDurations'] = [];
  const owed = new OwedHandlers(run);

  const listr = new Listr(
    steps.map((step, index): ListrTask => ({
      title: stepTitle(step),
      task: async (_, listrTask) => {
        const names = recordedNames(step);
        const stepRun: StepRun = { run, step, results, scratch, failedNodes: new Set(), pending: await owed.forStep(step, names), owed, started: performance.now(), durations: stepDurations, later: steps.slice(index + 1) };
        return listrTask.newListr(stepSubtasks(stepRun), {
          concurrent: false,
          exitOnError: true,
          rendererOptions: { collapseSubtasks: true },
        });
      },
    })),
    {
      concurrent: false,
      exitOnError: true,
      renderer,
      fallbackRenderer: 'simple',
      rendererOptions: { collapseSubtasks: true, collapseErrors: false },
      registerSignalListeners: false,
    } as never,
  );
  try {
    await listr.run();
  } catch {
    failed = true;
  }
  failed ||= results.some((result) => result.status === 'failed');
  const roundTrips = run.transports.roundTrips?.();
  return { ok: !failed, dryRun: run.options.dryRun, steps: steps.map((step) => step.playbook.step), results, durationMs: performance.now() - started, stepDurations, ...(roundTrips ? { roundTrips } : {}) };
}

function stepTitle(step: SelectedStep): string {
  const where = step.local ? 'local' : step.nodes.length ? [...step.nodes.map((node) => node.name), ...(step.workstation ? ['local'] : [])].join(', ') : step.workstation ? 'local' : 'no selected node';
  return `${step.playbook.step}: ${step.playbook.title} [${where}]${step.asDependency ? ' (prerequisite)' : ''}`;
}

function stepSubtasks(stepRun: StepRun): ListrTask[] {
  const { step } = stepRun;
  const subtasks: ListrTask[] = [];
  if (step.local) {
    subtasks.push(...step.playbook.tasks.map((task) => taskItem(stepRun, task, undefined)));
  } else {
    const stepPhases = phases(step.playbook.tasks);
    for (const [index, phase] of stepPhases.entries()) {
      if (Array.isArray(phase)) subtasks.push(...nodesItem(stepRun, phase, step.nodes, stepRun.run.options.concurrency, undefined, stepPhases.slice(index + 1)));
      else subtasks.push(onceItem(stepRun, phase));
    }
  }
  subtasks.push({
    title: 'handlers',
    enabled: () => [...stepRun.pending.values()].some((nodes) => nodes.size > 0),
    skip: () => (stepRun.failedNodes.size > 0 ? 'a node failed in this step' : false),
    task: (_, listrTask) =>
      listrTask.newListr(
        stepRun.step.playbook.handlers.filter((handler) => stepRun.pending.get(handler.name)?.size).map((handler) => handlerItem(stepRun, handler)),
        { concurrent: false, exitOnError: true },
      ),
  });
  subtasks.push({
    title: 'record',
    task: async (_, listrTask) => {
      listrTask.title = await recordStep(stepRun);
      stepRun.durations.push({ step: step.playbook.step, durationMs: performance.now() - stepRun.started });
      if (stepRun.failedNodes.size) throw new Error(`step ${step.playbook.step} failed on ${[...stepRun.failedNodes].join(', ')}`);
    },
  });
  return subtasks;
}

/** One phase: every node in parallel, each node's tasks in order. */
function nodesItem(stepRun: StepRun, tasks: readonly PlaybookTask[], nodes: readonly Node[], concurrency: number, handler?: string, laterPhases: readonly Phase[] = []): ListrTask[] {
  if (!nodes.length) return [];
  return [
    {
      title: handler ? `${handler}` : `${tasks.length} task${tasks.length === 1 ? '' : 's'} on ${nodes.length} node${nodes.length === 1 ? '' : 's'}`,
      // After a node failed, later phases wait for the fix: the step stops once the phase ends.
      skip: () => (stepRun.failedNodes.size > 0 ? 'a node failed earlier in this step' : false),
      task: (_, listrTask) =>
        listrTask.newListr(
          nodes.map((node) => ({
            title: node.name,
            skip: () => (stepRun.failedNodes.has(node.name) ? `${node.name} failed earlier in this step` : false),
            task: async (__, nodeTask) => {
              const scratch = stepRun.scratch(node.name);
              const log = (line: string) => {
                nodeTask.output = line;
              };
              const step = stepRun.step.playbook.step;
              await readAhead({
                run: stepRun.run,
                node,
                scratch,
                phase: tasks.map((task) => ({ step, task })),
                later: handler ? [] : laterTasks(stepRun.step, stepRun.later, laterPhases, node),
                context: (taskStep, task, vars) => taskContext({ run: stepRun.run, step: taskStep, task, node, scratch, log, vars }),
              });
              return nodeTask.newListr(tasks.map((task) => taskItem(stepRun, task, node, handler)), { concurrent: false, exitOnError: true });
            },
          })),
          { concurrent: concurrency, exitOnError: false },
        ),
    },
  ];
}

/** Where a step's outcome is recorded: the workstation, its nodes, and both when it has workstation tasks. */
function recordedNames(step: SelectedStep): string[] {
  if (step.local) return [LOCAL];
  return [...step.nodes.map((node) => node.name), ...(step.workstation ? [LOCAL] : [])];
}

function onceItem(stepRun: StepRun, task: PlaybookTask): ListrTask {
  // A workstation task runs on none of the nodes; a `once` task on the first node still standing.
  const node = task.local ? undefined : stepRun.step.nodes.find((candidate) => !stepRun.failedNodes.has(candidate.name));
  return {
    ...taskItem(stepRun, task, node),
    enabled: () => (task.local ? Boolean(stepRun.step.workstation) : node !== undefined),
    skip: () => (stepRun.failedNodes.size > 0 ? 'a node failed earlier in this step' : false),
  };
}

function handlerItem(stepRun: StepRun, handler: Handler): ListrTask {
  const names = stepRun.pending.get(handler.name) ?? new Set();
  const nodes = stepRun.step.nodes.filter((node) => names.has(node.name));
  const concurrency = handler.serial ? 1 : stepRun.run.options.concurrency;
  return {
    title: `${handler.name} [${nodes.map((node) => node.name).join(', ')}]${handler.serial ? ' (one node at a time)' : ''}`,
    task: (_, listrTask) => listrTask.newListr(nodesItem(stepRun, handler.tasks, nodes, concurrency, handler.name), { concurrent: false, exitOnError: true }),
  };
}

function taskItem(stepRun: StepRun, task: PlaybookTask, node: Node | undefined, handler?: string): ListrTask {
  return {
    title: task.name,
    task: async (_, listrTask) => {
      const nodeName = node?.name ?? LOCAL;
      const result = await executeTask({
        run: stepRun.run,
        step: stepRun.step.playbook.step,
        task,
        node,
        scratch: stepRun.scratch(nodeName),
        handler,
        log: (line) => {
          listrTask.output = line;
        },
      });
      stepRun.results.push(result);
      listrTask.title = `${task.name}: ${result.status}${result.reason ? ` (${firstLine(result.reason)})` : ''}`;
      const step = stepRun.step.playbook.step;
      if (result.status === 'changed') {
        for (const name of task.notify) {
          const target = handlerRef(step, name);
          await stepRun.owed.owe(target.step, target.handler, nodeName);
          if (target.step !== step) continue;
          const pending = stepRun.pending.get(target.handler) ?? new Set<string>();
          pending.add(nodeName);
          stepRun.pending.set(target.handler, pending);
        }
      }
      // The handler's last task ended well on this node: the restart is no longer owed.
      const owner = handler ? stepRun.step.playbook.handlers.find((candidate) => candidate.name === handler) : undefined;
      if (owner && owner.tasks.at(-1) === task && result.status !== 'failed') await stepRun.owed.settle(step, owner.name, nodeName);
      if (result.status === 'failed') {
        stepRun.failedNodes.add(nodeName);
        throw result.error ?? new Error(result.reason);
      }
    },
  };
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

/** Write each node's outcome of the step to the state (not in a dry run). */
async function recordStep(stepRun: StepRun): Promise<string> {
  const { run, step, results } = stepRun;
  const names = recordedNames(step);
  const at = new Date().toISOString();
  const records: Record<string, StepNodeRecord> = {};
  for (const name of names) {
    const mine = results.filter((result) => result.step === step.playbook.step && result.node === name);
    records[name] = {
      status: stepRun.failedNodes.has(name) || mine.some((result) => result.status === 'failed') ? 'failed' : 'done',
      at,
      changed: mine.filter((result) => result.status === 'changed').length,
    };
  }
  if (run.options.dryRun) return 'dry run: state not recorded';
  await run.state.recordStep(step.playbook.step, records);
  return `recorded in ${run.state.path ? '.hardway/state.json' : 'memory'}`;
}
