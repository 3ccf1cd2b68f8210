// How a change of etcd's membership reads in --transcript: the etcdctl line a person runs on a
// healthy member for each join, promotion and removal (src/scale/etcd.ts records them as it acts).
import type { TranscriptEntry } from '../modules/module.ts';
import { LOCAL_ENDPOINT, etcdctlCommand } from '../rebuild/etcdctl.ts';
import { peerURLOf } from '../rebuild/member-list.ts';

/**
 * The transcript's pseudo-steps, in the order a replay needs them: a member is added before its
 * etcd step, promoted after it, and members leave after the run.
 */
export const ETCD_JOIN = 'etcd-join';
export const ETCD_PROMOTE = 'etcd-promote';
export const ETCD_LEAVE = 'etcd-leave';

/** The ID of the member with this peer URL or name, as a replayed script finds it (IDs differ per cluster). */
function memberIdBy(column: 'peer URL' | 'name', value: string): string {
  const field = column === 'name' ? 3 : 4;
  return `"$(${etcdctlCommand([LOCAL_ENDPOINT], ['member', 'list'])} | awk -F', ' '$${field} == "${value}" { print $1 }')"`;
}

/** Why: the transcript shows a membership change as the etcdctl line a person runs on the peer. */
export const membershipEntries = {
  join: (peer: string, node: { name: string; internalIP: string }, learner: boolean): TranscriptEntry => ({
    step: ETCD_JOIN,
    task: `Add ${node.name} to the running etcd cluster${learner ? ' as a learner' : ''} (before its etcd step)`,
    node: peer,
    commands: [etcdctlCommand([LOCAL_ENDPOINT], ['member', 'add', node.name, `--peer-urls=${peerURLOf(node)}`, ...(learner ? ['--learner'] : [])])],
  }),
  promote: (peer: string, node: { name: string; internalIP: string }): TranscriptEntry => ({
    step: ETCD_PROMOTE,
    task: `Promote ${node.name} to a voting member once it caught up`,
    node: peer,
    commands: [`${etcdctlCommand([LOCAL_ENDPOINT], ['member', 'promote'])} ${memberIdBy('peer URL', peerURLOf(node))}`],
  }),
  leave: (peer: string, name: string): TranscriptEntry => ({
    step: ETCD_LEAVE,
    task: `Remove ${name} from the etcd cluster (the spec dropped it)`,
    node: peer,
    commands: [`${etcdctlCommand([LOCAL_ENDPOINT], ['member', 'remove'])} ${memberIdBy('name', name)}`],
  }),
};
