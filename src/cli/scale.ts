// How `hardway up` changes etcd's membership when the spec's etcd count changed (src/scale/etcd.ts
// decides and acts): before the run, the machines and files of new members, then each new member
// joined one at a time; after the run (the API servers no longer name them), each member the spec
// dropped removed from the cluster, then its machine.
import { deriveInventory } from '../inventory/derive.ts';
import { Nodes, type Node } from '../inventory/node.ts';
import type { RunContext } from '../modules/module.ts';
import { initialClusterString, joinedEtcdMembers } from '../engine/vars.ts';
import { runExitCode } from '../engine/recap.ts';
import { runSteps, type RendererChoice, type RunReport } from '../engine/runner.ts';
import { describeMissing, selectSteps } from '../engine/select.ts';
import { AlreadyReported, UsageError } from '../errors.ts';
import { readLabState } from '../providers/lab/state.ts';
import type { Provider } from '../providers/provider.ts';
import { findHealthyPeer } from '../rebuild/peer.ts';
import { listMembers } from '../rebuild/members.ts';
import { deleteNodeObject, drainNode } from '../modules/drain.ts';
import { describeDropped, drainDroppedWorkers, droppedMachines, hasDropped, removeDroppedMachines, stopDroppedControllers, type DroppedMachines, type DroppedMachinesContext } from '../scale/machines.ts';
import { shellJoin } from '../transport/shell.ts';
import { etcdScaleChanges, joinMember, joiningInitialCluster, recordBootstrap, removeLeaver, type EtcdScaleChanges, type EtcdScaleContext } from '../scale/etcd.ts';
import { createSshPool } from '../transport/pool.ts';
import type { LoadedCluster } from './common.ts';
import type { Steps } from './steps.ts';

/** The steps before etcd starts on a node: its machine, files and binaries (a joining member, a restore). */
export const BEFORE_ETCD = ['infra', 'pki', 'kubeconfigs', 'encryption', 'hosts', 'binaries'];

export interface ScaleInput {
  cluster: LoadedCluster;
  run: RunContext;
  steps: Steps;
  renderer: RendererChoice;
  provider: () => Promise<Provider>;
  log: (line: string) => void;
  /** Each sub-run's report, for the recap. */
  reports: RunReport[];
}

/** What scaling the spec asks for, or undefined when etcd's membership stays as it is. */
export function pendingEtcdScale(cluster: LoadedCluster): EtcdScaleChanges | undefined {
  const changes = etcdScaleChanges(cluster.inventory.nodes.etcd(), cluster.state);
  return changes.joiners.length || changes.leavers.length ? changes : undefined;
}

/** Why: plan and a dry run say what the membership change will be; neither makes it. */
export function describeEtcdScale(changes: EtcdScaleChanges): string[] {
  return [
    ...changes.joiners.map((node, index) => `add etcd member ${node.name} (${node.internalIP}) to the running cluster${changes.joiners.length > 1 ? `, ${index + 1} of ${changes.joiners.length}, one at a time` : ''}: member add, start with --initial-cluster-state=existing, promote, wait healthy`),
    ...changes.leavers.map((name) => `remove etcd member ${name} after the run (refused if the rest would lose quorum), then its machine`),
  ];
}

