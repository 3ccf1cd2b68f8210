// `hardway status [--json]`: the inventory, which steps completed on which node, etcd members and
// their health, each API server's health directly and through the load balancer, and how long the
// certificates have left. Reads only; an unreachable node is reported, not fatal.
import type { Command } from 'commander';
import { probeHealth, type HealthCheck, type HealthResult } from '../health/probes.ts';
import { unpushedFiles, type UnpushedFile } from '../health/pushed-files.ts';
import { inspectPki } from '../pki/inspect.ts';
import { loadBalancerType } from '../spec/schema.ts';
import { LOCAL } from '../engine/state.ts';
import { readOperation } from '../rebuild/operation.ts';
import { globalOptions, openCluster, type CliIO, type LoadedCluster } from './common.ts';
import { runContext } from './run-context.ts';
import { loadStepGraph } from './steps.ts';

export interface StatusReport {
  cluster: string;
  provider: string;
  endpoint: string;
  nodes: { name: string; roles: string[]; internalIP: string; sshAddress: string; steps: Record<string, string> }[];
  localSteps: Record<string, string>;
  etcd: HealthResult[];
  apiservers: HealthResult[];
  loadBalancer: HealthResult[];
  /** Which controller leads kube-controller-manager and kube-scheduler (their Leases). */
  leaders: HealthResult[];
  /** Restarts notified but not carried out yet (a failed or interrupted run): the next run does them. */
  owedHandlers: { step: string; handler: string; nodes: string[] }[];
  certificates: {
    expiringSoon: string[];
    soonestDaysLeft: number | undefined;
    missing: string[];
    /** Renewed (or reissued) on the workstation and not yet on a node: the next `hardway up` pushes them. */
    notOnNodes: UnpushedFile[];
  };
  /** An interrupted rebuild that `hardway rebuild NODE` would finish. */
  pendingRebuild: { node: string; done: string[] } | undefined;
}

const CHECK_TIMEOUT_MS = 15_000;

async function notPushed(cluster: LoadedCluster, io: CliIO): Promise<UnpushedFile[]> {
  const steps = await loadStepGraph();
  const run = runContext({ cluster, modules: steps.modules, options: { dryRun: true, verbose: false, concurrency: 10 }, signal: AbortSignal.timeout(CHECK_TIMEOUT_MS), log: () => undefined });
  try {
    return await unpushedFiles(run, steps, run.signal);
  } catch {
    return [];
  } finally {
    await run.close().catch(() => io.stderr('note: closing connections for the certificate check failed\n'));
  }
}

async function probe(cluster: LoadedCluster, check: HealthCheck, io: CliIO): Promise<HealthResult[]> {
  const run = runContext({ cluster, modules: (await loadStepGraph()).modules, options: { dryRun: true, verbose: false, concurrency: 10 }, signal: AbortSignal.timeout(CHECK_TIMEOUT_MS), log: () => undefined });
  try {
    return await probeHealth({ run, signal: run.signal }, check);
  } catch (error) {
    return [{ what: check, ok: false, detail: (error as Error).message }];
  } finally {
    await run.close().catch(() => io.stderr(`note: closing connections for the ${check} check failed\n`));
  }
}

