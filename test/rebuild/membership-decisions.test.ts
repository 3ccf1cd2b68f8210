// What the membership phases decide from the member list and the recorded progress: the cases an
// interrupted rebuild meets when it is run again.
import { describe, expect, it } from 'vitest';
import { parseMemberList } from '../../src/rebuild/member-list.ts';
import { decideJoin, decideRemoval, learnerSupported } from '../../src/rebuild/membership-decisions.ts';

const target = { name: 'etcd-1', internalIP: '10.243.77.21' };
const others = `2e1c3c6351bd281c, started, etcd-2, https://10.243.77.22:2380, https://10.243.77.22:2379, false
a385777caf91b4a6, started, etcd-0, https://10.243.77.20:2380, https://10.243.77.20:2379, false
`;
const withOld = parseMemberList(`${others}4be78d3bc1ee15aa, started, etcd-1, https://10.243.77.21:2380, https://10.243.77.21:2379, false\n`);
const withoutIt = parseMemberList(others);
const withLearner = parseMemberList(`${others}7361f08176891f, unstarted, , https://10.243.77.21:2380, , true\n`);

describe('decideRemoval', () => {
  it('removes the old member before the machine is replaced', () => {
    const decision = decideRemoval(withOld, target, { done: [] });
    expect(decision).toMatchObject({ action: 'remove', member: { id: '4be78d3bc1ee15aa' } });
  });

  it('does nothing when the member is already gone (a removal that committed before an interruption)', () => {
    expect(decideRemoval(withoutIt, target, { done: [] })).toMatchObject({ action: 'none', reason: 'etcd-1 is not a member (already removed)' });
  });

  it('never removes the member added for the new machine', () => {
    expect(decideRemoval(withLearner, target, { done: ['remove-member', 'replace'] }).action).toBe('none');
    expect(decideRemoval(withLearner, target, { done: [], newMemberId: '7361f08176891f' }).action).toBe('none');
  });

  it('removes an unstarted member at the address before the replacement', () => {
    expect(decideRemoval(withLearner, target, { done: [] })).toMatchObject({ action: 'remove', member: { id: '7361f08176891f' } });
  });
});

describe('decideJoin', () => {
  it('adds when no member is at the address', () => {
    expect(decideJoin(withoutIt, target).action).toBe('add');
  });

  it('adopts a member added by an interrupted run instead of adding a second one', () => {
    expect(decideJoin(withLearner, target)).toMatchObject({ action: 'adopt', member: { id: '7361f08176891f', learner: true } });
  });

  it('refuses a member of that name at another address', () => {
    const moved = parseMemberList(`${others}4be78d3bc1ee15aa, started, etcd-1, https://10.9.9.9:2380, https://10.9.9.9:2379, false\n`);
    expect(() => decideJoin(moved, target)).toThrow(/etcdctl member remove 4be78d3bc1ee15aa/);
  });
});

describe('learnerSupported', () => {
  it.each([
    ['3.5.16', true],
    ['3.4.23', true],
    ['v3.4.0', true],
    ['3.3.25', false],
    ['4.0.0', true],
    ['garbage', false],
  ] as const)('%s -> %s', (version, supported) => {
    expect(learnerSupported(version)).toBe(supported);
  });
});
