// One task on one node: resolve its arguments, check, apply when something is to change, and
// derive the result. Kept apart from listr2 so the rule for "changed" is tested on its own.
import { HardwayError, SpecError, TaskError } from '../errors.ts';
import type { Node } from '../inventory/node.ts';
import { formatProblem, problemsFromIssues } from '../spec/load.ts';
import { freshPlan, isNewMachine, NewMachineError } from '../modules/new-machines.ts';
import type { CheckResult, TaskModule, NodeScratch, RunContext, TaskContext } from '../modules/module.ts';
import type { PlaybookTask } from './playbook.ts';
import { interpolate, templateVars } from './vars.ts';
import { conditionUnmet } from './when.ts';

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

export interface TaskResult {
  step: string;
  /** The node's name, or `local`. */
  node: string;
  task: string;
  module: string;
  status: TaskStatus;
  reason: string;
  durationMs: number;
  /** Set for handler tasks. */
  handler?: string;
  diff?: string;
  /** The failure, for failed tasks. */
  error?: HardwayError;
  /** Failed because the run was interrupted (Ctrl-C, SIGTERM) while this task ran. */
  interrupted?: boolean;
}

export interface TaskRunInput {
  run: RunContext;
  step: string;
  task: PlaybookTask;
  node: Node | undefined;
  scratch: NodeScratch;
  log: (line: string) => void;
  handler?: string;
}

/** How a task whose `when:` does not hold is reported: ok, with this reason (it touched nothing). */
export const CONDITION_SKIPPED = 'skipped: ';

/** Why: "changed" is derived from check (DESIGN §4); apply runs only when check found work. */
export async function executeTask(input: TaskRunInput): Promise<TaskResult> {
  const { run, step, task, node } = input;
  const started = performance.now();
  const base = { step, node: node?.name ?? 'local', task: task.name, module: task.module, handler: input.handler };
  const where = { step, node: node?.name, task: task.name };
  const unmet = conditionUnmet(task.when, run);
  if (unmet) return { ...base, status: 'ok', reason: `${CONDITION_SKIPPED}${unmet}`, durationMs: performance.now() - started };
  try {
    const module = run.modules.get(task.module);
    if (!module) throw new SpecError(`unknown module "${task.module}"`, { file: task.file, line: task.line });
    const vars = templateVars(run, node);
    const resolved = interpolate(task.args, vars);
    const parsed = module.args.safeParse(resolved);
    if (!parsed.success) {
      const located = { file: task.file, value: resolved, lineOf: () => task.line };
      throw new SpecError(problemsFromIssues(located, parsed.error.issues).map(formatProblem).join('\n'), { file: task.file, line: task.line, ...where });
    }
    const args = parsed.data;
    const context = taskContext({ ...input, vars });
    const check = await checkTask(run, module, context, args);
    if (!check.changed) return { ...base, status: 'ok', reason: check.reason, durationMs: performance.now() - started };
    // The plan check decided, rendered: the transcript shows what this run does on this node.
    run.transcript?.add({ step, task: task.name, node: node?.name, commands: module.describe(context, args, check.plan), once: task.once, handler: input.handler });
    if (run.options.dryRun) {
      return { ...base, status: check.probe ? 'ok' : 'changed', reason: `would ${check.reason}`, diff: check.diff, durationMs: performance.now() - started };
    }
    // What was read ahead may be what this changes: later checks of the node read live. A probe
    // (a wait, a health check) only observes, and keeps them.
    if (!check.probe) {
      input.scratch.readAhead = undefined;
      input.scratch.appliedThisRun = true;
    }
    const applied = await module.apply(context, args, check);
    const changed = applied ? applied.changed : !check.probe;
    return { ...base, status: changed ? 'changed' : 'ok', reason: applied?.reason ?? check.reason, diff: check.diff, durationMs: performance.now() - started };
  } catch (error) {
    if (run.signal.aborted) {
      // Stopped from outside: say so, not the abort error of whatever call was cut off.
      const failure = new TaskError('interrupted while this task ran', where, { cause: error, hint: 'Run the same command again: every task checks the node anew, and restarts still owed are kept in the state.' });
      return { ...base, status: 'failed', reason: failure.message, error: failure, interrupted: true, durationMs: performance.now() - started };
    }
    const failure = asTaskError(error, where);
    return { ...base, status: 'failed', reason: failure.message, error: failure, durationMs: performance.now() - started };
  }
}

/** The context a task's module gets: its node, variables, connection and log. */
export function taskContext(input: Pick<TaskRunInput, 'run' | 'step' | 'task' | 'node' | 'scratch' | 'log'> & { vars: Record<string, unknown> }): TaskContext {
  const { run, node } = input;
  return {
    run,
    node,
    vars: input.vars,
    step: input.step,
    task: input.task.name,
    connect: () => {
      if (!node) throw new TaskError('a local task cannot connect to a node', { step: input.step, node: undefined, task: input.task.name });
      return run.transports.get(node, run.signal);
    },
    log: input.log,
    signal: run.signal,
    scratch: input.scratch,
  };
}

/**
 * check, or in a dry run of machines not made yet the plan for a fresh node: remote tasks on a new
 * machine never look (nothing is there to read), and a local task that reaches for one (haproxy on
 * the lb node) gets the same fresh plan instead of a connection error.
 */
async function checkTask(run: RunContext, module: TaskModule<any, any>, context: TaskContext, args: unknown): Promise<CheckResult> {
  if (!run.options.dryRun) return module.check(context, args);
  if (module.where === 'remote' && isNewMachine(run, context.node)) return freshPlan(module, context, args);
  try {
    return await module.check(context, args);
  } catch (error) {
    if (error instanceof NewMachineError || (error instanceof HardwayError && error.cause instanceof NewMachineError)) return freshPlan(module, context, args);
    throw error;
  }
}

/** Keep a HardwayError's exit code and details; name the step, node and task on anything else. */
function asTaskError(error: unknown, where: { step: string; node: string | undefined; task: string }): HardwayError {
  if (error instanceof HardwayError) {
    Object.assign(error.where, { ...where, ...error.where, step: where.step, task: where.task, node: error.where.node ?? where.node });
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TaskError(message, where, { cause: error });
}
