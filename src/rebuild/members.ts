// etcd membership through a healthy peer: list, health, remove, add, promote. Each is one etcdctl
// call a person could type; IDs travel as hex text. The dead machine itself is never needed.
import { TaskError } from '../errors.ts';
import { poll, pollOr, PollTimeout } from '../util/poll.ts';
import { parseEndpointHealth, type EndpointHealth } from './endpoint-health.ts';
import { runEtcdctl, type EtcdPeer } from './etcdctl.ts';
import { parseMemberAdded, parseMemberList, peerURLOf, type EtcdMember } from './member-list.ts';

/** Why: every membership decision starts from what the cluster says now. */
export async function listMembers(peer: EtcdPeer, signal: AbortSignal): Promise<EtcdMember[]> {
  const result = await runEtcdctl(peer, ['member', 'list', '-w', 'simple'], { signal });
  return parseMemberList(result.stdout);
}

/** Why: health per client URL, unhealthy ones included (etcdctl exits 1 for those, which is an answer). */
export async function endpointHealth(peer: EtcdPeer, endpoints: readonly string[], signal: AbortSignal): Promise<Map<string, EndpointHealth>> {
  if (!endpoints.length) return new Map();
  const result = await runEtcdctl(peer, ['endpoint', 'health'], { signal, endpoints, check: false, attempts: 1, commandTimeoutSeconds: 4 });
  return parseEndpointHealth(`${result.stdout}\n${result.stderr}`);
}

/** Why: the old member must go before a new one is added (a 4th member would raise the quorum). */
export async function removeMember(peer: EtcdPeer, id: string, signal: AbortSignal): Promise<void> {
  try {
    await runEtcdctl(peer, ['member', 'remove', id], { signal, attempts: 15 });
  } catch (error) {
    // A retry after a removal that did commit answers "member not found": the goal is reached.
    const members = await listMembers(peer, signal);
    if (members.some((member) => member.id === id)) throw error;
  }
}

/** Why: the new machine joins as a new member (a learner first where supported); returns its ID. */
export async function addMember(peer: EtcdPeer, node: { name: string; internalIP: string }, learner: boolean, signal: AbortSignal): Promise<string> {
  const args = ['member', 'add', node.name, `--peer-urls=${peerURLOf(node)}`, ...(learner ? ['--learner'] : [])];
  // "unhealthy cluster": right after a member joined or restarted, etcd refuses another change for
  // a few seconds (strict reconfiguration check); a transient answer, tried again.
  const result = await runEtcdctl(peer, args, { signal, attempts: 15 });
  return parseMemberAdded(result.stdout);
}

/** What a promote attempt found. */
export type PromoteOutcome = 'promoted' | 'voter' | 'not-ready';

/** One attempt: a learner that has not caught up yet is refused by etcd ("not in sync"). */
export async function promoteMember(peer: EtcdPeer, id: string, signal: AbortSignal): Promise<PromoteOutcome> {
  const members = await listMembers(peer, signal);
  const member = members.find((candidate) => candidate.id === id);
  if (!member) throw new Error(`member ${id} is no longer in the member list`);
  if (!member.learner) return 'voter';
  const result = await runEtcdctl(peer, ['member', 'promote', id], { signal, check: false, attempts: 1 });
  if (result.code === 0) return 'promoted';
  const text = `${result.stdout}\n${result.stderr}`;
  if (/not in sync|can only promote a learner member|leader changed|no leader|deadline exceeded|Unavailable/i.test(text)) return 'not-ready';
  // The promotion may have committed while the answer was lost: the member list decides.
  const after = (await listMembers(peer, signal)).find((candidate) => candidate.id === id);
  if (after && !after.learner) return 'promoted';
  throw new Error(`etcdctl member promote ${id} failed: ${text.split('\n').filter((line) => line.trim() && !line.trim().startsWith('{')).slice(-2).join('; ')}`);
}

/** Why: 3.4 refuses to promote a learner until it caught up (PITFALLS): retry, bounded. */
export async function promoteWhenCaughtUp(peer: EtcdPeer, id: string, options: { signal: AbortSignal; timeoutMs: number }): Promise<{ outcome: PromoteOutcome; attempts: number }> {
  try {
    const promoted = await poll(
      async () => {
        const outcome = await promoteMember(peer, id, options.signal);
        return outcome === 'not-ready' ? undefined : outcome;
      },
      { timeoutMs: options.timeoutMs, intervalMs: 500, signal: options.signal },
    );
    return { outcome: promoted.value, attempts: promoted.attempts };
  } catch (error) {
    if (!(error instanceof PollTimeout)) throw error;
    throw new Error(`learner ${id} did not catch up within ${Math.round(options.timeoutMs / 1000)} s (etcd refused to promote it ${error.attempts} times)`);
  }
}

/** Why: a joined member must answer healthy before the next change; bounded, naming the journal to read. */
export async function waitMemberHealthy(peer: EtcdPeer, node: { name: string; internalIP: string }, options: { signal: AbortSignal; timeoutMs: number; step?: string }): Promise<void> {
  const url = `https://${node.internalIP}:2379`;
  let last: EndpointHealth | undefined;
  await pollOr(
    async () => {
      last = (await endpointHealth(peer, [url], options.signal)).get(url);
      return last?.healthy ? true : undefined;
    },
    { timeoutMs: options.timeoutMs, intervalMs: 1000, signal: options.signal },
    () =>
      new TaskError(`etcd on ${node.name} is not healthy ${options.timeoutMs / 1000} s after joining: ${last?.detail ?? 'no answer'}`, { node: node.name, ...(options.step ? { step: options.step } : {}) }, {
        hint: `See hardway ssh ${node.name} -- journalctl -u etcd --no-pager -n 50`,
      }),
  );
}
