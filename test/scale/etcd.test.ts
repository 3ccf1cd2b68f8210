// Scaling etcd: what the state and the spec say must change, the member list a joiner starts
// with, when a member may leave, and the --initial-cluster each member's unit keeps. The real
// 3 -> 5 -> 3 run is test/e2e/scale.test.ts.
import { describe, expect, it } from 'vitest';
import { StateStore } from '../../src/engine/state.ts';
import { etcdInitialClusterOf } from '../../src/engine/vars.ts';
import type { Node } from '../../src/inventory/node.ts';
import type { EtcdMember } from '../../src/rebuild/member-list.ts';
import { assessLeaving, etcdScaleChanges, joiningInitialCluster } from '../../src/scale/etcd.ts';

const member = (index: number): Node => ({ name: `etcd-${index}`, roles: ['etcd'], internalIP: `10.240.0.${20 + index}`, sshAddress: `10.240.0.${20 + index}`, sshPort: 22, user: 'root' });
const etcd = (count: number) => Array.from({ length: count }, (_, index) => member(index));
const listed = (index: number, over: Partial<EtcdMember> = {}): EtcdMember => ({ id: `a${index}`, status: 'started', name: `etcd-${index}`, peerURLs: [`https://10.240.0.${20 + index}:2380`], clientURLs: [`https://10.240.0.${20 + index}:2379`], learner: false, ...over });

function stateWith(done: string[], operations: Record<string, unknown> = {}): StateStore {
  const state = StateStore.inMemory('demo');
  state.data.steps.etcd = Object.fromEntries(done.map((name) => [name, { status: 'done' as const, at: '2026-12-02T00:00:00Z' }])) as never;
  Object.assign(state.data.operations, operations);
  return state;
}

describe('etcd scale changes', () => {
  it('nothing on a new cluster or a converged one', () => {
    expect(etcdScaleChanges(etcd(3), stateWith([]))).toMatchObject({ joiners: [], leavers: [] });
    expect(etcdScaleChanges(etcd(3), stateWith(['etcd-0', 'etcd-1', 'etcd-2']))).toMatchObject({ joiners: [], leavers: [] });
  });

  it('members the spec adds to a running cluster join; a half-done first bootstrap is not a scale-out', () => {
    expect(etcdScaleChanges(etcd(5), stateWith(['etcd-0', 'etcd-1', 'etcd-2'])).joiners.map((node) => node.name)).toEqual(['etcd-3', 'etcd-4']);
    // One joined already (an interrupted scale-out): only the other is left to join.
    expect(etcdScaleChanges(etcd(5), stateWith(['etcd-0', 'etcd-1', 'etcd-2'], { etcdJoined: { 'etcd-3': { state: 'existing', initialCluster: 'x' } } })).joiners.map((node) => node.name)).toEqual(['etcd-4']);
  });

  it('a member whose etcd step failed (a node down, a Ctrl-C mid-roll-out) is no joiner: it is a member already', () => {
    const state = stateWith(['etcd-0', 'etcd-1', 'etcd-2']);
    for (const name of ['etcd-1', 'etcd-2']) state.data.steps.etcd![name] = { status: 'failed', at: '2026-12-03T00:00:00Z' } as never;
    expect(etcdScaleChanges(etcd(3), state)).toMatchObject({ joiners: [], leavers: [] });
    expect(etcdScaleChanges(etcd(3), state).staying.map((node) => node.name)).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    // A dropped member whose last etcd step failed still leaves.
    expect(etcdScaleChanges(etcd(2), state).leavers).toEqual(['etcd-2']);
  });

  it('members the spec dropped leave', () => {
    expect(etcdScaleChanges(etcd(3), stateWith(['etcd-0', 'etcd-1', 'etcd-2', 'etcd-3', 'etcd-4']))).toMatchObject({ joiners: [], leavers: ['etcd-3', 'etcd-4'] });
  });
});

describe('a joining member', () => {
  it('starts with every member the cluster lists, itself included (not yet named), in the spec order', () => {
    const members = [listed(2), listed(0), listed(3, { name: '', status: 'unstarted', learner: true, clientURLs: [] }), listed(1)];
    expect(joiningInitialCluster(members, etcd(5))).toBe('etcd-0=https://10.240.0.20:2380,etcd-1=https://10.240.0.21:2380,etcd-2=https://10.240.0.22:2380,etcd-3=https://10.240.0.23:2380');
  });

  it('refuses a member list with a stranger it cannot name', () => {
    expect(() => joiningInitialCluster([listed(0), { ...listed(9), name: '', peerURLs: ['https://10.9.9.9:2380'] }], etcd(3))).toThrow(/matches no node of the spec/);
  });
});

describe('a leaving member', () => {
  it('may leave while the rest keep their quorum, not otherwise', () => {
    const five = [0, 1, 2, 3, 4].map((index) => ({ ...listed(index), healthy: true }));
    expect(assessLeaving(five, five[4]!)).toEqual({ ok: true });
    const threeDown = five.map((entry, index) => ({ ...entry, healthy: index < 2 }));
    expect(assessLeaving(threeDown, threeDown[4]!)).toEqual({ ok: false, reason: 'without etcd-4, 2 of 4 voting members are healthy, below the quorum of 3' });
    expect(assessLeaving([five[0]!], five[0]!)).toEqual({ ok: false, reason: 'removing etcd-0 would leave no voting member' });
  });
});

describe("a member's --initial-cluster", () => {
  it('is the spec on a new cluster, the recorded list for bootstrapped members after a scale, its own for a joined one', () => {
    const spec = etcd(5);
    expect(etcdInitialClusterOf({ state: stateWith([]) }, spec.slice(0, 3), spec[0])).toBe('etcd-0=https://10.240.0.20:2380,etcd-1=https://10.240.0.21:2380,etcd-2=https://10.240.0.22:2380');
    const scaled = stateWith(['etcd-0'], { etcdBootstrap: 'etcd-0=A,etcd-1=B,etcd-2=C', etcdJoined: { 'etcd-3': { state: 'existing', initialCluster: 'etcd-0=A,etcd-1=B,etcd-2=C,etcd-3=D' }, 'etcd-1': 'existing' } });
    expect(etcdInitialClusterOf({ state: scaled }, spec, spec[0])).toBe('etcd-0=A,etcd-1=B,etcd-2=C');
    expect(etcdInitialClusterOf({ state: scaled }, spec, spec[3])).toBe('etcd-0=A,etcd-1=B,etcd-2=C,etcd-3=D');
    // Rebuilt: it rejoined a cluster of every member of the spec.
    expect(etcdInitialClusterOf({ state: scaled }, spec, spec[1])).toContain('etcd-4=https://10.240.0.24:2380');
  });
});
