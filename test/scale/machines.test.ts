// Scaling controllers and workers: which machines the spec dropped (from the state), the order
// they leave in (a worker drained before the run; after it, its Node deleted, then the machine,
// then its records), and what plan says. The real runs are test/e2e/scale.test.ts (controllers)
// and test/e2e/lab-workers.test.ts (workers).
import { describe, expect, it } from 'vitest';
import { LOCAL, StateStore } from '../../src/engine/state.ts';
import type { Node, Role } from '../../src/inventory/node.ts';
import { describeDropped, drainDroppedWorkers, droppedMachines, hasDropped, removeDroppedMachines, stopDroppedControllers, type DroppedMachinesContext } from '../../src/scale/machines.ts';

const node = (name: string, role: Role, ip: number): Node => ({ name, roles: [role], internalIP: `10.240.0.${ip}`, sshAddress: `10.240.0.${ip}`, sshPort: 22, user: 'root' });
const done = { status: 'done' as const, at: '2026-12-03T00:00:00Z' };

function stateWith(steps: Record<string, string[]>): StateStore {
  const state = StateStore.inMemory('demo');
  for (const [step, names] of Object.entries(steps)) state.data.steps[step] = Object.fromEntries(names.map((name) => [name, done])) as never;
  return state;
}

const spec2x1 = [node('controller-0', 'controller', 10), node('controller-1', 'controller', 11), node('worker-0', 'worker', 40)];

describe('dropped machines', () => {
  it('nothing on a new cluster or a converged one', () => {
    expect(hasDropped(droppedMachines(spec2x1, stateWith({})))).toBe(false);
    expect(hasDropped(droppedMachines(spec2x1, stateWith({ 'control-plane': ['controller-0', 'controller-1'], workers: ['worker-0'], loadbalancer: [LOCAL] })))).toBe(false);
  });

  it('built controllers and workers the spec no longer lists, a step that failed there included', () => {
    const state = stateWith({ 'control-plane': ['controller-0', 'controller-1', 'controller-2'], workers: ['worker-0', 'worker-1', 'worker-2'] });
    state.data.steps.workers!['worker-2'] = { status: 'failed', at: done.at } as never;
    expect(droppedMachines(spec2x1, state)).toEqual({ controllers: ['controller-2'], workers: ['worker-1', 'worker-2'] });
  });

  it('leaves to etcd the members it removes itself (a stacked controller)', () => {
    const state = stateWith({ 'control-plane': ['controller-0', 'controller-1', 'controller-2'] });
    expect(droppedMachines(spec2x1, state, ['controller-2'])).toEqual({ controllers: [], workers: [] });
  });

  it('plan names each leaving machine and what happens to it', () => {
    const lines = describeDropped({ controllers: ['controller-2'], workers: ['worker-1'] });
    expect(lines).toEqual([
      'drain worker worker-1 before the run (PodDisruptionBudgets hold), and after it delete its Node object and remove its machine',
      "stop controller controller-2's control plane before the run (it leaves the load balancer while it still serves), take it out of the haproxy config in the loadbalancer step, and after the run remove its machine",
    ]);
  });
});

describe('leaving in order', () => {
  const context = (state: StateStore, events: string[]): DroppedMachinesContext => ({
    state,
    drain: async (name) => (events.push(`drain ${name}`), `drained ${name}`),
    stopUnits: async (name, units) => (events.push(`stop ${units.join(' ')} on ${name}`), `stopped on ${name}`),
    deleteNode: async (name) => (events.push(`delete node ${name}`), `deleted ${name}`),
    removeMachine: async (name) => (events.push(`remove machine ${name} (records: ${Object.keys(state.data.steps['control-plane'] ?? {}).concat(Object.keys(state.data.steps.workers ?? {})).includes(name)})`), `removed ${name}`),
    log: (line) => events.push(`log: ${line}`),
  });

  it('drains only workers before the run; afterwards deletes the Node, removes the machine, then forgets its records', async () => {
    const state = stateWith({ 'control-plane': ['controller-0', 'controller-2'], workers: ['worker-0', 'worker-1'], hosts: ['controller-2', 'worker-1', 'worker-0'] });
    const dropped = { controllers: ['controller-2'], workers: ['worker-1'] };
    const events: string[] = [];
    expect(await drainDroppedWorkers(context(state, events), dropped)).toEqual(['drained worker-1']);
    expect(events).toEqual(['drain worker-1', 'log: drained worker-1']);
    events.length = 0;
    // A dropped controller stops leading before the run: its control plane is stopped, nothing else.
    expect(await stopDroppedControllers(context(state, events), dropped)).toEqual(['stopped on controller-2']);
    expect(events).toEqual(['stop kube-apiserver kube-controller-manager kube-scheduler on controller-2', 'log: stopped on controller-2']);
    events.length = 0;
    expect(await removeDroppedMachines(context(state, events), dropped)).toEqual(['deleted worker-1', 'removed worker-1', 'removed controller-2']);
    expect(events.filter((event) => !event.startsWith('log:'))).toEqual(['delete node worker-1', 'remove machine worker-1 (records: true)', 'remove machine controller-2 (records: true)']);
    // Gone from every step's records: the next run finds nothing dropped, and nothing owed to them.
    expect(Object.keys(state.data.steps.hosts!)).toEqual(['worker-0']);
    expect(hasDropped(droppedMachines(spec2x1, state))).toBe(false);
  });

  it('a failed machine removal keeps the records, so the next up tries again', async () => {
    const state = stateWith({ workers: ['worker-0', 'worker-1'] });
    const failing: DroppedMachinesContext = { ...context(state, []), removeMachine: async () => Promise.reject(new Error('no such machine')) };
    await expect(removeDroppedMachines(failing, { controllers: [], workers: ['worker-1'] })).rejects.toThrow('no such machine');
    expect(droppedMachines(spec2x1, state).workers).toEqual(['worker-1']);
  });
});
