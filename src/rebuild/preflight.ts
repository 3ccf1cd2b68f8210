// Before anything changes: which etcd member acts as the peer, the member list and each member's
// health read from etcd itself, the quorum arithmetic, and (haproxy) whether another apiserver
// serves. The result is the plan shown before confirming, and the refusals.
import { TaskError, UsageError } from '../errors.ts';
import { currentInventory, type RebuildContext } from './context.ts';
import type { EndpointHealth } from './endpoint-health.ts';
import type { EtcdPeer } from './etcdctl.ts';
import { loadBalancerProblems } from './loadbalancer.ts';
import { findMemberOf, type EtcdMember } from './member-list.ts';
import { endpointHealth, listMembers } from './members.ts';
import { findHealthyPeer } from './peer.ts';
import { assessRemoval, blockingProblems, type MemberView, type Problem, type RemovalAssessment } from './quorum.ts';

/** etcd as the peer sees it before anything changes. */
export interface EtcdView {
  peer: EtcdPeer;
  members: EtcdMember[];
  /** The target's member, when it is (still) listed. */
  target: EtcdMember | undefined;
  views: MemberView[];
  assessment: RemovalAssessment;
}

/** Everything the CLI shows before confirming, and what stops it. */
export interface PreflightResult {
  etcd?: EtcdView;
  problems: Problem[];
  /** The problems that stop the rebuild (all of them without --force). */
  blocking: Problem[];
}

/** Why: a member is healthy when etcd answers on one of its client URLs. */
function memberHealth(member: EtcdMember, health: Map<string, EndpointHealth>): { healthy: boolean; detail?: string } {
  if (!member.clientURLs.length) return { healthy: false, detail: member.status === 'unstarted' ? 'added but never started' : 'no client URL' };
  const answers = member.clientURLs.map((url) => health.get(url)).filter((answer): answer is EndpointHealth => answer !== undefined);
  if (answers.some((answer) => answer.healthy)) return { healthy: true };
  return { healthy: false, detail: answers[0]?.detail || 'no answer' };
}

/** Why: read etcd's own view through a peer; the rebuilt node is never asked (it may be dead). */
export async function readEtcdView(ctx: RebuildContext): Promise<EtcdView> {
  const nodes = currentInventory(ctx).nodes;
  const candidates = nodes.etcd().filter((node) => node.name !== ctx.node.name);
  const peer = await findHealthyPeer(candidates, ctx.peers, ctx.signal, ctx.log);
  const members = await listMembers(peer, ctx.signal);
  const target = findMemberOf(members, ctx.node);
  const health = await endpointHealth(peer, members.flatMap((member) => member.clientURLs), ctx.signal);
  const views = members.map((member): MemberView => {
    const known = nodes.etcd().find((node) => findMemberOf([member], node) === member);
    const { healthy, detail } = memberHealth(member, health);
    return {
      label: member.name || (known ? `${known.name} (member ${member.id}, ${member.status})` : `member ${member.id}`),
      voter: !member.learner,
      healthy,
      target: member === target,
      detail,
    };
  });
  return { peer, members, target, views, assessment: assessRemoval(views, ctx.node.name) };
}

/** Why: every refusal is decided before the first change, and said in one message. */
export async function preflight(ctx: RebuildContext): Promise<PreflightResult> {
  if (ctx.provider.name === 'static') {
    if (!ctx.wipe) {
      throw new UsageError(`the static provider cannot replace ${ctx.node.name}: pass --wipe to clear what hardway installed on it (etcd data, units, binaries, certificates) and provision it again`);
    }
    // The machine stays: it must answer before its member is removed.
    await ctx.peers.get(ctx.node, ctx.signal).catch((error: Error) => {
      throw new TaskError(`${ctx.node.name} must be reachable to be wiped (static hosts are not replaced): ${error.message.split('\n')[0]}`, { node: ctx.node.name });
    });
  }
  const problems: Problem[] = [];
  let etcd: EtcdView | undefined;
  if (ctx.node.roles.includes('etcd')) {
    etcd = await readEtcdView(ctx);
    problems.push(...etcd.assessment.problems);
  }
  problems.push(...(await loadBalancerProblems(ctx)));
  const blocking = blockingProblems(problems, ctx.force);
  return { etcd, problems, blocking };
}