/** Why: one read-only view of the cluster for an operator deciding what to repair. */
export async function collectStatus(cluster: LoadedCluster, io: CliIO): Promise<StatusReport> {
  const steps = await loadStepGraph();
  const stepNames = steps.ordered.map((step) => step.step);
  const nodes = cluster.inventory.nodes;
  const stepState = (node: string) => Object.fromEntries(stepNames.map((step) => [step, cluster.state.stepRecord(step, node)?.status ?? '-']));
  const built = cluster.state.stepRecord('infra', LOCAL)?.status === 'done';
  const [etcd, apiservers, loadBalancer, leaders, notOnNodes] = await Promise.all([
    nodes.etcd().length ? probe(cluster, 'etcd', io) : Promise.resolve([]),
    probe(cluster, 'apiservers', io),
    loadBalancerType(cluster.spec) === 'none' ? Promise.resolve([]) : probe(cluster, 'loadbalancer', io),
    nodes.controllers().length ? probe(cluster, 'leaders', io) : Promise.resolve([]),
    built ? notPushed(cluster, io) : Promise.resolve([]),
  ]);
  const owedHandlers = Object.entries(cluster.state.data.owedHandlers ?? {}).flatMap(([step, handlers]) => Object.entries(handlers).map(([handler, owing]) => ({ step, handler, nodes: owing })));
  const pki = await inspectPki({ clusterDir: cluster.clusterDir, spec: cluster.spec, inventory: cluster.inventory, now: new Date() }).catch(() => undefined);
  const rows = pki?.rows ?? [];
  const days = rows.map((row) => row.daysLeft).filter((value): value is number => typeof value === 'number');
  return {
    cluster: cluster.spec.name,
    provider: cluster.spec.provider,
    endpoint: `https://${cluster.inventory.endpoint.host || '(not known yet)'}:${cluster.inventory.endpoint.port}`,
    nodes: nodes.map((node) => ({ name: node.name, roles: node.roles, internalIP: node.internalIP, sshAddress: node.sshAddress, steps: stepState(node.name) })),
    localSteps: stepState(LOCAL),
    etcd,
    apiservers,
    loadBalancer,
    leaders,
    owedHandlers,
    pendingRebuild: pendingRebuild(cluster),
    certificates: {
      expiringSoon: pki?.warnings ?? [],
      soonestDaysLeft: days.length ? Math.min(...days) : undefined,
      missing: rows.filter((row) => row.status === 'missing').map((row) => row.name),
      notOnNodes,
    },
  };
}

function pendingRebuild(cluster: LoadedCluster): StatusReport['pendingRebuild'] {
  const operation = readOperation(cluster.state);
  return operation ? { node: operation.node, done: [...operation.done] } : undefined;
}

function healthLines(title: string, results: readonly HealthResult[]): string[] {
  if (!results.length) return [];
  return [`${title}:`, ...results.map((result) => `  ${result.ok ? 'ok  ' : 'DOWN'}  ${result.what}: ${result.detail}`)];
}

export function formatStatus(report: StatusReport): string {
  const stepNames = Object.keys(report.localSteps);
  const lines = [`cluster ${report.cluster} (${report.provider}), API ${report.endpoint}`, ''];
  const header = ['NODE', 'ROLES', 'IP', ...stepNames];
  const table = [header, ...report.nodes.map((node) => [node.name, node.roles.join(','), node.internalIP, ...stepNames.map((step) => node.steps[step] ?? '-')])];
  table.push(['(local)', '', '', ...stepNames.map((step) => report.localSteps[step] ?? '-')]);
  const widths = header.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length)));
  lines.push(...table.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()), '');
  lines.push(...healthLines('etcd members', report.etcd), ...healthLines('API servers', report.apiservers), ...healthLines('load balancer', report.loadBalancer), ...healthLines('leaders', report.leaders));
  if (report.owedHandlers.length) {
    lines.push('', 'owed restarts (a run stopped before its handlers ran; the next `hardway up` runs them):');
    for (const owed of report.owedHandlers) lines.push(`  ${owed.step}: ${owed.handler} on ${owed.nodes.join(', ')}`);
  }
  const certs = report.certificates;
  lines.push('', `certificates: ${certs.soonestDaysLeft === undefined ? 'none issued yet' : `soonest expiry in ${certs.soonestDaysLeft} days`}${certs.missing.length ? `; missing: ${certs.missing.join(', ')}` : ''}`);
  for (const warning of certs.expiringSoon) lines.push(`  warning: ${warning}`);
  if (certs.notOnNodes.length) {
    lines.push('  renewed on the workstation, not yet on the nodes (the next `hardway up` installs them and restarts what uses them, one node at a time):');
    for (const file of certs.notOnNodes) lines.push(`    ${file.node}: ${file.src} -> ${file.dest} (${file.reason})`);
  }
  if (report.pendingRebuild) {
    lines.push('', `a rebuild of ${report.pendingRebuild.node} is unfinished (done: ${report.pendingRebuild.done.join(', ') || 'nothing yet'}); run \`hardway rebuild ${report.pendingRebuild.node}\` to finish it`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerStatusCommand(program: Command, io: CliIO): void {
  program
    .command('status')
    .description('inventory, per-node step status, etcd and API server health (direct and via the LB), certificate expiry')
    .addHelpText('after', '\nExamples:\n  hardway status\n  hardway status --json | jq .etcd')
    .action(async (_options, command: Command) => {
      const options = globalOptions(command);
      const cluster = await openCluster(options, io);
      const report = await collectStatus(cluster, io);
      io.stdout(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
    });
}
