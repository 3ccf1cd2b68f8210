// Steps ordered by `needs`: unknown needs, duplicate names and cycles are load errors. Among steps
// that are ready at the same time, file order decides, so the order a reader sees is the run order.
import { SpecError } from '../errors.ts';
import type { Playbook } from './playbook.ts';

export interface StepGraph {
  /** Every step, in run order. */
  ordered: Playbook[];
  get(step: string): Playbook | undefined;
  /** Every step that `step` needs, directly or not. */
  ancestors(step: string): Set<string>;
}

/** Why: one ordering rule for provision, plan and explain; checked when the playbooks load. */
export function buildGraph(playbooks: readonly Playbook[]): StepGraph {
  const byName = new Map<string, Playbook>();
  for (const playbook of playbooks) {
    const other = byName.get(playbook.step);
    if (other) throw new SpecError(`step "${playbook.step}" is defined twice: ${other.file} and ${playbook.file}`, { file: playbook.file, field: 'step' });
    byName.set(playbook.step, playbook);
  }
  for (const playbook of playbooks) {
    for (const need of playbook.needs) {
      if (need === playbook.step) throw new SpecError(`step "${playbook.step}" needs itself`, { file: playbook.file, field: 'needs' });
      if (!byName.has(need)) {
        throw new SpecError(`step "${playbook.step}" needs "${need}", which no playbook defines; steps are: ${[...byName.keys()].join(', ')}`, { file: playbook.file, field: 'needs' });
      }
    }
  }

  const ordered: Playbook[] = [];
  const placed = new Set<string>();
  while (ordered.length < playbooks.length) {
    const ready = playbooks.find((playbook) => !placed.has(playbook.step) && playbook.needs.every((need) => placed.has(need)));
    if (!ready) {
      const cycle = findCycle(playbooks.filter((playbook) => !placed.has(playbook.step)), byName);
      const first = byName.get(cycle[0]!)!;
      throw new SpecError(`the steps' needs form a cycle: ${cycle.join(' -> ')}`, { file: first.file, field: 'needs' });
    }
    ordered.push(ready);
    placed.add(ready.step);
  }

  const ancestors = (step: string): Set<string> => {
    const found = new Set<string>();
    const visit = (name: string) => {
      for (const need of byName.get(name)?.needs ?? []) {
        if (!found.has(need)) {
          found.add(need);
          visit(need);
        }
      }
    };
    visit(step);
    return found;
  };
  return { ordered, get: (step) => byName.get(step), ancestors };
}

function findCycle(remaining: Playbook[], byName: Map<string, Playbook>): string[] {
  const path: string[] = [];
  const onPath = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string): string[] | undefined => {
    if (onPath.has(name)) return [...path.slice(path.indexOf(name)), name];
    if (done.has(name)) return undefined;
    onPath.add(name);
    path.push(name);
    for (const need of byName.get(name)?.needs ?? []) {
      const cycle = visit(need);
      if (cycle) return cycle;
    }
    path.pop();
    onPath.delete(name);
    done.add(name);
    return undefined;
  };
  for (const playbook of remaining) {
    const cycle = visit(playbook.step);
    if (cycle) return cycle;
  }
  return remaining.map((playbook) => playbook.step);
}
