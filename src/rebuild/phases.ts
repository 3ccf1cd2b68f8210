// The rebuild's phases. Each one looks at the real state first (is the member still listed? is it
// a learner?) so that running it again after an interruption finishes the work instead of
// repeating it. Each returns the line the progress log shows.
import type { StateData } from '../engine/state.ts';
import { TaskError } from '../errors.ts';
import { WIPE_COMMAND } from '../providers/static/wipe.ts';
import { currentNode, providerContextOf, type RebuildContext } from './context.ts';
import { ETCD_DATA_DIR, type EtcdPeer } from './etcdctl.ts';
import { drainWorker, uncordonWorker } from './drain.ts';
import { putBackIntoLoadBalancer, takeOutOfLoadBalancer } from './loadbalancer.ts';
import { peerURLOf } from './member-list.ts';
import { decideJoin, decideRemoval, learnerSupported } from './membership-decisions.ts';
import { addMember, listMembers, promoteWhenCaughtUp, removeMember, waitMemberHealthy } from './members.ts';
import { completePhase, updateOperation, type Phase, type RebuildOperation } from './operation.ts';

/** Where the rebuilt node's etcd keeps its data (units/etcd.service --data-dir). */
const PROMOTE_MS = 180_000;
const HEALTHY_MS = 60_000;

/** What a phase is given. */
export interface PhaseInput {
  ctx: RebuildContext;
  operation: RebuildOperation;
  /** The etcd member acted through (etcd nodes only). */
  peer: () => Promise<EtcdPeer>;
}

/** What a phase reports: its progress line and the updated record. */
export interface PhaseOutcome {
  line: string;
  operation: RebuildOperation;
}

type PhaseRunner = (input: PhaseInput) => Promise<PhaseOutcome>;

/** The node's steps after etcd: its control plane, its load balancer, then verify. */
export function provisionSteps(roles: readonly string[]): string[] {
  return [
    ...(roles.includes('controller') ? ['control-plane'] : []),
    ...(roles.includes('lb') ? ['loadbalancer'] : []),
    'routes',
    ...(roles.includes('worker') ? ['container-runtime', 'images', 'workers'] : []),
    'verify',
  ];
}

async function done(input: PhaseInput, phase: Phase, line: string, also?: (draft: StateData) => void): Promise<PhaseOutcome> {
  return { line, operation: await completePhase(input.ctx.state, phase, also) };
}

const lbOut: PhaseRunner = async (input) => done(input, 'lb-out', await takeOutOfLoadBalancer(input.ctx));

const removeMemberPhase: PhaseRunner = async (input) => {
  const { ctx } = input;
  const peer = await input.peer();
  const decision = decideRemoval(await listMembers(peer, ctx.signal), ctx.node, input.operation);
  if (decision.action === 'none') return done(input, 'remove-member', decision.reason);
  // Recorded first: an interrupted run still knows which ID was the old one.
  await updateOperation(ctx.state, { oldMemberId: decision.member.id });
  await removeMember(peer, decision.member.id, ctx.signal);
  return done(input, 'remove-member', `removed member ${decision.member.id} (${decision.member.name || ctx.node.name}) via ${peer.node.name}`);
};

const replacePhase: PhaseRunner = async (input) => {
  const { ctx } = input;
  let line: string;
  if (ctx.provider.name === 'static') {
    const transport = await ctx.nodes.get(ctx.node, ctx.signal);
    await transport.exec(WIPE_COMMAND, { signal: ctx.signal, timeoutMs: 120_000 });
    line = `wiped hardway's units, binaries, data and certificates on ${ctx.node.name} (static hosts are kept)`;
  } else {
    await ctx.provider.replace(providerContextOf(ctx), ctx.node);
    // The new machine has a new host key: forget the old one; the first connection pins the new one.
    for (const node of [ctx.node, currentNode(ctx)]) {
      await ctx.nodes.forget?.(node);
      await ctx.peers.forget?.(node);
    }
    line = `replaced ${ctx.node.name} (${ctx.provider.name}: a fresh machine at ${ctx.node.internalIP}); its old host key is forgotten`;
  }
  // What ran on the old machine says nothing about the new one.
  return done(input, 'replace', line, (draft) => {
    for (const records of Object.values(draft.steps)) delete records[ctx.node.name];
    delete draft.facts[ctx.node.name];
    delete draft.fileStamps?.[ctx.node.name];
  });
};