function scaleContext(input: ScaleInput, etcd: readonly Node[], staying: readonly Node[]): EtcdScaleContext & { close: () => Promise<void> } {
  const { cluster, run } = input;
  const pool = createSshPool({ clusterDir: cluster.clusterDir, ssh: cluster.spec.ssh, env: process.env, log: input.log });
  return {
    state: cluster.state,
    etcdVersion: cluster.spec.versions.etcd,
    etcd,
    pool,
    peer: () => findHealthyPeer(staying, pool, run.signal, input.log),
    runSteps: async (names, nodes) => {
      // Members after this one have not joined yet: the etcd step must not wait for them.
      const full = deriveInventory(cluster.spec, cluster.state.data.providerFacts);
      const joined = joinedEtcdMembers(cluster);
      const stayingNames = new Set(staying.map((node) => node.name));
      const absent = new Set(etcd.filter((node) => !stayingNames.has(node.name) && !nodes.includes(node.name) && !joined[node.name]).map((node) => node.name));
      run.inventory = { ...full, nodes: Nodes.collect(full.nodes.filter((node) => !absent.has(node.name))) };
      try {
        await runSelected(input, names, nodes);
      } finally {
        run.inventory = full;
      }
    },
    removeMachine: (name) => removeMachine(input, name),
    signal: run.signal,
    log: input.log,
    record: (entry) => run.transcript?.add(entry),
    close: () => pool.closeAll(),
  };
}

/** A machine the spec no longer lists, as the provider recorded it (its address), or undefined. */
function droppedNode(cluster: LoadedCluster, name: string): Node | undefined {
  const address = cluster.state.data.providerFacts.sshAddresses?.[name] ?? readLabState(cluster.state)?.nodes[name]?.ip;
  return address ? { name, roles: [], internalIP: address, sshAddress: address, sshPort: cluster.spec.ssh.port, user: cluster.spec.ssh.user } : undefined;
}

async function removeMachine(input: ScaleInput, name: string): Promise<string> {
  const { cluster, run } = input;
  const provider = await input.provider();
  if (!provider.remove) return `the machine ${name} is left as it is (the ${provider.name} provider does not remove machines): remove it yourself`;
  const node = droppedNode(cluster, name);
  const line = await provider.remove({ spec: cluster.spec, clusterDir: cluster.clusterDir, state: cluster.state, inventory: run.inventory, log: input.log, signal: run.signal }, name);
  // A machine made again at that address later has a new host key: the old pin must go with it.
  if (node) {
    const pool = createSshPool({ clusterDir: cluster.clusterDir, ssh: cluster.spec.ssh, env: process.env, log: input.log });
    await pool.forget(node);
    await pool.closeAll();
  }
  return line;
}

async function stopUnits(input: ScaleInput, name: string, units: readonly string[]): Promise<string> {
  const node = droppedNode(input.cluster, name);
  if (!node) return `${name} has no recorded address: its ${units.join(', ')} are not stopped`;
  const pool = createSshPool({ clusterDir: input.cluster.clusterDir, ssh: input.cluster.spec.ssh, env: process.env, log: input.log });
  try {
    const transport = await pool.get(node, input.run.signal);
    // Each stop is graceful: the API server fails /readyz for its shutdown delay while it serves.
    await transport.exec(shellJoin(['systemctl', 'stop', ...units]), { signal: input.run.signal, timeoutMs: 120_000 });
    return `stopped ${units.join(', ')} on ${name} (the spec dropped it)`;
  } catch (error) {
    if (input.run.signal.aborted) throw error;
    return `could not stop ${units.join(', ')} on ${name}: ${(error as Error).message.split('\n')[0]}`;
  } finally {
    await pool.closeAll();
  }
}

/** Controllers and workers the spec dropped, or undefined when none (etcd members leave through pendingEtcdScale). */
export function pendingMachineScale(cluster: LoadedCluster): DroppedMachines | undefined {
  const etcdLeavers = pendingEtcdScale(cluster)?.leavers ?? [];
  const dropped = droppedMachines(cluster.inventory.nodes, cluster.state, etcdLeavers);
  return hasDropped(dropped) ? dropped : undefined;
}

export { describeDropped };

function droppedContext(input: ScaleInput): DroppedMachinesContext {
  const health = { run: input.run, signal: input.run.signal };
  return {
    state: input.cluster.state,
    drain: (name) => drainNode(health, name, input.cluster.spec.versions.kubernetes, 'Bring the API back (hardway status), or put the worker back in the spec.'),
    stopUnits: (name, units) => stopUnits(input, name, units),
    deleteNode: (name) => deleteNodeObject(health, name),
    removeMachine: (name) => removeMachine(input, name),
    log: input.log,
    record: (entry) => input.run.transcript?.add(entry),
  };
}

