// Builds the RunContext a command passes down: for plan (nothing connects) and for runs (an SSH
// pool with the cluster's pinned host keys, and the provider created on first use).
import type { RunContext, RunOptions, TranscriptSink } from '../engine/context.ts';
import type { ModuleRegistry } from '../modules/module.ts';
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

/** The parts every context of a cluster shares. */
function clusterParts(cluster: LoadedCluster, modules: ModuleRegistry) {
  return { clusterDir: cluster.clusterDir, specFile: cluster.specFile, spec: cluster.spec, inventory: cluster.inventory, state: cluster.state, modules, projectRoot };
}

/** Why: plan resolves the same variables as a run, with nothing able to connect. */
export function planContext(cluster: LoadedCluster, modules: ModuleRegistry): RunContext {
  return {
    ...clusterParts(cluster, modules),
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
}

/** A run's context; call close() when done to drop SSH connections. */
export function runContext(input: RunContextInput): RunContext & { close(): Promise<void> } {
  const { cluster } = input;
  let provider: Promise<Provider> | undefined;
  const transports = createTransportPool(cluster, input.log);
  return {
    ...clusterParts(cluster, input.modules),
    options: input.options,
    transports,
    provider: () => (provider ??= createProvider(cluster.spec)),
    transcript: input.transcript,
    signal: input.signal,
    close: () => transports.closeAll(),
  };
}
