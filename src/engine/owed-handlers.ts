// Owed handlers: a restart a task notified is owed until the handler ran to the end on that node,
// across a failed step, an interrupted run and steps (a binary replaced by one step owes a restart
// to the step that runs the service). Kept in the state; a dry run keeps its notes in memory.
import type { RunContext } from '../modules/module.ts';
import { hostsOf, type SelectedStep } from './select.ts';
import { LOCAL } from './state.ts';

/**
 * Why: a notified handler is owed until it ran to the end on its node, across failures and runs
 * (Ansible drops them, PITFALLS.md). Owed handlers live in the state; a dry run keeps its own
 * notes in memory and writes nothing.
 */
export class OwedHandlers {
  readonly #run: RunContext;
  readonly #dryRun = new Map<string, Map<string, Set<string>>>();

  constructor(run: RunContext) {
    this.#run = run;
  }

  /**
   * handler -> nodes of this step that owe it (selected nodes only; others stay owed). A node the
   * step never runs on (not its role, gone from the inventory) owes it nothing: that is dropped.
   */
  async forStep(step: SelectedStep, nodes: readonly string[]): Promise<Map<string, Set<string>>> {
    const name = step.playbook.step;
    const hosts = step.local ? [LOCAL] : hostsOf(step.playbook, this.#run.inventory.nodes).map((node) => node.name);
    for (const [handler, names] of Object.entries(this.#run.state.owedHandlers(name))) {
      for (const node of names) if (!hosts.includes(node)) await this.settle(name, handler, node);
    }
    return this.#owedNow(name, nodes);
  }

  #owedNow(step: string, nodes: readonly string[]): Map<string, Set<string>> {
    const owed = new Map<string, Set<string>>();
    const add = (handler: string, node: string) => {
      if (nodes.includes(node)) owed.set(handler, (owed.get(handler) ?? new Set()).add(node));
    };
    for (const [handler, names] of Object.entries(this.#run.state.owedHandlers(step))) for (const node of names) add(handler, node);
    for (const [handler, names] of this.#dryRun.get(step) ?? []) for (const node of names) add(handler, node);
    return owed;
  }

  async owe(step: string, handler: string, node: string): Promise<void> {
    if (!this.#run.options.dryRun) return this.#run.state.owe(step, handler, node);
    const handlers = this.#dryRun.get(step) ?? new Map<string, Set<string>>();
    handlers.set(handler, (handlers.get(handler) ?? new Set()).add(node));
    this.#dryRun.set(step, handlers);
  }

  async settle(step: string, handler: string, node: string): Promise<void> {
    if (!this.#run.options.dryRun) return this.#run.state.settle(step, handler, node);
    this.#dryRun.get(step)?.get(handler)?.delete(node);
  }
}
