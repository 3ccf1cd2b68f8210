// What every command needs: global options, loading the cluster (spec, inventory, state), and
// the run context. Commands stay thin; the work lives in engine/, pki/, providers/.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { deriveInventory } from '../inventory/derive.ts';
import type { Inventory } from '../inventory/node.ts';
import { assertConsistent } from '../spec/consistency.ts';
import { formatProblem, loadSpecFile, type Problem } from '../spec/load.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import { StateStore } from '../engine/state.ts';

export interface GlobalOptions {
  config: string;
  verbose: boolean;
  json: boolean;
  concurrency: number;
}

/** The package root: units/ and playbooks/ are read from here. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Output streams, so tests can run commands in-process and read what a user would see. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

export interface LoadedCluster {
  spec: ClusterSpec;
  specFile: string;
  clusterDir: string;
  warnings: Problem[];
  state: StateStore;
  /** The spec's inventory with what the provider recorded in the state merged in. */
  inventory: Inventory;
}

/** Why: one way to read cluster.yaml + state, so every command sees the same cluster. */
export async function openCluster(options: Pick<GlobalOptions, 'config'>, io: CliIO): Promise<LoadedCluster> {
  const specFile = resolve(options.config);
  const { spec, located } = await loadSpecFile(specFile, options.config);
  const warnings = assertConsistent(spec, located);
  for (const warning of warnings) io.stderr(`warning: ${formatProblem(warning)}\n`);
  const clusterDir = dirname(specFile);
  // Reading never writes: commands that only look (plan, status) leave state.json untouched.
  const state = await StateStore.open(clusterDir, spec.name);
  return { spec, specFile, clusterDir, warnings, state, inventory: deriveInventory(spec, state.data.providerFacts) };
}
