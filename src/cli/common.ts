// What every command needs: global options, loading the cluster (spec, inventory, state), and
// the run context. Commands stay thin; the work lives in engine/, pki/, providers/.
import { lstat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { deriveInventory } from '../inventory/derive.ts';
import type { Inventory } from '../inventory/node.ts';
import { assertConsistent } from '../spec/consistency.ts';
import { formatProblem, loadSpecFile, type Problem } from '../spec/load.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import { StateStore, stateDir } from '../engine/state.ts';
import { FileError } from '../errors.ts';
import { displayPath } from '../pki/store.ts';
import { KnownHosts } from '../transport/known-hosts.ts';
import { describeKind, fileErrorFrom, readLocalFileOptional } from '../util/local-file.ts';
import { checkStateText } from '../util/state-check.ts';

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
  // The files hardway left for people to edit are checked before any command trusts them: a bad
  // one is an error naming the file and line (exit 2), never silently rewritten or half-read.
  await checkLocalFiles(clusterDir);
  // Reading never writes: commands that only look (plan, status) leave state.json untouched.
  const state = await StateStore.open(clusterDir, spec.name);
  return { spec, specFile, clusterDir, warnings, state, inventory: deriveInventory(spec, state.data.providerFacts) };
}

/** state.json is kilobytes to a few megabytes for the largest inventories. */
const MAX_STATE_BYTES = 16 * 1024 * 1024;

/**
 * Why: .hardway/state.json, .hardway/lock and known_hosts are read by the engine and the transport,
 * which would hang on a FIFO, crash on a directory or trust a malformed value; checking them once,
 * here, gives every command the same clear refusal before it reads or changes anything.
 */
export async function checkLocalFiles(clusterDir: string): Promise<void> {
  const statePath = join(stateDir(clusterDir), 'state.json');
  const stateText = await readLocalFileOptional(statePath, {
    display: displayPath(clusterDir, '.hardway/state.json'),
    maxBytes: MAX_STATE_BYTES,
    hint: 'Restore it from a backup, or move it aside to start over (provisioned machines are found again by the provider).',
  });
  if (stateText !== undefined) checkStateText(stateText, displayPath(clusterDir, '.hardway/state.json'));

  const lockPath = join(stateDir(clusterDir), 'lock');
  const lock = await lstat(lockPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw fileErrorFrom(error, displayPath(clusterDir, '.hardway/lock'), 'read');
  });
  if (lock && !lock.isFile()) {
    throw new FileError(`${displayPath(clusterDir, '.hardway/lock')} is ${describeKind(lock)}, not a lock file`, displayPath(clusterDir, '.hardway/lock'), {
      hint: 'No hardway run makes that: remove it (no run may be in progress) and run again.',
    });
  }

  // Parsing checks every line; a malformed one throws naming the file and line.
  await new KnownHosts(join(clusterDir, 'known_hosts')).keysFor('localhost', 22);
}
