import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunContext } from '../../src/modules/module.ts';
import { buildGraph } from '../../src/engine/graph.ts';
import { formatRecap, reportJson } from '../../src/engine/recap.ts';
import { chooseRenderer, runSteps } from '../../src/engine/runner.ts';
import { selectSteps, type Selection } from '../../src/engine/select.ts';
import { StateStore } from '../../src/engine/state.ts';
import { testRunContext } from '../helpers/context.ts';
import { newWorld, testModules, type World } from '../helpers/modules.ts';
import { playbook, sampleTexts } from './playbooks.ts';

let dir: string;
let world: World;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-runner-'));
  world = newWorld();
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function setup(texts: Record<string, string>, options: { concurrency?: number; dryRun?: boolean } = {}): Promise<{ run: RunContext; go: (selection?: Selection) => ReturnType<typeof runSteps> }> {
  const modules = testModules(world);
  const graph = buildGraph(Object.entries(texts).map(([file, text]) => playbook(modules, text, file)));
  const state = await StateStore.open(dir, 'test');
  const run = testRunContext({ clusterDir: dir, state, modules, options: { concurrency: options.concurrency ?? 10, dryRun: options.dryRun ?? false } });
  const go = async (selection: Selection = {}) => {
    const selected = selectSteps(graph, run.inventory.nodes, selection, (step, node) => run.state.stepRecord(step, node)?.status === 'done');
    expect(selected.missing).toEqual([]);
    return runSteps(run, selected.steps, 'silent');
  };
  return { run, go };
}

