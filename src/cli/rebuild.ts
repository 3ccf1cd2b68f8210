// `hardway rebuild NODE [--yes] [--force] [--wipe]`: replace one machine and bring it back into the
// cluster (DESIGN §8). Preflight reads etcd's health through a peer and refuses what would lose
// quorum; the phases live in src/rebuild/, this file wires them to the CLI, the lock and the engine.
import type { Command } from 'commander';
import { acquireLock } from '../engine/lock.ts';
import { formatRecap, reportJson } from '../engine/recap.ts';
import { chooseRenderer, runSteps as runEngineSteps, type RunReport } from '../engine/runner.ts';
import { describeMissing, selectSteps } from '../engine/select.ts';
import { LOCAL } from '../engine/state.ts';
import { TaskError, UsageError } from '../errors.ts';
import { deriveInventory } from '../inventory/derive.ts';
import { type Node } from '../inventory/node.ts';
import { createProvider } from '../providers/index.ts';
import type { RebuildContext } from '../rebuild/context.ts';
import { PHASE_TITLES, readOperation, type Phase } from '../rebuild/operation.ts';
import { preflight, type PreflightResult } from '../rebuild/preflight.ts';
import { phasesToRun, runRebuild, type RebuildResult } from '../rebuild/rebuild.ts';
import { loadBalancerType } from '../spec/schema.ts';
import { createSshPool } from '../transport/pool.ts';
import { globalOptions, openCluster, type CliIO, type GlobalOptions, type LoadedCluster } from './common.ts';
import { confirm } from './confirm.ts';
import { runContext } from './run-context.ts';
import { loadStepGraph } from './steps.ts';

interface RebuildFlags {
  yes: boolean;
  force: boolean;
  wipe: boolean;
  artifactsDir?: string;
}

/** Peers are probed with short retries: a dead one is reported in seconds, not minutes. */
const PEER_RETRY = { totalMs: 8_000, authMs: 8_000 };

/** Why: main.ts wires every command the same way; this one is DESIGN §8. */
export function registerRebuildCommand(program: Command, io: CliIO): void {
  program
    .command('rebuild')
    .description('replace one machine (same name and address) and bring it back into the cluster without losing etcd data')
    .argument('<node>', 'the node to rebuild, e.g. etcd-1 or controller-0')
    .option('--yes', 'do not ask for confirmation', false)
    .option('--force', 'rebuild even when another etcd member is unhealthy or removing this one would lose quorum', false)
    .option('--wipe', "static provider: clear hardway's units, binaries, data and certificates on the host instead of replacing it", false)
    .option('--artifacts-dir <dir>', 'take binaries from this directory (with SHA256SUMS) instead of downloading')
    .addHelpText(
      'after',
      '\nAn interrupted rebuild is finished by running the same command again.\n\nExamples:\n  sudo hardway rebuild etcd-1 --yes --artifacts-dir /var/cache/hardway/artifacts\n  hardway rebuild controller-0\n  hardway rebuild etcd-0 --wipe -c examples/vagrant/cluster.yaml',
    )
    .action(async (nodeName: string, flags: RebuildFlags, command: Command) => {
      await rebuildAction(globalOptions(command), nodeName, flags, io);
    });
}

function findNode(cluster: LoadedCluster, name: string): Node {
  const nodes = cluster.inventory.nodes;
  const node = nodes.byName(name);
  if (!node) throw new UsageError(`no node named ${name} in this cluster; nodes: ${nodes.names().join(', ') || '(none)'}`);
  if (cluster.state.stepRecord('infra', LOCAL)?.status !== 'done' || !node.sshAddress) {
    throw new UsageError(`${name} has not been built yet: nothing to rebuild`, { hint: 'Build the cluster first: hardway up' });
  }
  return node;
}

function describePlan(node: Node, check: PreflightResult, phases: readonly Phase[], resumed: Phase[] | undefined): string {
  const lines = [`Rebuild ${node.name} (${node.roles.join(', ')}, ${node.internalIP})${resumed?.length ? `: continuing an interrupted rebuild (done: ${resumed.join(', ')})` : ''}`];
  if (check.etcd) {
    const { assessment, views, peer } = check.etcd;
    lines.push(`  etcd (read through ${peer.node.name}): ${views.map((view) => `${view.label} ${view.healthy ? 'healthy' : 'UNHEALTHY'}${view.voter ? '' : ' (learner)'}${view.target ? ' [rebuilt]' : ''}`).join(', ')}`);
    lines.push(`  without ${node.name}: ${assessment.healthyAfter} healthy of ${assessment.votersAfter} voting members, quorum ${assessment.quorumAfter}`);
  }
  lines.push(...phases.map((phase, index) => `  ${index + 1}. ${phase}: ${PHASE_TITLES[phase]}`));
  return `${lines.join('\n')}\n`;
}

function mergeReports(reports: readonly RunReport[]): RunReport {
  return {
    ok: reports.every((report) => report.ok),
    dryRun: false,
    steps: reports.flatMap((report) => report.steps),
    results: reports.flatMap((report) => report.results),
    durationMs: reports.reduce((sum, report) => sum + report.durationMs, 0),
    stepDurations: reports.flatMap((report) => report.stepDurations),
  };
}