/** Why: before the run, a dropped worker's pods move (the routes to them still exist) and a dropped controller stops leading. */
export async function drainDropped(input: ScaleInput, dropped: DroppedMachines): Promise<string[]> {
  const ctx = droppedContext(input);
  return [...(await drainDroppedWorkers(ctx, dropped)), ...(await stopDroppedControllers(ctx, dropped))];
}

/** Why: after the run no load balancer, route or certificate names them: their machines go. */
export async function removeDropped(input: ScaleInput, dropped: DroppedMachines): Promise<string[]> {
  return removeDroppedMachines(droppedContext(input), dropped);
}

async function runSelected(input: ScaleInput, names: readonly string[], nodes?: readonly string[]): Promise<void> {
  const { cluster, run, steps } = input;
  const isDone = (step: string, where: string) => cluster.state.stepRecord(step, where)?.status === 'done';
  const selected = selectSteps(steps, run.inventory.nodes, { steps: names, ...(nodes ? { nodes } : {}) }, isDone);
  if (selected.missing.length) throw new UsageError(describeMissing(selected.missing));
  const report = await runSteps({ ...run, options: { ...run.options, nodeFilter: nodes ? [...nodes] : undefined } }, selected.steps, input.renderer);
  input.reports.push(report);
  if (!report.ok) throw new AlreadyReported(runExitCode(report));
}

/**
 * Why: before anything changes, the staying members' --initial-cluster is recorded as it was
 * rendered, so the run leaves their units (and the members) alone. Dropped members were in that
 * list too: the live member list has them; without them it is the staying members.
 */
async function recordStayingUnits(input: ScaleInput, changes: EtcdScaleChanges): Promise<void> {
  if (typeof input.cluster.state.data.operations.etcdBootstrap === 'string') return;
  if (!changes.leavers.length) return recordBootstrap(input.cluster.state, initialClusterString(changes.staying));
  const ctx = scaleContext(input, changes.staying, changes.staying);
  try {
    const members = await listMembers(await ctx.peer(), input.run.signal);
    await recordBootstrap(input.cluster.state, joiningInitialCluster(members, changes.staying));
  } finally {
    await ctx.close();
  }
}

/** Why: new members join before the run, one at a time, each healthy before the next. */
export async function joinNewMembers(input: ScaleInput, changes: EtcdScaleChanges): Promise<string[]> {
  await recordStayingUnits(input, changes);
  if (!changes.joiners.length) return [];
  await runSelected(input, BEFORE_ETCD);
  input.run.inventory = deriveInventory(input.cluster.spec, input.cluster.state.data.providerFacts);
  const etcd = input.run.inventory.nodes.etcd();
  const ctx = scaleContext(input, etcd, changes.staying);
  const lines: string[] = [];
  try {
    for (const joiner of changes.joiners) {
      const node = etcd.find((candidate) => candidate.name === joiner.name)!;
      const line = await joinMember(ctx, node);
      input.log(line);
      lines.push(line);
    }
  } finally {
    await ctx.close();
  }
  return lines;
}

/** Why: members the spec dropped leave after the run, when nothing names them any more; then their machines go. */
export async function removeDroppedMembers(input: ScaleInput, changes: EtcdScaleChanges): Promise<string[]> {
  if (!changes.leavers.length) return [];
  const etcd = input.run.inventory.nodes.etcd();
  const ctx = scaleContext(input, etcd, etcd);
  const lines: string[] = [];
  try {
    for (const name of changes.leavers) {
      for (const line of await removeLeaver(ctx, name)) {
        input.log(line);
        lines.push(line);
      }
    }
  } finally {
    await ctx.close();
  }
  return lines;
}
