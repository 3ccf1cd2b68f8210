// Runs the tasks of a local playbook (20-pki, 30-kubeconfigs, 40-encryption) the way the engine
// does: resolve ${...} placeholders, validate args, check, apply only when check says changed.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { interpolate } from '../../src/engine/vars.ts';
import { encryptionConfigModule } from '../../src/modules/encryption.ts';
import { kubeconfigModule, workerKubeconfigsModule } from '../../src/modules/kubeconfigs.ts';
import { conditionUnmet, type TaskCondition } from '../../src/engine/when.ts';
import type { RunContext, TaskModule } from '../../src/modules/module.ts';
import { pkiModule } from '../../src/modules/pki.ts';
import { projectRoot, testTaskContext } from '../helpers/context.ts';
import { describedText } from '../../src/modules/described.ts';

const modules: Record<string, TaskModule<any>> = { pki: pkiModule, kubeconfig: kubeconfigModule, 'worker-kubeconfigs': workerKubeconfigsModule, encryption_config: encryptionConfigModule };

export interface StepOutcome {
  task: string;
  changed: boolean;
  reason: string;
  lines: string[];
  describe: string[];
}

export async function runLocalPlaybook(run: RunContext, file: string): Promise<StepOutcome[]> {
  const playbook = parse(await readFile(join(projectRoot, 'playbooks', file), 'utf8')) as { hosts: string; tasks: Record<string, unknown>[] };
  if (playbook.hosts !== 'local') throw new Error(`${file} is not a local playbook`);
  const outcomes: StepOutcome[] = [];
  for (const task of playbook.tasks) {
    // As the engine does: a task whose `when:` does not hold is skipped.
    if (conditionUnmet(task.when as TaskCondition | undefined, run)) continue;
    const [moduleName] = Object.keys(task).filter((key) => key !== 'name' && key !== 'when');
    const module = modules[moduleName!]!;
    const ctx = testTaskContext(run, undefined);
    const args = module.args.parse(interpolate(task[moduleName!], ctx.vars));
    const check = await module.check(ctx, args);
    const describe = describedText(module.describe(ctx, args), undefined);
    if (!check.changed) {
      outcomes.push({ task: String(task.name), changed: false, reason: check.reason, lines: ctx.lines, describe });
      continue;
    }
    const applied = await module.apply(ctx, args, check);
    outcomes.push({ task: String(task.name), changed: applied ? applied.changed : true, reason: applied?.reason ?? check.reason, lines: ctx.lines, describe });
  }
  return outcomes;
}
