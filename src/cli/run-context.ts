// Builds the RunContext a command passes down: for plan (nothing connects) and for runs (an SSH
// pool with the cluster's pinned host keys, and the provider created on first use).
import { FileHashes } from '../artifacts/file-hashes.ts';
import type { Node } from '../inventory/node.ts';
import type { RunContext, RunOptions, TranscriptSink, ModuleRegistry } from '../modules/module.ts';
import { NewMachineError, newMachinesFor, type WithNewMachines } from '../modules/new-machines.ts';
import { createProvider } from '../providers/index.ts';
import type { Provider } from '../providers/provider.ts';
import type { TransportPool } from '../transport/transport.ts';
import { projectRoot, type LoadedCluster } from './common.ts';
import { createTransportPool } from './transports.ts';

const nowhere: TransportPool = {
  get: async (node) => {
    throw new Error(`plan does not connect to nodes (asked for ${node.name})`);
  },
  closeAll: async () => undefined,
};

/** Why: nothing of a dry run reaches a machine that does not exist yet, whichever module asks. */
function refusingNewMachines(pool: TransportPool, newMachines: ReadonlySet<string>): TransportPool {
  return {
    get: (node, signal) => (newMachines.has(node.name) ? Promise.reject(new NewMachineError(node.name)) : pool.get(node, signal)),
    ...(pool.forget ? { forget: (node: Node) => pool.forget!(node) } : {}),
    ...(pool.roundTrips ? { roundTrips: () => pool.roundTrips!() } : {}),
    closeAll: () => pool.closeAll(),
  };
}

/** The parts every context of a cluster shares. */
function clusterParts(cluster: LoadedCluster, modules: ModuleRegistry, options: { persistHashes: boolean }) {
  const hashes = FileHashes.forCluster(cluster.clusterDir, { persist: options.persistHashes && Boolean(cluster.state.path) });
  return { clusterDir: cluster.clusterDir, specFile: cluster.specFile, spec: cluster.spec, inventory: cluster.inventory, state: cluster.state, modules, projectRoot, hashes };
}

/** Why: plan resolves the same variables as a run, with nothing able to connect. */
export function planContext(cluster: LoadedCluster, modules: ModuleRegistry): RunContext {
  return {
    ...clusterParts(cluster, modules, { persistHashes: false }),
    options: { dryRun: true, verbose: false, concurrency: 1 },
    transports: nowhere,
    provider: async () => {
      throw new Error('plan does not use the provider');
    },
    signal: new AbortController().signal,
  };
}

export interface RunContextInput {
  cluster: LoadedCluster;
  modules: ModuleRegistry;
  options: RunOptions;
  signal: AbortSignal;
  transcript?: TranscriptSink;
  /** Log lines from the provider and transport outside any task. */
  log: (line: string) => void;
  /**
   * A dry run (provision --dry-run, plan --diff) of a cluster never built plans its machines as new
   * ones: no connection, no SSH key, each task as on a fresh node (modules/new-machines.ts).
   */
  planNewMachines?: boolean;
}

/** A run's context; call close() when done to drop SSH connections. */
export function runContext(input: RunContextInput): RunContext & WithNewMachines & { close(): Promise<void> } {
  const { cluster } = input;
  let provider: Promise<Provider> | undefined;
  const newMachines = input.planNewMachines ? newMachinesFor(cluster, input.options.dryRun) : undefined;
  const pool = createTransportPool(cluster, input.log);
  const transports = newMachines ? refusingNewMachines(pool, newMachines) : pool;
  return {
    ...clusterParts(cluster, input.modules, { persistHashes: !input.options.dryRun }),
    ...(newMachines ? { newMachines } : {}),
    options: input.options,
    transports,
    provider: () => (provider ??= createProvider(cluster.spec)),
    transcript: input.transcript,
    signal: input.signal,
    close: () => transports.closeAll(),
  };
}