function summary(result: RebuildResult): string {
  const member = result.newMemberId ? `; etcd member ${result.newMemberId}${result.oldMemberId ? ` replaces ${result.oldMemberId}` : ''}` : '';
  return `rebuilt ${result.node} in ${(result.durationMs / 1000).toFixed(1)}s${result.resumed ? ' (continued an interrupted rebuild)' : ''}${member}\n`;
}

/** Why: the command's flow: refusals first, then confirmation, then the phases under the lock. */
async function rebuildAction(options: GlobalOptions, nodeName: string, flags: RebuildFlags, io: CliIO): Promise<void> {
  const cluster = await openCluster(options, io);
  const node = findNode(cluster, nodeName);
  const progress = (line: string) => (options.json ? io.stderr : io.stdout)(`${line}\n`);
  const debug = (line: string) => options.verbose && io.stderr(`${line}\n`);
  const abort = new AbortController();
  const provider = await createProvider(cluster.spec);
  await provider.preflight({ spec: cluster.spec, clusterDir: cluster.clusterDir, state: cluster.state, inventory: cluster.inventory, log: debug, signal: abort.signal });

  const lock = await acquireLock(cluster.clusterDir, `hardway rebuild ${node.name}`);
  if (lock.recovered) io.stderr(`note: took over a stale lock of pid ${lock.recovered.pid} (${lock.recovered.command}, ${lock.recovered.startedAt})\n`);
  // `on`, not `once`: execa's signal-exit re-raises a signal that no other listener handles anymore,
  // which would kill the process in the middle of a phase. A second signal exits at once.
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    io.stderr(`${signal}: stopping after the current action; run the same command again to finish the rebuild\n`);
    abort.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const steps = await loadStepGraph();
  const peers = createSshPool({ clusterDir: cluster.clusterDir, ssh: cluster.spec.ssh, env: io.env, retry: PEER_RETRY, log: debug });
  const run = runContext({
    cluster,
    modules: steps.modules,
    options: { dryRun: false, verbose: options.verbose, concurrency: options.concurrency, artifactsDir: flags.artifactsDir ?? cluster.state.data.artifactsDir, nodeFilter: [node.name] },
    signal: abort.signal,
    log: debug,
  });
  const renderer = chooseRenderer({ json: options.json, verbose: options.verbose, isTTY: io.isTTY, ci: Boolean(io.env.CI) });
  const reports: RunReport[] = [];
  const ctx: RebuildContext = {
    spec: cluster.spec,
    clusterDir: cluster.clusterDir,
    state: cluster.state,
    node,
    peers,
    nodes: run.transports,
    provider,
    signal: abort.signal,
    log: progress,
    force: flags.force,
    wipe: flags.wipe,
    runSteps: async (names) => {
      run.inventory = deriveInventory(cluster.spec, cluster.state.data.providerFacts);
      const isDone = (step: string, where: string) => cluster.state.stepRecord(step, where)?.status === 'done';
      const selected = selectSteps(steps, run.inventory.nodes, { steps: names, nodes: [node.name] }, isDone);
      if (selected.missing.length) throw new UsageError(describeMissing(selected.missing));
      const report = await runEngineSteps(run, selected.steps, renderer);
      reports.push(report);
      if (!report.ok) {
        const failure = report.results.find((result) => result.status === 'failed');
        throw new TaskError(failure ? `step ${failure.step} failed on ${failure.node} (${failure.task}): ${failure.reason}` : `steps ${names.join(', ')} failed`, { step: failure?.step, node: node.name }, { hint: failure?.error?.hint });
      }
    },
  };
  try {
    const pending = readOperation(cluster.state);
    // A rebuild that stopped before its first phase completed changed nothing: another may start.
    if (pending && pending.node !== node.name && pending.done.length) {
      throw new TaskError(`a rebuild of ${pending.node} (started ${pending.startedAt}) has not finished`, { node: pending.node }, { hint: `Finish it first: hardway rebuild ${pending.node}` });
    }
    const phases = phasesToRun(ctx, loadBalancerType(cluster.spec));
    const check = await preflight(ctx);
    progress(describePlan(node, check, phases, pending?.node === node.name ? pending.done : undefined).trimEnd());
    if (check.blocking.length) {
      const overridable = check.blocking.every((problem) => problem.kind !== 'impossible');
      throw new TaskError(`refusing to rebuild ${node.name}:\n${check.blocking.map((problem) => `  - ${problem.message}`).join('\n')}`, { node: node.name }, {
        hint: overridable ? 'Fix the unhealthy member first (hardway status), or pass --force if you accept the risk.' : undefined,
      });
    }
    for (const problem of check.problems) io.stderr(`warning (--force): ${problem.message}\n`);
    const question = provider.name === 'static' ? `Wipe hardway's files on ${node.name} of cluster ${cluster.spec.name} and provision it again?` : `Replace the machine ${node.name} of cluster ${cluster.spec.name} (${provider.name}) and bring it back?`;
    if (!flags.yes) await confirm(io, question);
    const result = await runRebuild(ctx, phases, check.etcd?.peer);
    const merged = mergeReports(reports);
    if (options.json) io.stdout(`${JSON.stringify({ ...result, durationMs: Math.round(result.durationMs), steps: reportJson(merged) }, null, 2)}\n`);
    else io.stdout(`${reports.length ? formatRecap(merged) : ''}${summary(result)}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await run.close();
    await peers.closeAll();
    await lock.release();
  }
}
