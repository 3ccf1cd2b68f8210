// Owed handlers: a restart notified by a task is kept in the state until the handler ran to the
// end on that node, across a failed step and across steps (a binary installed by one step owes a
// restart that the step running the service carries out).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildGraph } from '../../src/engine/graph.ts';
import { handlerRef, loadPlaybooks } from '../../src/engine/playbook.ts';
import { runSteps } from '../../src/engine/runner.ts';
import { selectSteps, type Selection } from '../../src/engine/select.ts';
import { StateStore } from '../../src/engine/state.ts';
import { SpecProblems } from '../../src/spec/load.ts';
import { testRunContext } from '../helpers/context.ts';
import { newWorld, testModules, type World } from '../helpers/modules.ts';
import { playbook } from './playbooks.ts';

let dir: string;
let world: World;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-owed-'));
  world = newWorld();
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const hosts = (notify: string) => `step: hosts\ntitle: Hosts\nhosts: all\ntasks:\n  - name: binary\n    set: { key: binary, value: "\${spec.versions.etcd}" }\n    notify: "${notify}"\n`;
const etcd = (extraTask = '') =>
  `step: etcd\ntitle: etcd\nneeds: [hosts]\nhosts: role:etcd\ntasks:\n  - name: cert\n    set: { key: cert, value: v1 }\n    notify: restart etcd\n${extraTask}handlers:\n  - name: restart etcd\n    serial: true\n    tasks:\n      - name: restart\n        restart: { service: etcd }\n      - name: healthy again\n        probe: { what: etcd }\n`;

async function runWith(texts: string[], options: { dryRun?: boolean; etcdVersion?: string; selection?: Selection } = {}) {
  const modules = testModules(world);
  const graph = buildGraph(texts.map((text, index) => playbook(modules, text, `p${index}.yaml`)));
  const state = await StateStore.open(dir, 'test');
  const run = testRunContext({
    clusterDir: dir,
    state,
    modules,
    options: { dryRun: options.dryRun ?? false },
    spec: { name: 'test', provider: 'lab', nodes: { controllers: { count: 1 }, etcd: { count: 3 } }, versions: { etcd: options.etcdVersion ?? '3.5.16' } },
  });
  const selected = selectSteps(graph, run.inventory.nodes, options.selection ?? {}, () => true);
  const report = await runSteps(run, selected.steps, 'silent');
  return { report, state: await StateStore.open(dir, 'test') };
}

const restarts = () => world.calls.filter((call) => call.endsWith(':restart etcd'));

describe('owed handlers', () => {
  it('keeps a restart owed when the step fails before its handlers, and runs it on the next run', async () => {
    const failing = etcd('  - name: breaks\n    fail: { on: [etcd-1] }\n');
    const first = await runWith([hosts('etcd: restart etcd'), failing]);
    expect(first.report.ok).toBe(false);
    expect(restarts()).toEqual([]);
    // Every node changed its binary; the etcd step owns the handler, and runs on the members.
    expect(first.state.owedHandlers('etcd')).toEqual({ 'restart etcd': ['etcd-0', 'etcd-1', 'etcd-2'] });

    // Nothing changes any more (certs and binaries are in place), yet the owed restarts run.
    const second = await runWith([hosts('etcd: restart etcd'), etcd()]);
    expect(second.report.ok).toBe(true);
    expect(second.report.results.filter((result) => result.status === 'changed' && !result.handler)).toEqual([]);
    expect(restarts().sort()).toEqual(['etcd-0:restart etcd', 'etcd-1:restart etcd', 'etcd-2:restart etcd']);
    expect(second.state.owedHandlers('etcd')).toEqual({});
    expect(second.state.data.owedHandlers).toEqual({});

    // Settled: a third run restarts nothing.
    await runWith([hosts('etcd: restart etcd'), etcd()]);
    expect(restarts()).toHaveLength(3);
  });

  it('carries a notification from one step to the handler of the step that runs the service', async () => {
    await runWith([hosts('etcd: restart etcd'), etcd()]);
    expect(restarts()).toHaveLength(3);
    const before = restarts().length;
    // A new etcd version: the hosts step replaces the binary on the etcd members only where it
    // changed; the etcd step restarts exactly those, one at a time.
    world.values.get('etcd-2')!.set('binary', 'old');
    const { report, state } = await runWith([hosts('etcd: restart etcd'), etcd()]);
    expect(restarts().slice(before)).toEqual(['etcd-2:restart etcd']);
    expect(report.results.filter((result) => result.status === 'changed').map((result) => `${result.step}/${result.node}/${result.task}`)).toEqual(['hosts/etcd-2/binary', 'etcd/etcd-2/restart']);
    expect(state.data.owedHandlers).toEqual({});
    expect(world.maxRestartsInFlight).toBe(1);
  });

  it('leaves the restart owed when the step that owns the handler is not run, for the run that does', async () => {
    world.values.set('controller-0', new Map([['binary', 'x']]));
    const { state } = await runWith([hosts('etcd: restart etcd'), etcd()], { selection: { steps: ['hosts'] } });
    expect(restarts()).toEqual([]);
    // Every node notified (the hosts step runs everywhere); the etcd step runs them later.
    expect(state.owedHandlers('etcd')['restart etcd']).toEqual(['controller-0', 'etcd-0', 'etcd-1', 'etcd-2', 'lb-0']);
    const next = await runWith([hosts('etcd: restart etcd'), etcd()], { selection: { steps: ['etcd'] } });
    expect(restarts().sort()).toEqual(['etcd-0:restart etcd', 'etcd-1:restart etcd', 'etcd-2:restart etcd']);
    // Nodes that are not etcd members owe etcd nothing: dropped, not kept forever.
    expect(next.state.data.owedHandlers).toEqual({});
  });

  it('writes nothing to the state in a dry run, yet shows the restarts a run would do', async () => {
    const { report, state } = await runWith([hosts('etcd: restart etcd'), etcd()], { dryRun: true });
    expect(report.results.filter((result) => result.handler === 'restart etcd' && result.task === 'restart').map((result) => result.node).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    expect(state.data.owedHandlers ?? {}).toEqual({});
    expect(world.calls).toEqual([]);
  });
});

describe('notify names', () => {
  it('reads `step: handler` as another step\'s handler and a plain name as this step\'s', () => {
    expect(handlerRef('binaries', 'etcd: restart etcd')).toEqual({ step: 'etcd', handler: 'restart etcd' });
    expect(handlerRef('etcd', 'restart etcd')).toEqual({ step: 'etcd', handler: 'restart etcd' });
  });

  it('refuses, naming file and field, a notification of a handler no step has', async () => {
    const modules = testModules(world);
    await writeFile(join(dir, '10-hosts.yaml'), hosts('etcd: restart everything'));
    await writeFile(join(dir, '20-etcd.yaml'), etcd());
    const error = await loadPlaybooks(dir, modules).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SpecProblems);
    expect((error as SpecProblems).problems).toEqual([expect.objectContaining({ file: join(dir, '10-hosts.yaml'), field: 'notify', message: 'notifies "etcd: restart everything", but step etcd has no handler "restart everything"' })]);
    await writeFile(join(dir, '10-hosts.yaml'), hosts('etc: restart etcd'));
    expect(((await loadPlaybooks(dir, modules).catch((caught: unknown) => caught)) as SpecProblems).problems[0]?.message).toBe('notifies "etc: restart etcd", but there is no step etc');
  });
});
