// Facts read ahead: before a node runs a phase of a step, the read-only commands its tasks' checks
// will run (file facts, unit states, the hostname) go to the node in one exec, and each check takes
// its answer from there instead of a round trip of its own. A no-op step then costs a node about
// one round trip, whatever its number of tasks (issue 17). The answers are this node's, for this
// run: the first task that applies anything drops them all, so a check never sees a fact older
// than the last change it could depend on. Dry runs read live (plan is not about speed, and a new
// machine must not be contacted).
import { randomBytes } from 'node:crypto';
import type { Node } from '../inventory/node.ts';
import type { NodeScratch, RunContext, TaskContext } from './context.ts';
import type { PlaybookTask } from './playbook.ts';
import { interpolate, templateVars } from './vars.ts';
import { conditionUnmet } from './when.ts';

/** The answers read ahead for one node: command -> its stdout (only commands that exited 0). */
export type ReadAhead = Map<string, string>;

/** One exec that runs every command in its own subshell and marks where each answer starts and ends. */
export function readAheadCommand(commands: readonly string[], token: string): string {
  return commands.map((command, index) => `printf '::${token} %d\\n' ${index}; ( ${command}\n); printf '\\n::${token}-end %d %d\\n' ${index} $?`).join('; ');
}

/** The answers of readAheadCommand's output: those that exited 0 (a failing one is run again live, for its error). */
export function parseReadAhead(commands: readonly string[], token: string, stdout: string): ReadAhead {
  const answers: ReadAhead = new Map();
  let cursor = 0;
  for (const [index, command] of commands.entries()) {
    const begin = `::${token} ${index}\n`;
    const start = stdout.indexOf(begin, cursor);
    if (start < 0) break;
    const endMarker = new RegExp(`\\n::${token}-end ${index} (\\d+)\\n`, 'g');
    endMarker.lastIndex = start + begin.length;
    const end = endMarker.exec(stdout);
    if (!end) break;
    if (end[1] === '0') answers.set(command, stdout.slice(start + begin.length, end.index));
    cursor = end.index + end[0].length;
  }
  return answers;
}

/**
 * Why: a no-op run should cost a node one round trip per step, not one per task. Reads ahead for
 * `tasks` on `node` into its scratch; any failure only means the checks read live.
 */
export async function readAhead(run: RunContext, tasks: readonly PlaybookTask[], node: Node, scratch: NodeScratch, context: (task: PlaybookTask, vars: Record<string, unknown>) => TaskContext): Promise<void> {
  scratch.readAhead = undefined;
  if (run.options.dryRun) return;
  const commands = new Set<string>();
  for (const task of tasks) {
    const module = run.modules.get(task.module);
    if (!module?.reads || conditionUnmet(task.when, run)) continue;
    try {
      const vars = templateVars(run, node);
      const parsed = module.args.safeParse(interpolate(task.args, vars));
      if (!parsed.success) continue;
      for (const command of await module.reads(context(task, vars), parsed.data)) commands.add(command);
    } catch {
      // The task's own check reports what is wrong with it.
    }
  }
  if (commands.size < 2) return;
  const list = [...commands];
  const token = `hardway-read-${randomBytes(4).toString('hex')}`;
  try {
    const transport = await run.transports.get(node, run.signal);
    const result = await transport.exec(readAheadCommand(list, token), { check: false, signal: run.signal });
    scratch.readAhead = parseReadAhead(list, token, result.stdout);
  } catch {
    // Unreachable or interrupted: the checks connect and fail (or succeed) on their own.
  }
}
