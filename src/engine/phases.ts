// How a step's tasks fall into phases on its nodes, and what a node runs after a given phase (the
// read-ahead reads for those too, engine/read-ahead.ts).
import type { Node } from '../inventory/node.ts';
import type { PlaybookTask } from './playbook.ts';
import type { StepTask } from './read-ahead.ts';
import type { SelectedStep } from './select.ts';

/** A run of ordinary tasks on every node of the step, or one `once` task (a barrier, on one node). */
export type Phase = PlaybookTask[] | PlaybookTask;

/** Split tasks at `once` tasks: each run of ordinary tasks is a phase on every node. */
export function phases(tasks: readonly PlaybookTask[]): Phase[] {
  const result: Phase[] = [];
  let current: PlaybookTask[] = [];
  for (const task of tasks) {
    if (task.once) {
      if (current.length) result.push(current);
      current = [];
      result.push(task);
    } else {
      current.push(task);
    }
  }
  if (current.length) result.push(current);
  return result;
}

/**
 * What `node` runs after this phase, as far as it can be known now: the rest of this step and the
 * later steps it takes part in. `once` tasks are left out (they run on whichever node is first).
 */
export function laterTasks(current: SelectedStep, laterSteps: readonly SelectedStep[], laterPhases: readonly Phase[], node: Node): StepTask[] {
  const here = current.playbook.step;
  const tasks: StepTask[] = laterPhases.filter(Array.isArray).flat().map((task) => ({ step: here, task }));
  for (const step of laterSteps) {
    if (step.local || !step.nodes.some((candidate) => candidate.name === node.name)) continue;
    for (const task of step.playbook.tasks) if (!task.once) tasks.push({ step: step.playbook.step, task });
  }
  return tasks;
}
