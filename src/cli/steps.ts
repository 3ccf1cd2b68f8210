// Loads the built-in modules and playbooks into the step graph every command shares.
import { join } from 'node:path';
import { buildGraph, type StepGraph } from '../engine/graph.ts';
import { loadPlaybooks } from '../engine/playbook.ts';
import { builtinModules } from '../modules/index.ts';
import type { ModuleRegistry } from '../modules/module.ts';
import { projectRoot } from './common.ts';

export interface Steps extends StepGraph {
  modules: ModuleRegistry;
}

/** Why: provision, plan, explain and validate must agree on the steps and their order. */
export async function loadStepGraph(directory = join(projectRoot, 'playbooks')): Promise<Steps> {
  const modules = builtinModules();
  const graph = buildGraph(await loadPlaybooks(directory, modules));
  return { ...graph, modules };
}
