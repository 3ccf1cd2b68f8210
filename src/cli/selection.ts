// The step and node selection flags shared by provision, up and plan.
import type { Command } from 'commander';
import type { Selection } from '../engine/select.ts';

export interface SelectionFlags {
  step?: string[];
  from?: string;
  nodes?: string;
  withDeps?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((item) => item.trim()).filter(Boolean)];

/** Why: one definition of --step/--from/--nodes/--with-deps for every command that selects steps. */
export function addSelectionOptions(command: Command): Command {
  return command
    .option('--step <step>', 'run only this step (repeatable)', collect)
    .option('--from <step>', 'run this step and every step after it')
    .option('--nodes <names>', 'limit remote steps to these nodes (comma-separated)')
    .option('--with-deps', 'also run prerequisite steps that have not completed', false);
}

export function selectionOptions(flags: SelectionFlags): Selection {
  return {
    steps: flags.step,
    from: flags.from,
    withDeps: flags.withDeps,
    nodes: flags.nodes?.split(',').map((name) => name.trim()).filter(Boolean),
  };
}
