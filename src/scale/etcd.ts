// Scaling etcd through the spec and `hardway up` (issue 16), as the etcd runtime-reconfiguration
// guide does it: one member at a time, through a healthy member. A new member is added (a learner
// where supported), starts with --initial-cluster-state=existing and the member list it joined,
// is promoted and waited healthy before the next. A member the spec no longer lists is removed
// from the cluster (refused when the rest would lose quorum) and only then is its machine removed.
// The members that stay keep the unit they started with, so they restart for nothing.
import type { TranscriptEntry } from '../modules/module.ts';
import { membershipEntries } from './etcd-transcript.ts';
import { TaskError } from '../errors.ts';
import type { Node } from '../inventory/node.ts';
import { LOCAL, type StateStore } from '../engine/state.ts';
import { joinedEtcdMembers } from '../engine/vars.ts';
import { ETCD_DATA_DIR, type EtcdPeer } from '../rebuild/etcdctl.ts';
import { peerURLOf, type EtcdMember } from '../rebuild/member-list.ts';
import { addMember, endpointHealth, listMembers, promoteWhenCaughtUp, removeMember, waitMemberHealthy } from '../rebuild/members.ts';
import { learnerSupported } from '../rebuild/membership-decisions.ts';
import { quorumOf } from '../rebuild/quorum.ts';
import type { TransportPool } from '../transport/transport.ts';

/** What the spec asks of etcd's membership, compared with what was built. */
export interface EtcdScaleChanges {
  /** Members of the spec the etcd step never ran on, while it ran on others: they join a running cluster. */
  joiners: Node[];
  /** Names that ran the etcd step but the spec no longer lists: they leave the cluster. */
  leavers: string[];
  /** The members that ran the etcd step and stay: the cluster to act through. */
  staying: Node[];
}

/** Why: scaling is decided from the state (what ran where) and the spec alone; no node is asked unless something changes. */
export function etcdScaleChanges(etcd: readonly Node[], state: StateStore): EtcdScaleChanges {
  const records = state.data.steps.etcd ?? {};
  // A member whose etcd step failed (a node down, a Ctrl-C) ran it all the same: it is in the
  // cluster's member list and its --initial-cluster was rendered. Only a member the step never
  // ran on is new.
  const ran = (name: string) => records[name] !== undefined;
  const staying = etcd.filter((node) => ran(node.name));
  const names = new Set(etcd.map((node) => node.name));
  const leavers = Object.keys(records).filter((name) => ran(name) && !names.has(name) && name !== LOCAL);
  // A first bootstrap that stopped half-way is not a scale-out: those members are in the initial
  // cluster already. Only with a running cluster do new members join it.
  const joiners = staying.length ? etcd.filter((node) => !ran(node.name) && !joinedEtcdMembers({ state })[node.name]) : [];
  return { joiners, leavers, staying };
}

/** `--initial-cluster` for a member joining now: every member the cluster lists, named by the spec. */
export function joiningInitialCluster(members: readonly EtcdMember[], known: readonly { name: string; internalIP: string }[]): string {
  const byURL = new Map(known.map((node) => [peerURLOf(node), node] as const));
  const named = members.map((member) => {
    const node = member.peerURLs.map((url) => byURL.get(url)).find(Boolean);
    const name = member.name || node?.name;
    if (!name || !member.peerURLs[0]) throw new Error(`etcd lists member ${member.id} with peer URLs ${member.peerURLs.join(', ') || '(none)'}, which matches no node of the spec`);
    return { name, url: member.peerURLs[0], order: node ? known.indexOf(node) : Number.MAX_SAFE_INTEGER };
  });
  return named
    .sort((a, b) => a.order - b.order || a.name.localeCompare(b.name, 'en', { numeric: true }))
    .map((member) => `${member.name}=${member.url}`)
    .join(',');
}

/** Why: leaving must never cost the quorum; one member at a time, each checked against the live health. */
export function assessLeaving(members: readonly (EtcdMember & { healthy: boolean })[], leaving: EtcdMember): { ok: true } | { ok: false; reason: string } {
  const votersAfter = members.filter((member) => !member.learner && member.id !== leaving.id);
  const healthyAfter = votersAfter.filter((member) => member.healthy).length;
  if (!votersAfter.length) return { ok: false, reason: `removing ${leaving.name || leaving.id} would leave no voting member` };
  const quorum = quorumOf(votersAfter.length);
  if (healthyAfter < quorum) return { ok: false, reason: `without ${leaving.name || leaving.id}, ${healthyAfter} of ${votersAfter.length} voting members are healthy, below the quorum of ${quorum}` };
  return { ok: true };
}

/** What scaling needs from the command that runs it. */
export interface EtcdScaleContext {
  state: StateStore;
  etcdVersion: string;
  /** Every etcd node of the spec. */
  etcd: readonly Node[];
  pool: TransportPool;
  peer: () => Promise<EtcdPeer>;
  /** Runs playbook steps limited to these nodes (the etcd step, for one joiner). */
  runSteps: (steps: readonly string[], nodes: readonly string[]) => Promise<void>;
  /** Removes a machine the spec no longer lists, after its member left (the provider's part). */
  removeMachine: (name: string) => Promise<string>;
  signal: AbortSignal;
  log: (line: string) => void;
  /** The shell equivalent of a membership change, for --transcript (what ran, as etcdctl on the peer). */
  record?: (entry: TranscriptEntry) => void;
}

