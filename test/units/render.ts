// Renders units/ templates the way the engine does (eta v4, views = units/, no escaping), for tests.
import { join } from 'node:path';
import { Eta } from 'eta';
import type { RunContext } from '../../src/modules/module.ts';
import { templateVars } from '../../src/engine/vars.ts';
import type { Node } from '../../src/inventory/node.ts';

/** Why: tests must render with the same settings as the product, or they test another template. */
export function renderUnit(run: RunContext, template: string, node: Node | undefined, extra: Record<string, unknown> = {}): string {
  const eta = new Eta({ views: join(run.projectRoot, 'units'), autoEscape: false });
  return eta.render(template, { ...templateVars(run, node), ...extra });
}

/** The ExecStart command line of a rendered unit as argv (continuations joined). */
export function execStart(unit: string): string[] {
  const match = /^ExecStart=((?:.*\\\n)*.*)$/m.exec(unit);
  if (!match?.[1]) throw new Error('unit has no ExecStart');
  return match[1].replace(/\\\n/g, ' ').trim().split(/\s+/);
}

/** `--name=value` flags of an argv as a map (the units always use the `=` form). */
export function flagMap(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (const arg of argv.slice(1)) {
    const [name = '', ...value] = arg.replace(/^--/, '').split('=');
    if (flags.has(name)) throw new Error(`flag --${name} given twice`);
    flags.set(name, value.join('='));
  }
  return flags;
}