describe('runSteps', () => {
  it('runs steps in order, each node\'s tasks in order, then the once barrier, and records the state', async () => {
    const { run, go } = await setup(sampleTexts());
    const report = await go();
    expect(report.ok).toBe(true);
    const order = world.calls;
    // Local steps first, then every node's hostname, then etcd, then the control plane.
    expect(order.slice(0, 2)).toEqual(['local:infra', 'local:pki']);
    const index = (call: string) => order.indexOf(call);
    for (const node of ['etcd-0', 'etcd-1', 'etcd-2']) {
      expect(index(`${node}:hostname`)).toBeLessThan(index(`${node}:cert`));
      expect(index(`${node}:cert`)).toBeLessThan(index(`${node}:unit`));
      // The once task waits for every node's earlier tasks.
      expect(index(`${node}:unit`)).toBeLessThan(index('etcd-0:probe etcd'));
    }
    expect(order.filter((call) => call.includes('probe'))).toEqual(['etcd-0:probe etcd']);
    expect(index('etcd-0:probe etcd')).toBeLessThan(index('controller-0:unit'));
    expect(run.state.stepRecord('etcd', 'etcd-1')).toMatchObject({ status: 'done', changed: 3 });
    expect(run.state.stepRecord('pki', 'local')).toMatchObject({ status: 'done', changed: 1 });
    // Persisted: a fresh store reads the same.
    expect((await StateStore.open(dir, 'test')).stepRecord('hosts', 'lb-0')?.status).toBe('done');
  });

  it('runs a workstation task of a step on nodes after every node, and alone where the step has no node', async () => {
    const { run, go } = await setup({
      'a.yaml': `step: lb\ntitle: LB\nhosts: role:lb\ntasks:\n  - name: config\n    set: { key: cfg, value: v1 }\n  - name: register\n    note: { key: targets }\n`,
      'b.yaml': `step: pods\ntitle: Pods\nneeds: [lb]\nhosts: role:worker\ntasks:\n  - name: start\n    set: { key: pod, value: x }\n  - name: announce\n    note: { key: pods }\n`,
    });
    const report = await go();
    expect(report.ok).toBe(true);
    expect(world.calls.filter((call) => call.startsWith('local:'))).toEqual(['local:targets', 'local:pods']);
    expect(world.calls.indexOf('lb-0:config')).toBeGreaterThanOrEqual(0);
    expect(world.calls.indexOf('lb-0:config')).toBeLessThan(world.calls.indexOf('local:targets'));
    expect(report.results.filter((result) => result.task === 'register').map((result) => result.node)).toEqual(['local']);
    // Recorded where it ran: the lb node and the workstation; the step without workers on the workstation only.
    expect(run.state.stepRecord('lb', 'lb-0')?.status).toBe('done');
    expect(run.state.stepRecord('lb', 'local')?.status).toBe('done');
    expect(run.state.stepRecord('pods', 'local')?.status).toBe('done');
    // --nodes narrows the run to nodes: a step without any of them runs nothing on the workstation either.
    world.calls.length = 0;
    const narrowed = await go({ nodes: ['etcd-0'] });
    expect(narrowed.steps).toEqual([]);
  });

  it('fires a handler only where a notifying task changed, serially, and not at all on a re-run', async () => {
    const { go } = await setup(sampleTexts());
    const first = await go();
    const restarts = world.calls.filter((call) => call.endsWith('restart etcd'));
    expect(restarts.sort()).toEqual(['etcd-0:restart etcd', 'etcd-1:restart etcd', 'etcd-2:restart etcd']);
    expect(first.results.filter((result) => result.handler === 'restart etcd')).toHaveLength(3);
    expect(world.maxInFlight).toBeGreaterThan(1);

    world.values.get('etcd-1')!.set('unit', 'old');
    const second = await go({ steps: ['etcd'] });
    expect(world.calls.filter((call) => call.endsWith('restart etcd'))).toHaveLength(4);
    expect(second.results.filter((result) => result.status === 'changed').map((result) => `${result.node}:${result.task}`)).toEqual(['etcd-1:unit', 'etcd-1:restart']);

    const calls = world.calls.length;
    const third = await go();
    expect(world.calls.slice(calls).filter((call) => !call.includes('probe'))).toEqual([]);
    expect(third.results.filter((result) => result.status === 'changed')).toEqual([]);
    expect(formatRecap(third)).toMatch(/5 steps \(infra, pki, hosts, etcd, control-plane\), \d+ ok, 0 changed, 0 failed/);
    // Where the time went, per step, in the order they ran.
    expect(formatRecap(third)).toMatch(/^time per step: infra \d+\.\ds, pki \d+\.\ds, hosts \d+\.\ds, etcd \d+\.\ds, control-plane \d+\.\ds$/m);
  });

  it('says in the recap and the JSON what the run cost in SSH: connections and round trips per remote task', () => {
    const result = (node: string, reason = 'fine') => ({ step: 'etcd', node, task: 't', module: 'm', status: 'ok' as const, reason, durationMs: 1 });
    const report = {
      ok: true,
      dryRun: false,
      steps: ['etcd'],
      // Local tasks and tasks whose `when:` does not hold reach no node: they do not count.
      results: [result('etcd-0'), result('etcd-0'), result('etcd-1'), result('etcd-1'), result('local'), result('etcd-1', 'skipped: only with provider aws (this is lab)')],
      durationMs: 10,
      stepDurations: [{ step: 'etcd', durationMs: 10 }],
      roundTrips: { 'etcd-0': { connections: 1, execs: 2, sftp: 1 }, 'etcd-1': { connections: 1, execs: 2, sftp: 0 } },
    };
    expect(formatRecap(report)).toContain('ssh: 2 connections to 2 nodes, 5 round trips (4 execs, 1 SFTP) for 4 remote tasks: 1.25 per task');
    expect(reportJson(report)).toMatchObject({ ssh: { connections: 2, roundTrips: 5, remoteTasks: 4, perTask: 1.25, perNode: report.roundTrips } });
    // No counts (a test pool, a run with no node): no line.
    expect(formatRecap({ ...report, roundTrips: undefined })).not.toContain('ssh:');
  });

  it('runs a serial handler one node at a time, a parallel one on all nodes at once', async () => {
    const text = (serial: boolean) =>
      `step: s\ntitle: S\nhosts: role:etcd\ntasks:\n  - name: t\n    set: { key: k, value: v }\n    notify: h\nhandlers:\n  - name: h\n    serial: ${serial}\n    tasks:\n      - name: r\n        restart: { service: x }\n`;
    const { go } = await setup({ 'a.yaml': text(true) });
    await go();
    expect(world.calls.filter((call) => call.endsWith('restart x'))).toHaveLength(3);
    expect(world.maxRestartsInFlight).toBe(1);

    world = newWorld();
    const { go: parallel } = await setup({ 'a.yaml': text(false) });
    await parallel();
    expect(world.maxRestartsInFlight).toBe(3);
  });

  it('bounds how many nodes run at once by --concurrency', async () => {
    const texts = { 'a.yaml': `step: s\ntitle: S\nhosts: all\ntasks:\n  - name: t\n    set: { key: k, value: v, delayMs: 30 }\n` };
    const { go } = await setup(texts, { concurrency: 2 });
    await go();
    expect(world.calls).toHaveLength(6);
    expect(world.maxInFlight).toBe(2);
    const { go: wide } = await setup({ 'a.yaml': texts['a.yaml'].replace('value: v', 'value: w') }, { concurrency: 10 });
    world.maxInFlight = 0;
    await wide();
    expect(world.maxInFlight).toBe(6);
  });

  it('stops at a failed node: other nodes finish the phase, later steps do not run, the state says failed', async () => {
    const texts = {
      ...sampleTexts(),
      'c-hosts.yaml': `step: hosts\ntitle: Hosts\nneeds: [infra]\nhosts: all\ntasks:\n  - name: check\n    fail: { on: [etcd-1] }\n  - name: hostname\n    set: { key: hostname, value: "\${node.name}" }\n`,
    };
    const { run, go } = await setup(texts);
    const report = await go();
    expect(report.ok).toBe(false);
    const failed = report.results.filter((result) => result.status === 'failed');
    expect(failed.map((result) => [result.step, result.node, result.task, result.reason])).toEqual([['hosts', 'etcd-1', 'check', 'boom on etcd-1']]);
    expect(world.calls).toContain('etcd-0:hostname');
    expect(world.calls).not.toContain('etcd-1:hostname');
    expect(world.calls.some((call) => call.endsWith(':cert'))).toBe(false);
    expect(run.state.stepRecord('hosts', 'etcd-1')?.status).toBe('failed');
    expect(run.state.stepRecord('hosts', 'etcd-0')?.status).toBe('done');
    expect(run.state.data.steps.etcd).toBeUndefined();
    const recap = formatRecap(report);
    expect(recap).toMatch(/FAILED \[step hosts, node etcd-1, task "check"\]\n  boom on etcd-1/);
    expect(recap).toMatch(/etcd-1\s+0\s+0\s+1\s+0/);
    const json = reportJson(report) as { ok: boolean; totals: { failed: number } };
    expect(json.ok).toBe(false);
    expect(json.totals.failed).toBe(1);
  });

  it('in a dry run reports what would change, changes nothing and records nothing', async () => {
    const { run, go } = await setup(sampleTexts(), { dryRun: true });
    const report = await go();
    expect(world.calls).toEqual([]);
    expect(report.results.find((result) => result.node === 'etcd-0' && result.task === 'cert')).toMatchObject({ status: 'changed', reason: 'would cert: unset -> v1' });
    expect(run.state.data.steps).toEqual({});
    expect(formatRecap(report)).toMatch(/dry run: nothing was changed/);
  });

  it('counts a probe as ok, not changed', async () => {
    const { go } = await setup(sampleTexts());
    const report = await go();
    expect(report.results.find((result) => result.task === 'health')).toMatchObject({ status: 'ok', reason: 'etcd healthy' });
  });
});

describe('chooseRenderer', () => {
  it.each([
    [{ json: true, verbose: true, isTTY: true, ci: false }, 'silent'],
    [{ json: false, verbose: true, isTTY: true, ci: false }, 'verbose'],
    [{ json: false, verbose: false, isTTY: false, ci: false }, 'simple'],
    [{ json: false, verbose: false, isTTY: true, ci: true }, 'simple'],
    [{ json: false, verbose: false, isTTY: true, ci: false }, 'default'],
  ] as const)('%j -> %s', (options, renderer) => {
    expect(chooseRenderer(options)).toBe(renderer);
  });
});
