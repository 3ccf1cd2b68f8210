// Scaling controllers and workers through the spec and `hardway up` (issue 16). A new one needs
// nothing beyond the run itself: infra makes its machine, pki its certificates (the API server
// certificate's SANs follow the controllers, and the API servers restart one at a time, each out
// of the load balancer while it stops), the control-plane step waits for a new controller's
// /readyz before the loadbalancer step adds it, and a new worker registers with its own kubelet
// certificate. A node the spec dropped leaves in order: a worker is drained before the run, while
// the routes to its pods still exist; the run then takes a controller out of the load balancer
// and every route to the worker off the other nodes; only after it is the worker's Node object
// deleted and the machine removed.
import type { TranscriptEntry } from '../modules/module.ts';
import type { Node } from '../inventory/node.ts';
import { LOCAL, type StateStore } from '../engine/state.ts';
import { kubectlLines } from '../modules/drain.ts';

/** The step whose record says a machine of that role was built. */
const BUILT_BY = { controller: 'control-plane', worker: 'workers' } as const;

/** Controllers and workers that were built but the spec no longer lists. */
export interface DroppedMachines {
  controllers: string[];
  workers: string[];
}

/** Why: decided from the state (what ran where) and the spec alone; no node is asked unless something changes. */
export function droppedMachines(nodes: readonly Node[], state: StateStore, alsoLeaving: readonly string[] = []): DroppedMachines {
  const listed = new Set(nodes.map((node) => node.name));
  const skip = new Set(alsoLeaving);
  const dropped = (step: string) =>
    Object.entries(state.data.steps[step] ?? {})
      // Any record: a machine whose last step failed was built all the same.
      .filter(([name]) => name !== LOCAL && !listed.has(name) && !skip.has(name))
      .map(([name]) => name);
  return { controllers: dropped(BUILT_BY.controller), workers: dropped(BUILT_BY.worker) };
}

export function hasDropped(dropped: DroppedMachines): boolean {
  return dropped.controllers.length + dropped.workers.length > 0;
}

/** Why: plan and a dry run say what leaving will do; neither does it. */
export function describeDropped(dropped: DroppedMachines): string[] {
  return [
    ...dropped.workers.map((name) => `drain worker ${name} before the run (PodDisruptionBudgets hold), and after it delete its Node object and remove its machine`),
    ...dropped.controllers.map((name) => `stop controller ${name}'s control plane before the run (it leaves the load balancer while it still serves), take it out of the haproxy config in the loadbalancer step, and after the run remove its machine`),
  ];
}

/** What removing the dropped machines needs from the command that runs it. */
export interface DroppedMachinesContext {
  state: StateStore;
  drain: (name: string) => Promise<string>;
  /** Stops these units on the dropped machine (it is no longer in the inventory). */
  stopUnits: (name: string, units: readonly string[]) => Promise<string>;
  deleteNode: (name: string) => Promise<string>;
  removeMachine: (name: string) => Promise<string>;
  log: (line: string) => void;
  /** For --transcript: what was done, as the commands a person types on the workstation. */
  record?: (entry: TranscriptEntry) => void;
}

/** The transcript's pseudo-steps: before the run's first step, and after its last. */
export const DRAIN_DROPPED = 'drain-dropped';
export const REMOVE_DROPPED = 'remove-dropped';

/** Why: a worker's pods move while the routes to them still exist, before the run takes those away. */
export async function drainDroppedWorkers(ctx: DroppedMachinesContext, dropped: DroppedMachines): Promise<string[]> {
  const lines: string[] = [];
  for (const name of dropped.workers) {
    const line = await ctx.drain(name);
    ctx.record?.({ step: DRAIN_DROPPED, task: `Drain ${name}, which the spec dropped`, node: undefined, commands: [kubectlLines.drain(name)] });
    ctx.log(line);
    lines.push(line);
  }
  return lines;
}

/** What a dropped controller runs: stopped before the run (the API server leaves haproxy while it still serves). */
export const CONTROL_PLANE_UNITS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/**
 * Why: a dropped controller that kept running through the run could still lead the
 * controller-managers and schedulers (verify refuses a leader that is no controller); stopped
 * first, its leases move to the controllers that stay while the run goes on.
 */
export async function stopDroppedControllers(ctx: DroppedMachinesContext, dropped: DroppedMachines): Promise<string[]> {
  const lines: string[] = [];
  for (const name of dropped.controllers) {
    const line = await ctx.stopUnits(name, CONTROL_PLANE_UNITS);
    ctx.record?.({ step: DRAIN_DROPPED, task: `Stop the control plane of ${name}, which the spec dropped`, node: undefined, commands: [`# on ${name}: systemctl stop ${CONTROL_PLANE_UNITS.join(' ')}`] });
    ctx.log(line);
    lines.push(line);
  }
  return lines;
}

/** Why: after the run nothing names them (load balancer, routes, certificates): their machines go, then their records. */
export async function removeDroppedMachines(ctx: DroppedMachinesContext, dropped: DroppedMachines): Promise<string[]> {
  const lines: string[] = [];
  const say = (line: string) => {
    ctx.log(line);
    lines.push(line);
    return line;
  };
  const removed = (name: string, line: string) => ctx.record?.({ step: REMOVE_DROPPED, task: `Remove the machine ${name}`, node: undefined, commands: [`# ${line}`] });
  for (const name of dropped.workers) {
    say(await ctx.deleteNode(name));
    ctx.record?.({ step: REMOVE_DROPPED, task: `Delete the Node object of ${name}`, node: undefined, commands: [kubectlLines.deleteNode(name)] });
    removed(name, say(await ctx.removeMachine(name)));
    await forget(ctx.state, name);
  }
  for (const name of dropped.controllers) {
    removed(name, say(await ctx.removeMachine(name)));
    await forget(ctx.state, name);
  }
  return lines;
}

async function forget(state: StateStore, name: string): Promise<void> {
  await state.update((draft) => {
    for (const records of Object.values(draft.steps)) delete records[name];
    delete draft.fileStamps?.[name];
  });
}
