// The loadbalancer step on AWS: no lb node, so only its workstation task runs; it registers the
// controllers through the provider and is recorded for the workstation. On the lab, that task is
// skipped and the haproxy tasks run on the lb node instead (the lab e2e tests cover those).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadStepGraph } from '../../src/cli/steps.ts';
import { runSteps } from '../../src/engine/runner.ts';
import { selectSteps } from '../../src/engine/select.ts';
import { LOCAL } from '../../src/engine/state.ts';
import { deriveInventory } from '../../src/inventory/derive.ts';
import type { Node } from '../../src/inventory/node.ts';
import type { RunContext } from '../../src/modules/module.ts';
import type { Provider } from '../../src/providers/provider.ts';
import { loadSpecFile } from '../../src/spec/load.ts';
import { projectRoot, testRunContext } from '../helpers/context.ts';

describe('the loadbalancer step with an NLB', () => {
  it('registers the controllers from the workstation, with no lb node, and records the step there', async () => {
    const { spec } = await loadSpecFile(join(projectRoot, 'examples/aws/cluster.yaml'), 'cluster.yaml');
    const graph = await loadStepGraph();
    const registered: string[][] = [];
    const provider = { name: 'aws', registerTargets: async (_ctx: unknown, nodes: Node[]) => (registered.push(nodes.map((node) => node.name)), { changed: true, reason: 'registered' }) } as unknown as Provider;
    const base = testRunContext();
    const run: RunContext = { ...base, spec, inventory: deriveInventory(spec), modules: graph.modules, provider: async () => provider };
    const selected = selectSteps(graph, run.inventory.nodes, { steps: ['loadbalancer'] }, () => true);
    expect(selected.steps.map((step) => [step.playbook.step, step.nodes.length, step.workstation])).toEqual([['loadbalancer', 0, true]]);
    const report = await runSteps(run, selected.steps, 'silent');
    expect(report.ok).toBe(true);
    expect(registered).toEqual([['controller-0', 'controller-1']]);
    const byTask = Object.fromEntries(report.results.map((result) => [result.task, `${result.node} ${result.status}`]));
    expect(byTask).toEqual({ 'Register the controllers as NLB targets and wait until they are healthy': 'local changed' });
    expect(run.state.stepRecord('loadbalancer', LOCAL)?.status).toBe('done');
  });
});