const preparePhase: PhaseRunner = async (input) => {
  await input.ctx.runSteps(['pki', 'hosts', 'binaries']);
  return done(input, 'prepare', 'pki, hosts and binaries done');
};

const addMemberPhase: PhaseRunner = async (input) => {
  const { ctx } = input;
  const peer = await input.peer();
  const decision = decideJoin(await listMembers(peer, ctx.signal), ctx.node);
  let id: string;
  let line: string;
  if (decision.action === 'adopt') {
    id = decision.member.id;
    line = decision.reason;
  } else {
    // Not a member: any data dir on the node belongs to a removed member and would make etcd exit.
    const transport = await ctx.nodes.get(currentNode(ctx), ctx.signal);
    await transport.exec(`systemctl stop etcd 2>/dev/null || true; rm -rf ${ETCD_DATA_DIR}`, { signal: ctx.signal });
    const learner = learnerSupported(ctx.spec.versions.etcd);
    id = await addMember(peer, ctx.node, learner, ctx.signal);
    line = `added member ${id} for ${ctx.node.name} at ${peerURLOf(ctx.node)}${learner ? ' as a learner' : ''} via ${peer.node.name}`;
  }
  // The unit renders --initial-cluster-state=existing for this node from now on (and keeps it).
  await updateOperation(ctx.state, { newMemberId: id }, (draft) => {
    draft.operations.etcdJoined = { ...(draft.operations.etcdJoined as Record<string, string> | undefined), [ctx.node.name]: 'existing' };
  });
  return done(input, 'add-member', line);
};

const startMemberPhase: PhaseRunner = async (input) => {
  const { ctx } = input;
  const peer = await input.peer();
  const id = input.operation.newMemberId;
  if (!id) throw new TaskError(`no new member ID recorded for ${ctx.node.name}`, { node: ctx.node.name });
  // The etcd step waits until every member is healthy, which a learner is not until promoted: promote
  // it alongside, as soon as it has caught up.
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  const promotion = promoteWhenCaughtUp(peer, id, { signal, timeoutMs: PROMOTE_MS });
  promotion.catch(() => undefined);
  try {
    await ctx.runSteps(['etcd']);
  } catch (error) {
    stop.abort(new Error('the etcd step failed'));
    throw error;
  }
  const { outcome, attempts } = await promotion;
  await waitMemberHealthy(peer, ctx.node, { signal: ctx.signal, timeoutMs: HEALTHY_MS });
  const members = await listMembers(peer, ctx.signal);
  const member = members.find((candidate) => candidate.id === id);
  if (!member || member.learner || member.status !== 'started') {
    throw new TaskError(`member ${id} of ${ctx.node.name} is ${member ? `${member.status}${member.learner ? ', still a learner' : ''}` : 'not listed'}`, { node: ctx.node.name });
  }
  return done(input, 'start-member', `member ${id} started${outcome === 'promoted' ? `, promoted to voter (attempt ${attempts})` : ''} and healthy; ${members.length} members`);
};

const provisionPhase: PhaseRunner = async (input) => {
  const steps = provisionSteps(input.ctx.node.roles);
  await input.ctx.runSteps(steps);
  return done(input, 'provision', `${steps.join(', ')} done`);
};

const drain: PhaseRunner = async (input) => done(input, 'drain', input.ctx.force ? `--force: ${input.ctx.node.name} is not drained` : await drainWorker(input.ctx));

const uncordon: PhaseRunner = async (input) => done(input, 'uncordon', await uncordonWorker(input.ctx));

const lbIn: PhaseRunner = async (input) => done(input, 'lb-in', await putBackIntoLoadBalancer(input.ctx));

/** Why: the orchestrator runs phases by name; their order lives in operation.ts. */
export const PHASE_RUNNERS: Record<Phase, PhaseRunner> = {
  'lb-out': lbOut,
  drain,
  'remove-member': removeMemberPhase,
  replace: replacePhase,
  prepare: preparePhase,
  'add-member': addMemberPhase,
  'start-member': startMemberPhase,
  provision: provisionPhase,
  uncordon,
  'lb-in': lbIn,
};
