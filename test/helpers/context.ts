// Builds RunContext and TaskContext values for tests of modules and the engine, from a spec
// given as YAML-shaped data, without touching the user's files.
import { fileURLToPath } from 'node:url';
import { deriveInventory } from '../../src/inventory/derive.ts';
import type { Node } from '../../src/inventory/node.ts';
import { StateStore } from '../../src/engine/state.ts';
import { templateVars } from '../../src/engine/vars.ts';
import { type NodeScratch, type RunContext, type RunOptions, type TaskContext, ModuleRegistry } from '../../src/modules/module.ts';
import { clusterSpecSchema, type ClusterSpecInput } from '../../src/spec/schema.ts';
import type { Transport, TransportPool } from '../../src/transport/transport.ts';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export const labSpecInput: ClusterSpecInput = {
  name: 'test',
  provider: 'lab',
  nodes: { controllers: { count: 2 }, etcd: { count: 3 } },
};

export interface TestRunOverrides {
  spec?: ClusterSpecInput;
  clusterDir?: string;
  state?: StateStore;
  options?: Partial<RunOptions>;
  transports?: TransportPool;
  modules?: ModuleRegistry;
}

const noTransports: TransportPool = {
  get: async (node) => {
    throw new Error(`test run has no transport for ${node.name}`);
  },
  closeAll: async () => undefined,
};

export function testRunContext(overrides: TestRunOverrides = {}): RunContext {
  const spec = clusterSpecSchema.parse(overrides.spec ?? labSpecInput);
  return {
    clusterDir: overrides.clusterDir ?? '/nonexistent-cluster-dir',
    specFile: 'cluster.yaml',
    spec,
    inventory: deriveInventory(spec),
    state: overrides.state ?? StateStore.inMemory(spec.name),
    options: { dryRun: false, verbose: false, concurrency: 4, ...overrides.options },
    transports: overrides.transports ?? noTransports,
    modules: overrides.modules ?? new ModuleRegistry(),
    provider: async () => {
      throw new Error('test run has no provider');
    },
    projectRoot,
    signal: new AbortController().signal,
  };
}

export function newScratch(): NodeScratch {
  return { startedServices: new Set(), changedUnits: new Set() };
}

/** A TaskContext for one node (or local when node is undefined), with its log lines collected. */
export function testTaskContext(run: RunContext, node: Node | undefined, transport?: Transport): TaskContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    run,
    node,
    vars: templateVars(run, node),
    step: 'test',
    task: 'test task',
    connect: async () => {
      if (!transport) throw new Error('no transport in this test context');
      return transport;
    },
    log: (line) => lines.push(line),
    signal: run.signal,
    scratch: newScratch(),
    lines,
  };
}
