// Specs and a provider context for the aws unit tests: in-memory state, a temp cluster dir.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '../../../src/engine/state.ts';
import { deriveInventory } from '../../../src/inventory/derive.ts';
import type { ProviderContext } from '../../../src/providers/provider.ts';
import { clusterSpecSchema, type ClusterSpec, type ClusterSpecInput } from '../../../src/spec/schema.ts';

export function awsSpec(overrides: Partial<ClusterSpecInput> = {}): ClusterSpec {
  return clusterSpecSchema.parse({
    name: 'unit',
    provider: 'aws',
    nodes: { controllers: { count: 2 }, etcd: { count: 1 } },
    aws: { region: 'eu-west-1', adminCidrs: ['203.0.113.0/24'] },
    ...overrides,
  });
}

export async function awsContext(spec: ClusterSpec): Promise<ProviderContext & { lines: string[] }> {
  const lines: string[] = [];
  return {
    spec,
    clusterDir: await mkdtemp(join(tmpdir(), 'hardway-aws-unit-')),
    state: StateStore.inMemory(spec.name),
    inventory: deriveInventory(spec),
    log: (line) => lines.push(line),
    signal: new AbortController().signal,
    lines,
  };
}
