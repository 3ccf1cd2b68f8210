// Which phases a rebuild runs, and which remain when it is run again after an interruption.
import { describe, expect, it } from 'vitest';
import { StateStore } from '../../src/engine/state.ts';
import { beginOperation, completePhase, finishOperation, pendingPhases, plannedPhases, readOperation, updateOperation, type Phase } from '../../src/rebuild/operation.ts';

describe('plannedPhases', () => {
  it.each([
    [['etcd'], 'haproxy', ['remove-member', 'replace', 'prepare', 'add-member', 'start-member', 'provision']],
    [['controller'], 'haproxy', ['lb-out', 'replace', 'prepare', 'provision', 'lb-in']],
    [['controller'], 'nlb', ['lb-out', 'replace', 'prepare', 'provision', 'lb-in']],
    [['controller'], 'none', ['replace', 'prepare', 'provision']],
    [['controller', 'etcd'], 'nlb', ['lb-out', 'remove-member', 'replace', 'prepare', 'add-member', 'start-member', 'provision', 'lb-in']],
    [['lb'], 'haproxy', ['replace', 'prepare', 'provision']],
  ] as const)('%j behind %s', (roles, lb, phases) => {
    expect(plannedPhases(roles, lb)).toEqual(phases);
  });
});

describe('pendingPhases', () => {
  const stacked = plannedPhases(['controller', 'etcd'], 'haproxy');
  const op = (done: Phase[]) => ({ node: 'controller-0', startedAt: '', done });

  it('runs everything on a fresh rebuild', () => {
    expect(pendingPhases(stacked, undefined)).toEqual(stacked);
  });

  it('skips completed phases, but takes the controller out of the load balancer again until it is back', () => {
    expect(pendingPhases(stacked, op(['lb-out', 'remove-member']))).toEqual(['lb-out', 'replace', 'prepare', 'add-member', 'start-member', 'provision', 'lb-in']);
    expect(pendingPhases(stacked, op(['lb-out', 'remove-member', 'replace', 'prepare', 'add-member', 'start-member', 'provision']))).toEqual(['lb-out', 'lb-in']);
    expect(pendingPhases(stacked, op([...stacked]))).toEqual([]);
  });
});

describe('the recorded operation', () => {
  it('survives in the state phase by phase and is removed when finished, keeping etcdJoined', async () => {
    const state = StateStore.inMemory('c');
    const started = await beginOperation(state, 'etcd-1', new Date('2030-01-01T00:00:00Z'));
    expect(started).toEqual({ node: 'etcd-1', startedAt: '2030-01-01T00:00:00.000Z', done: [] });
    await updateOperation(state, { oldMemberId: 'a385777caf91b4a6' });
    await completePhase(state, 'remove-member');
    await completePhase(state, 'remove-member');
    await updateOperation(state, { newMemberId: '7361f08176891f' }, (draft) => {
      draft.operations.etcdJoined = { 'etcd-1': 'existing' };
    });
    // Running it again continues the same record.
    expect(await beginOperation(state, 'etcd-1')).toEqual({ node: 'etcd-1', startedAt: '2030-01-01T00:00:00.000Z', done: ['remove-member'], oldMemberId: 'a385777caf91b4a6', newMemberId: '7361f08176891f' });
    await finishOperation(state);
    expect(readOperation(state)).toBeUndefined();
    expect(state.data.operations.etcdJoined).toEqual({ 'etcd-1': 'existing' });
  });
});
