// Quorum arithmetic for replacing one etcd member: remove first, then add (PITFALLS, etcd), so the
// cluster must keep a quorum of healthy voters both now (to commit the removal) and with one voter
// fewer (until the new member is promoted).

/** Why: a raft cluster of n voters commits only with a majority of them. */
export function quorumOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** A member as the quorum rules see it. */
export interface MemberView {
  /** The node name, or the member ID when the member is not (yet) named. */
  label: string;
  /** Voting member (not a learner). */
  voter: boolean;
  healthy: boolean;
  /** The member being rebuilt (matched by peer URL). */
  target: boolean;
  /** Why it is unhealthy, from etcdctl. */
  detail?: string;
}

/** How serious a problem is: what --force may override. */
export type ProblemKind =
  /** Another member is unhealthy already: --force overrides. */
  | 'unhealthy'
  /** Removing the target leaves fewer healthy voters than the quorum: --force overrides. */
  | 'quorum'
  /** No quorum now, or nothing would be left: nothing can be committed, --force cannot help. */
  | 'impossible';

/** One reason to refuse, in words for the user. */
export interface Problem {
  kind: ProblemKind;
  message: string;
}

/** The arithmetic and its verdict, shown in the plan. */
export interface RemovalAssessment {
  votersNow: number;
  healthyNow: number;
  votersAfter: number;
  healthyAfter: number;
  quorumAfter: number;
  problems: Problem[];
}

/** Why: the refusal rules of DESIGN §8 as a pure function of the member list and health. */
export function assessRemoval(members: readonly MemberView[], targetName: string): RemovalAssessment {
  const others = members.filter((member) => !member.target);
  const target = members.find((member) => member.target);
  const voters = members.filter((member) => member.voter);
  const votersNow = voters.length;
  const healthyNow = voters.filter((member) => member.healthy).length;
  const votersAfter = others.filter((member) => member.voter).length;
  const healthyAfter = others.filter((member) => member.voter && member.healthy).length;
  const quorumAfter = quorumOf(votersAfter);
  const problems: Problem[] = [];

  for (const member of others.filter((candidate) => !candidate.healthy)) {
    problems.push({ kind: 'unhealthy', message: `another member is already unhealthy: ${member.label}${member.detail ? ` (${member.detail})` : ''}` });
  }
  if (votersAfter === 0) {
    problems.push({
      kind: 'impossible',
      message: `${targetName} is the only voting etcd member: rebuilding it would lose every key (back it up with \`etcdctl snapshot save\` and restore it instead)`,
    });
  } else if (votersNow > 0 && healthyNow < quorumOf(votersNow)) {
    problems.push({ kind: 'impossible', message: `the etcd cluster has lost quorum already: ${healthyNow} of ${votersNow} voting members are healthy, ${quorumOf(votersNow)} are needed to commit anything` });
  } else if (healthyAfter < quorumAfter) {
    const targetState = target ? (target.healthy ? 'a healthy member' : 'an unhealthy member') : 'the member';
    problems.push({
      kind: 'quorum',
      message: `removing ${targetName} (${targetState}) would lose quorum: ${healthyAfter} of the ${votersAfter} remaining voting members are healthy, quorum needs ${quorumAfter}`,
    });
  }
  return { votersNow, healthyNow, votersAfter, healthyAfter, quorumAfter, problems };
}

/** Problems that stop the rebuild: every one without --force, only `impossible` ones with it. */
export function blockingProblems(problems: readonly Problem[], force: boolean): Problem[] {
  return problems.filter((problem) => !force || problem.kind === 'impossible');
}