const PROMOTE_MS = 120_000;
const HEALTHY_MS = 120_000;

/**
 * Before a first scale-out the staying members' units were rendered from the spec as it was: the
 * same list, recorded, keeps them as they are.
 */
export async function recordBootstrap(state: StateStore, initialCluster: string): Promise<void> {
  if (typeof state.data.operations.etcdBootstrap === 'string') return;
  await state.update((draft) => {
    draft.operations.etcdBootstrap = initialCluster;
  });
}

/** Why: a member joins only once the one before it is a healthy voter; returns what was done. */
export async function joinMember(ctx: EtcdScaleContext, node: Node): Promise<string> {
  try {
    return await joinOne(ctx, node);
  } catch (error) {
    if (error instanceof TaskError || ctx.signal.aborted) throw error;
    throw new TaskError(`${node.name} could not join etcd: ${(error as Error).message}`, { node: node.name, step: 'etcd' }, { cause: error, hint: 'Run hardway up again: a member already added is taken over, not added twice. hardway status shows the members.' });
  }
}

async function joinOne(ctx: EtcdScaleContext, node: Node): Promise<string> {
  const peer = await ctx.peer();
  const members = await listMembers(peer, ctx.signal);
  const url = peerURLOf(node);
  let member = members.find((candidate) => candidate.peerURLs.includes(url));
  if (!member) {
    // A machine that never was a member: any data dir there would make etcd exit.
    const transport = await ctx.pool.get(node, ctx.signal);
    await transport.exec(`systemctl stop etcd 2>/dev/null || true; rm -rf ${ETCD_DATA_DIR}`, { signal: ctx.signal });
    const learner = learnerSupported(ctx.etcdVersion);
    const id = await addMember(peer, node, learner, ctx.signal);
    ctx.record?.(membershipEntries.join(peer.node.name, node, learner));
    member = (await listMembers(peer, ctx.signal)).find((candidate) => candidate.id === id);
    if (!member) throw new TaskError(`etcd accepted ${node.name} as member ${id} but does not list it`, { node: node.name, step: 'etcd' });
  }
  const initialCluster = joiningInitialCluster(await listMembers(peer, ctx.signal), ctx.etcd);
  await ctx.state.update((draft) => {
    draft.operations.etcdJoined = { ...(draft.operations.etcdJoined as Record<string, unknown> | undefined), [node.name]: { state: 'existing', initialCluster } };
  });
  // The etcd step waits for every member's health, which a learner has only once promoted.
  const stop = new AbortController();
  const promotion = promoteWhenCaughtUp(peer, member.id, { signal: AbortSignal.any([ctx.signal, stop.signal]), timeoutMs: PROMOTE_MS });
  promotion.catch(() => undefined);
  try {
    await ctx.runSteps(['etcd'], [node.name]);
  } catch (error) {
    stop.abort(new Error('the etcd step failed'));
    throw error;
  }
  const promoted = await promotion;
  if (promoted.outcome === 'promoted') {
    ctx.record?.(membershipEntries.promote(peer.node.name, node));
  }
  await waitMemberHealthy(peer, node, { signal: ctx.signal, timeoutMs: HEALTHY_MS, step: 'etcd' });
  const count = (await listMembers(peer, ctx.signal)).length;
  return `${node.name} joined etcd as member ${member.id} (${count} members)`;
}

/** Why: the member goes before its machine, and only while the rest keep their quorum. */
export async function removeLeaver(ctx: EtcdScaleContext, name: string): Promise<string[]> {
  try {
    return await removeOne(ctx, name);
  } catch (error) {
    if (error instanceof TaskError || ctx.signal.aborted) throw error;
    throw new TaskError(`etcd member ${name} could not be removed: ${(error as Error).message}`, { node: name, step: 'etcd' }, { cause: error, hint: 'Run hardway up again; hardway status shows the members.' });
  }
}

async function removeOne(ctx: EtcdScaleContext, name: string): Promise<string[]> {
  const peer = await ctx.peer();
  const members = await listMembers(peer, ctx.signal);
  const member = members.find((candidate) => candidate.name === name);
  const lines: string[] = [];
  if (member) {
    const endpoints = members.flatMap((candidate) => candidate.clientURLs.slice(0, 1));
    const health = await endpointHealth(peer, endpoints, ctx.signal);
    const viewed = members.map((candidate) => ({ ...candidate, healthy: Boolean(candidate.clientURLs[0] && health.get(candidate.clientURLs[0])?.healthy) }));
    const verdict = assessLeaving(viewed, member);
    if (!verdict.ok) {
      throw new TaskError(`refusing to remove etcd member ${name}: ${verdict.reason}`, { node: name, step: 'etcd' }, { hint: 'Bring the unhealthy members back first (hardway status, hardway rebuild NODE), then run hardway up again.' });
    }
    await removeMember(peer, member.id, ctx.signal);
    ctx.record?.(membershipEntries.leave(peer.node.name, name));
    lines.push(`removed etcd member ${member.id} (${name}) via ${peer.node.name}`);
  } else {
    lines.push(`${name} is no longer an etcd member`);
  }
  lines.push(await ctx.removeMachine(name));
  await ctx.state.update((draft) => {
    for (const records of Object.values(draft.steps)) delete records[name];
    const joined = draft.operations.etcdJoined as Record<string, unknown> | undefined;
    if (joined) delete joined[name];
  });
  return lines;
}
