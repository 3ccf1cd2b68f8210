import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../src/engine/graph.ts';
import { describeMissing, selectSteps, type Selection } from '../../src/engine/select.ts';
import { UsageError } from '../../src/errors.ts';
import { testRunContext } from '../helpers/context.ts';
import { newWorld, testModules } from '../helpers/modules.ts';
import { playbook, sampleTexts } from './playbooks.ts';

const modules = testModules(newWorld());
const graph = buildGraph(Object.entries(sampleTexts()).map(([file, text]) => playbook(modules, text, file)));
// 2 controllers + 3 etcd + lb-0 from the lab test spec.
const nodes = testRunContext().inventory.nodes;

type Done = Record<string, string[]>;
const lookup = (done: Done) => (step: string, node: string) => done[step]?.includes(node) ?? false;
const allNodes = nodes.names();
const everything: Done = { infra: ['local'], pki: ['local'], hosts: allNodes, etcd: ['etcd-0', 'etcd-1', 'etcd-2'], 'control-plane': ['controller-0', 'controller-1'] };

interface Row {
  name: string;
  selection: Selection;
  done: Done;
  steps: string[];
  nodes?: Record<string, string[]>;
  missing?: string[];
  dependencies?: string[];
}

const rows: Row[] = [
  { name: 'no selection runs every step', selection: {}, done: {}, steps: ['infra', 'pki', 'hosts', 'etcd', 'control-plane'] },
  { name: '--step runs that step alone when its needs are done', selection: { steps: ['etcd'] }, done: everything, steps: ['etcd'], nodes: { etcd: ['etcd-0', 'etcd-1', 'etcd-2'] } },
  { name: 'repeated --step keeps run order, not flag order', selection: { steps: ['control-plane', 'pki'] }, done: everything, steps: ['pki', 'control-plane'] },
  { name: '--step refuses needs that never ran', selection: { steps: ['etcd'] }, done: { infra: ['local'] }, steps: ['etcd'], missing: ['etcd<-pki@local', 'etcd<-hosts@etcd-0,etcd-1,etcd-2'] },
  { name: 'a need selected alongside is not missing', selection: { steps: ['pki', 'hosts', 'etcd'] }, done: { infra: ['local'] }, steps: ['pki', 'hosts', 'etcd'], missing: [] },
  { name: '--with-deps adds only what has not completed, transitively', selection: { steps: ['etcd'], withDeps: true }, done: { infra: ['local'], hosts: allNodes }, steps: ['pki', 'etcd'], dependencies: ['pki'] },
  { name: '--with-deps from nothing adds the whole chain', selection: { steps: ['control-plane'], withDeps: true }, done: {}, steps: ['infra', 'pki', 'hosts', 'etcd', 'control-plane'], dependencies: ['infra', 'pki', 'hosts', 'etcd'] },
  { name: '--from runs that step and all after it', selection: { from: 'hosts' }, done: everything, steps: ['hosts', 'etcd', 'control-plane'] },
  { name: '--from still refuses an earlier need that never ran', selection: { from: 'etcd' }, done: { infra: ['local'], hosts: allNodes }, steps: ['etcd', 'control-plane'], missing: ['etcd<-pki@local'] },
  { name: '--nodes narrows remote steps', selection: { steps: ['hosts', 'etcd'], nodes: ['etcd-1'] }, done: everything, steps: ['hosts', 'etcd'], nodes: { hosts: ['etcd-1'], etcd: ['etcd-1'] } },
  { name: '--nodes: a need is checked only on the selected node', selection: { steps: ['etcd'], nodes: ['etcd-1'] }, done: { ...everything, hosts: ['etcd-1'] }, steps: ['etcd'], missing: [] },
  { name: '--nodes: a need elsewhere must be done on all its nodes', selection: { steps: ['control-plane'], nodes: ['controller-0'] }, done: { ...everything, etcd: ['etcd-0'] }, steps: ['control-plane'], missing: ['control-plane<-etcd@etcd-1,etcd-2'] },
  { name: '--nodes that match no host of a step leave it without nodes', selection: { steps: ['etcd'], nodes: ['controller-0'] }, done: everything, steps: ['etcd'], nodes: { etcd: [] } },
  { name: 'a dependency added under --nodes runs where it is missing', selection: { steps: ['control-plane'], nodes: ['controller-0'], withDeps: true }, done: { ...everything, etcd: [] }, steps: ['etcd', 'control-plane'], nodes: { etcd: ['etcd-0', 'etcd-1', 'etcd-2'], 'control-plane': ['controller-0'] } },
];

describe('selectSteps', () => {
  it.each(rows)('$name', (row) => {
    const result = selectSteps(graph, nodes, row.selection, lookup(row.done));
    expect(result.steps.map((step) => step.playbook.step)).toEqual(row.steps);
    for (const [step, names] of Object.entries(row.nodes ?? {})) {
      expect(result.steps.find((selected) => selected.playbook.step === step)?.nodes.map((node) => node.name)).toEqual(names);
    }
    if (row.missing) expect(result.missing.map((item) => `${item.step}<-${item.need}@${item.where.join(',')}`).sort()).toEqual([...row.missing].sort());
    if (row.dependencies) expect(result.steps.filter((step) => step.asDependency).map((step) => step.playbook.step)).toEqual(row.dependencies);
  });

  it.each([
    [{ steps: ['etdc'] }, /unknown step "etdc"; steps are: infra, pki, hosts, etcd, control-plane/],
    [{ steps: ['etcd'], from: 'pki' }, /--step and --from cannot be combined/],
    [{ nodes: ['etcd-9'] }, /unknown node etcd-9; nodes are: controller-0, controller-1, etcd-0/],
  ] as [Selection, RegExp][])('refuses %j with a usage error', (selection, message) => {
    expect(() => selectSteps(graph, nodes, selection, lookup(everything))).toThrow(UsageError);
    expect(() => selectSteps(graph, nodes, selection, lookup(everything))).toThrow(message);
  });

  it('says what is missing, where, and the two ways out', () => {
    const { missing } = selectSteps(graph, nodes, { steps: ['etcd'] }, lookup({ infra: ['local'], hosts: ['etcd-0'] }));
    expect(describeMissing(missing)).toBe(
      'step "etcd" needs "pki", which has not completed\nstep "etcd" needs "hosts", which has not completed on etcd-1, etcd-2\nRun --step pki --step hosts first, or add --with-deps to run what is missing.',
    );
  });
});

describe('a step-level when:', () => {
  const routes = playbook(modules, 'step: routes\ntitle: Routes\nhosts: all\nwhen: { exists: worker }\ntasks:\n  - name: r\n    set: { key: k, value: v }\n', 'routes.yaml');
  const routesGraph = buildGraph([routes]);

  it('leaves the step without hosts on a cluster without the role, and on every node with it', () => {
    expect(selectSteps(routesGraph, nodes, {}, () => false).steps.map((step) => step.nodes.length)).toEqual([0]);
    const withWorkers = testRunContext({ spec: { name: 'test', provider: 'lab', nodes: { controllers: { count: 1 }, etcd: { count: 1 }, workers: { count: 2 } } } }).inventory.nodes;
    expect(selectSteps(routesGraph, withWorkers, {}, () => false).steps[0]!.nodes.map((node) => node.name)).toEqual(withWorkers.names());
  });

  it('names only a role', () => {
    expect(() => playbook(modules, 'step: routes\ntitle: Routes\nhosts: all\nwhen: { exists: pods }\ntasks:\n  - name: r\n    set: { key: k, value: v }\n', 'bad.yaml')).toThrow();
  });
});
