// Loads the built-in modules and playbooks into the step graph every command shares.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGraph, type StepGraph } from '../engine/graph.ts';
import { loadPlaybooks, type PlaybookCache } from '../engine/playbook.ts';
import type { ModuleRegistry } from '../modules/module.ts';
import { projectRoot } from './common.ts';

export interface Steps extends StepGraph {
  modules: ModuleRegistry;
}

/** Why: provision, plan, explain and validate must agree on the steps and their order. */
export async function loadStepGraph(directory = join(projectRoot, 'playbooks'), env: NodeJS.ProcessEnv = process.env): Promise<Steps> {
  const modules = await loadBuiltinModules();
  const graph = buildGraph(await loadPlaybooks(directory, modules, await playbookCache(env)));
  return { ...graph, modules };
}

/**
 * The steps and their order without the modules' code, for a command that runs no task
 * (validate): the modules (and what they import: PKI, archives, templates) load only when the
 * playbooks must be checked afresh, not when the cache holds them checked.
 */
export async function loadStepOrder(directory = join(projectRoot, 'playbooks'), env: NodeJS.ProcessEnv = process.env): Promise<StepGraph> {
  return buildGraph(await loadPlaybooks(directory, loadBuiltinModules, await playbookCache(env)));
}

async function loadBuiltinModules(): Promise<ModuleRegistry> {
  return (await import('../modules/index.ts')).builtinModules();
}

/**
 * The cache of checked playbooks (engine/playbook.ts): under $XDG_CACHE_HOME/hardway (or
 * ~/.cache/hardway), keyed by the version and by the code that checks them (the sizes and modification times of
 * the modules' and the engine's files, so an edited checkout never reads an entry its old code made).
 * HARDWAY_NO_CACHE=1 turns it off.
 */
async function playbookCache(env: NodeJS.ProcessEnv): Promise<PlaybookCache | undefined> {
  if (env.HARDWAY_NO_CACHE === '1') return undefined;
  const base = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, '.cache') : undefined);
  if (!base) return undefined;
  try {
    const stamps: string[] = [];
    for (const code of ['../modules/', '../engine/'].map((dir) => fileURLToPath(new URL(dir, import.meta.url)))) {
      const names = (await readdir(code)).sort();
      stamps.push(...(await Promise.all(names.map(async (name) => {
        const info = await stat(join(code, name));
        return `${name}:${info.size}:${info.mtimeMs}`;
      }))));
    }
    const version = (JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
    return { dir: join(base, 'hardway'), codeKey: [version, ...stamps].join('\n') };
  } catch {
    return undefined;
  }
}
