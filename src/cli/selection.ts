// The step and node selection flags shared by provision, up and plan.
import { CommanderError, type Command } from 'commander';
import type { Selection } from '../engine/select.ts';

export interface SelectionFlags {
  step?: string[];
  from?: string;
  nodes?: string;
  withDeps?: boolean;
}

/** A name a selection flag may carry: a step or node name, never empty, never huge. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/**
 * Why: an empty selector (`--step ""`, `--nodes ,`) must be an error, never "everything": a
 * script that builds the flag from an empty variable would otherwise run every step on every node.
 */
export function selectorList(flag: string, value: string): string[] {
  const items = value.split(',').map((item) => item.trim());
  if (!value.trim() || items.some((item) => !item)) {
    throw new CommanderError(2, 'hardway.invalidArgument', `${flag} needs a name (or a comma-separated list without empty entries), got "${value}"`);
  }
  const bad = items.find((item) => !NAME.test(item));
  if (bad !== undefined) throw new CommanderError(2, 'hardway.invalidArgument', `${flag}: "${bad.slice(0, 64)}" is not a step or node name`);
  return items;
}

const collectSteps = (value: string, previous: string[] = []) => [...previous, ...selectorList('--step', value)];
const oneStep = (value: string) => {
  const [step, ...rest] = selectorList('--from', value);
  if (rest.length) throw new CommanderError(2, 'hardway.invalidArgument', `--from takes one step, got "${value}"`);
  return step!;
};
const nodeList = (value: string) => selectorList('--nodes', value).join(',');

/** Why: one definition of --step/--from/--nodes/--with-deps for every command that selects steps. */
export function addSelectionOptions(command: Command): Command {
  return command
    .option('--step <step>', 'run only this step (repeatable)', collectSteps)
    .option('--from <step>', 'run this step and every step after it', oneStep)
    .option('--nodes <names>', 'limit remote steps to these nodes (comma-separated)', nodeList)
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
