// What the membership phases do, decided from the real member list and the recorded progress, so
// running a phase twice (an interrupted rebuild run again) never removes or adds the wrong member.
import { findMemberOf, peerURLOf, type EtcdMember } from './member-list.ts';
import type { RebuildOperation } from './operation.ts';

interface Target {
  name: string;
  internalIP: string;
}

/** What remove-member does. */
export type RemovalDecision = { action: 'remove'; member: EtcdMember; reason: string } | { action: 'none'; reason: string };

/**
 * Why: before the machine is replaced, a member at the node's address is the old one and goes;
 * afterwards it can only be the one this rebuild added, which must stay.
 */
export function decideRemoval(members: readonly EtcdMember[], target: Target, operation: Pick<RebuildOperation, 'done' | 'newMemberId'>): RemovalDecision {
  const member = findMemberOf(members, target);
  if (!member) return { action: 'none', reason: `${target.name} is not a member (already removed)` };
  if (operation.done.includes('replace') || (operation.newMemberId && member.id === operation.newMemberId)) {
    return { action: 'none', reason: `member ${member.id} is the one added for the new machine` };
  }
  return { action: 'remove', member, reason: `remove member ${member.id} (${member.name || 'unnamed'}, ${member.status})` };
}

/** What add-member does. */
export type JoinDecision = { action: 'add'; reason: string } | { action: 'adopt'; member: EtcdMember; reason: string };

/**
 * Why: after the replacement, a member at the node's address was added by this rebuild (perhaps by
 * a run interrupted before it recorded the ID): adopt it rather than add a second one.
 */
export function decideJoin(members: readonly EtcdMember[], target: Target): JoinDecision {
  const url = peerURLOf(target);
  const atAddress = members.find((member) => member.peerURLs.includes(url));
  if (atAddress) return { action: 'adopt', member: atAddress, reason: `member ${atAddress.id} at ${url} is already added${atAddress.learner ? ' (learner)' : ''}` };
  const byName = members.find((member) => member.name === target.name);
  if (byName) {
    throw new Error(`a member named ${target.name} (${byName.id}) is listed with peer URLs ${byName.peerURLs.join(', ')}, not ${url}: remove it with etcdctl member remove ${byName.id}, then run the rebuild again`);
  }
  return { action: 'add', reason: `add ${target.name} at ${url}` };
}

/** Why: learners (3.4+) join without counting toward quorum until they have caught up. */
export function learnerSupported(etcdVersion: string): boolean {
  const match = /^v?(\d+)\.(\d+)/.exec(etcdVersion.trim());
  if (!match) return false;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major > 3 || (major === 3 && minor >= 4);
}
