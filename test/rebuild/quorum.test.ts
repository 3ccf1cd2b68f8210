// The refusal rules as a table: members (voter? healthy? target?) -> problems.
import { describe, expect, it } from 'vitest';
import { assessRemoval, blockingProblems, quorumOf, type MemberView } from '../../src/rebuild/quorum.ts';

describe('quorumOf', () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [7, 4],
  ])('%i voters need %i', (voters, quorum) => {
    expect(quorumOf(voters)).toBe(quorum);
  });
});

/** `H`ealthy, `U`nhealthy, `L`earner (healthy); a leading `*` marks the target. */
function members(spec: string): MemberView[] {
  return spec.split(' ').map((code, index) => {
    const target = code.startsWith('*');
    const kind = code.replace('*', '');
    return { label: `etcd-${index}`, voter: kind !== 'L', healthy: kind !== 'U', target, detail: kind === 'U' ? 'connection refused' : undefined };
  });
}

describe('assessRemoval', () => {
  it.each([
    // members, problem kinds, healthy after, voters after
    ['*H H H', [], 2, 2],
    ['*U H H', [], 2, 2],
    ['*H H U', ['unhealthy', 'quorum'], 1, 2],
    ['*U U H', ['unhealthy', 'impossible'], 1, 2],
    ['*H H H H H', [], 4, 4],
    ['*H H H H U', ['unhealthy'], 3, 4],
    ['*H H H U U', ['unhealthy', 'unhealthy', 'quorum'], 2, 4],
    ['*H', ['impossible'], 0, 0],
    // Resumed after the removal: the target is gone or a learner.
    ['H H', [], 2, 2],
    ['*L H H', [], 2, 2],
    ['H U', ['unhealthy', 'impossible'], 1, 2],
  ] as const)('%s -> %j', (spec, kinds, healthyAfter, votersAfter) => {
    const assessment = assessRemoval(members(spec), 'etcd-0');
    expect(assessment.problems.map((problem) => problem.kind)).toEqual(kinds);
    expect(assessment.healthyAfter).toBe(healthyAfter);
    expect(assessment.votersAfter).toBe(votersAfter);
  });

  it('names the unhealthy member and the arithmetic', () => {
    const { problems } = assessRemoval(members('*H H U'), 'etcd-0');
    expect(problems[0]!.message).toBe('another member is already unhealthy: etcd-2 (connection refused)');
    expect(problems[1]!.message).toBe('removing etcd-0 (a healthy member) would lose quorum: 1 of the 2 remaining voting members are healthy, quorum needs 2');
  });

  it('lets --force through everything but the impossible', () => {
    const risky = assessRemoval(members('*H H U'), 'etcd-0').problems;
    expect(blockingProblems(risky, false)).toHaveLength(2);
    expect(blockingProblems(risky, true)).toEqual([]);
    const alone = assessRemoval(members('*H'), 'etcd-0').problems;
    expect(blockingProblems(alone, true).map((problem) => problem.kind)).toEqual(['impossible']);
  });
});
