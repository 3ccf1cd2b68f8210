// The rebuild's progress, recorded in state.operations.rebuild after each phase, so an interrupted
// rebuild is finished by running the same command again. Which phases apply follows from the
// node's roles and the load balancer; each phase also checks the real state before it acts.
import type { StateData, StateStore } from '../engine/state.ts';
import type { Role } from '../inventory/node.ts';

/** Why: the order of a rebuild, the same on every run; operation records name these. */
export const PHASES = ['lb-out', 'drain', 'remove-member', 'replace', 'prepare', 'add-member', 'start-member', 'provision', 'uncordon', 'lb-in'] as const;
/** One step of a rebuild, recorded when done. */
export type Phase = (typeof PHASES)[number];

/** What each phase does, for the plan shown before confirming and the progress lines. */
export const PHASE_TITLES: Record<Phase, string> = {
  'lb-out': 'take the controller out of the load balancer (and let it drain)',
  drain: 'cordon the worker and move its pods to the other workers (bounded wait)',
  'remove-member': 'remove its etcd member through a healthy peer',
  replace: 'replace the machine (same name and address) and forget its old host key',
  prepare: "run the node's hosts and binaries steps",
  'add-member': 'add it back as a new etcd member (a learner where etcd supports it)',
  'start-member': 'start etcd with an empty data dir and --initial-cluster-state=existing, promote it, wait for health',
  provision: "run the node's remaining steps and verify",
  uncordon: 'let pods be scheduled on the worker again',
  'lb-in': 'put the controller back into the load balancer',
};

/** state.operations.rebuild: enough to resume, nothing a phase cannot re-check. */
export interface RebuildOperation {
  node: string;
  startedAt: string;
  /** Phases completed, in the order they completed. */
  done: Phase[];
  /** The member removed (hex). */
  oldMemberId?: string;
  /** The member added for the new machine (hex). */
  newMemberId?: string;
}

/** The spec's load balancer, as far as the phases care. */
export type LoadBalancerKind = 'none' | 'haproxy' | 'nlb';

/** Why: a controller has load balancer phases, an etcd member membership phases, every node the rest. */
export function plannedPhases(roles: readonly Role[], loadBalancer: LoadBalancerKind): Phase[] {
  const inLoadBalancer = roles.includes('controller') && loadBalancer !== 'none';
  const member = roles.includes('etcd');
  return PHASES.filter((phase) => {
    if (phase === 'lb-out' || phase === 'lb-in') return inLoadBalancer;
    if (phase === 'remove-member' || phase === 'add-member' || phase === 'start-member') return member;
    if (phase === 'drain' || phase === 'uncordon') return roles.includes('worker');
    return true;
  });
}

/**
 * Why: the resumption rule in one place. Completed phases are skipped, except that a controller is
 * taken out of the load balancer again until it is back in (a reload of haproxy may have re-enabled it).
 */
export function pendingPhases(planned: readonly Phase[], operation: RebuildOperation | undefined): Phase[] {
  const done = new Set(operation?.done ?? []);
  return planned.filter((phase) => !done.has(phase) || (phase === 'lb-out' && !done.has('lb-in')));
}

/** The rebuild in progress, if any. */
export function readOperation(state: StateStore): RebuildOperation | undefined {
  const value = state.data.operations.rebuild as RebuildOperation | undefined;
  return value && typeof value.node === 'string' && Array.isArray(value.done) ? value : undefined;
}

/** Start (or keep) the record for this node. */
export async function beginOperation(state: StateStore, node: string, now = new Date()): Promise<RebuildOperation> {
  const current = readOperation(state);
  if (current?.node === node) return current;
  // Replaces only a record with no phase done (the CLI refuses to start over a rebuild in progress).
  const operation: RebuildOperation = { node, startedAt: now.toISOString(), done: [] };
  await state.update((draft) => {
    draft.operations.rebuild = operation;
  });
  return operation;
}

/** Change the record (IDs) without completing a phase. */
export async function updateOperation(state: StateStore, patch: Partial<Omit<RebuildOperation, 'node' | 'done'>>, also?: (draft: StateData) => void): Promise<RebuildOperation> {
  await state.update((draft) => {
    const current = draft.operations.rebuild as RebuildOperation;
    draft.operations.rebuild = { ...current, ...patch };
    also?.(draft);
  });
  return readOperation(state)!;
}

/** Mark a phase done; durable before the next phase starts. */
export async function completePhase(state: StateStore, phase: Phase, also?: (draft: StateData) => void): Promise<RebuildOperation> {
  await state.update((draft) => {
    const current = draft.operations.rebuild as RebuildOperation;
    draft.operations.rebuild = { ...current, done: current.done.includes(phase) ? current.done : [...current.done, phase] };
    also?.(draft);
  });
  return readOperation(state)!;
}

/** The rebuild finished: forget it (etcdJoined stays, so the unit keeps `existing`). */
export async function finishOperation(state: StateStore): Promise<void> {
  await state.update((draft) => {
    delete draft.operations.rebuild;
  });
}
