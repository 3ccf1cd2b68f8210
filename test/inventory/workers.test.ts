import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { deriveInventory } from '../../src/inventory/derive.ts';
import { catalog } from '../../src/pki/catalog.ts';
import { assertConsistent } from '../../src/spec/consistency.ts';
import { formatProblem, parseSpecText, SpecProblems } from '../../src/spec/load.ts';

const lab = await readFile(new URL('../../examples/lab/workers.yaml', import.meta.url), 'utf8');

function load(text: string) {
  const { spec, located } = parseSpecText(text, 'cluster.yaml');
  assertConsistent(spec, located);
  return spec;
}

describe('workers in the inventory', () => {
  it('the example lab has worker-0 and worker-1 at .40+, each with its own /24 pod range', () => {
    const inventory = deriveInventory(load(lab));
    const workers = inventory.nodes.filter((node) => node.roles.includes('worker'));
    expect(workers.map((node) => [node.name, node.internalIP, node.podCIDR])).toEqual([
      ['worker-0', '10.242.0.40', '10.200.0.0/24'],
      ['worker-1', '10.242.0.41', '10.200.1.0/24'],
    ]);
  });

  it("no workers keeps today's clusters as they were", () => {
    const inventory = deriveInventory(load(lab.replace(/  workers:\n    count: 2.*\n/, '')));
    expect(inventory.nodes.some((node) => node.roles.includes('worker'))).toBe(false);
  });

  it('a clusterCIDR too small for the workers is an error naming the field', () => {
    const text = lab.replace('clusterCIDR: 10.200.0.0/16', 'clusterCIDR: 10.200.0.0/24');
    let problems: string[] = [];
    try {
      load(text);
    } catch (error) {
      problems = (error as SpecProblems).problems.map(formatProblem);
    }
    expect(problems).toEqual([expect.stringMatching(/network\.clusterCIDR: 10\.200\.0\.0\/24 holds 1 pod ranges of \/24 for 2 workers/)]);
  });

  it('each worker gets a kubelet client (system:node:NAME in system:nodes) and serving certificate, plus one kube-proxy certificate', () => {
    const spec = load(lab);
    const entries = catalog(spec, deriveInventory(spec));
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    expect(byName.get('kubelet-client-worker-1')).toMatchObject({ cn: 'system:node:worker-1', organization: 'system:nodes', profile: 'client', hosts: [] });
    expect(byName.get('kubelet-server-worker-1')).toMatchObject({ cn: 'system:node:worker-1', profile: 'server', hosts: ['worker-1', '10.242.0.41'] });
    expect(byName.get('kube-proxy')).toMatchObject({ cn: 'system:kube-proxy', organization: 'system:node-proxier' });
    // The API server reaches kubelets through RBAC, not the all-powerful system:masters group.
    expect(byName.get('apiserver-kubelet-client')?.organization).toBeUndefined();
  });
});
