// The end-of-run summary: per node, how many tasks were ok, changed, failed, skipped; then each
// failure with where it happened and what to do. Also the JSON form for --json.
import { formatWhere } from '../errors.ts';
import { CONDITION_SKIPPED, type TaskResult, type TaskStatus } from './execute.ts';
import type { RunReport } from './runner.ts';
import { LOCAL } from './state.ts';

export type Counts = Record<TaskStatus, number>;

/** Why: "0 changed" on a re-run is the idempotency promise; the recap is where a user reads it. */
export function countByNode(results: readonly TaskResult[]): Map<string, Counts> {
  const counts = new Map<string, Counts>();
  for (const result of results) {
    const entry = counts.get(result.node) ?? { ok: 0, changed: 0, failed: 0, skipped: 0 };
    entry[result.status] += 1;
    counts.set(result.node, entry);
  }
  return counts;
}

export function totals(results: readonly TaskResult[]): Counts {
  const total: Counts = { ok: 0, changed: 0, failed: 0, skipped: 0 };
  for (const result of results) total[result.status] += 1;
  return total;
}

export function formatRecap(report: RunReport): string {
  const counts = countByNode(report.results);
  const rows = [['NODE', 'OK', 'CHANGED', 'FAILED', 'SKIPPED'], ...[...counts].map(([node, c]) => [node, String(c.ok), String(c.changed), String(c.failed), String(c.skipped)])];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const table = rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')).join('\n');
  const total = totals(report.results);
  const verb = report.dryRun ? 'would change' : 'changed';
  const lines = [
    '',
    `RECAP${report.dryRun ? ' (dry run: nothing was changed)' : ''}`,
    table,
    '',
    `${report.steps.length} step${report.steps.length === 1 ? '' : 's'} (${report.steps.join(', ') || 'none'}), ${total.ok} ok, ${total.changed} ${verb}, ${total.failed} failed in ${(report.durationMs / 1000).toFixed(1)}s`,
  ];
  // Where the time went, step by step, so a slow run says which step to look at.
  if (report.stepDurations.length > 1) lines.push(`time per step: ${report.stepDurations.map((entry) => `${entry.step} ${(entry.durationMs / 1000).toFixed(1)}s`).join(', ')}`);
  const ssh = sshCost(report);
  if (ssh) lines.push(`ssh: ${ssh.connections} connection${ssh.connections === 1 ? '' : 's'} to ${ssh.nodes} node${ssh.nodes === 1 ? '' : 's'}, ${ssh.roundTrips} round trips (${ssh.execs} execs, ${ssh.sftp} SFTP) for ${ssh.remoteTasks} remote tasks: ${ssh.perTask.toFixed(2)} per task`);
  for (const failure of report.results.filter((result) => result.status === 'failed')) {
    lines.push('', `${failure.interrupted ? 'INTERRUPTED' : 'FAILED'} ${formatWhere({ step: failure.step, node: failure.node, task: failure.task })}`, indent(failure.reason));
    if (failure.error?.hint) lines.push(indent(failure.error.hint));
  }
  return `${lines.join('\n')}\n`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

/** The machine-readable report: errors reduced to message, hint and where. */
/** Why: what a run cost in SSH round trips, summed over nodes, per remote task (the no-op's physical limit is about one). */
export function sshCost(report: Pick<RunReport, 'roundTrips' | 'results'>) {
  if (!report.roundTrips || !Object.keys(report.roundTrips).length) return undefined;
  const counts = Object.values(report.roundTrips);
  const sum = (pick: (count: (typeof counts)[number]) => number) => counts.reduce((total, count) => total + pick(count), 0);
  // Tasks that reached a node: not local, not skipped (a failed node's rest, a `when:` that does not hold).
  const remoteTasks = report.results.filter((result) => result.node !== LOCAL && result.status !== 'skipped' && !result.reason.startsWith(CONDITION_SKIPPED)).length;
  const execs = sum((count) => count.execs);
  const sftp = sum((count) => count.sftp);
  return { nodes: counts.length, connections: sum((count) => count.connections), execs, sftp, roundTrips: execs + sftp, remoteTasks, perTask: remoteTasks ? (execs + sftp) / remoteTasks : 0 };
}

export function reportJson(report: RunReport): unknown {
  const ssh = sshCost(report);
  return {
    ok: report.ok,
    dryRun: report.dryRun,
    steps: report.steps,
    durationMs: Math.round(report.durationMs),
    totals: totals(report.results),
    stepDurations: report.stepDurations.map((entry) => ({ step: entry.step, durationMs: Math.round(entry.durationMs) })),
    nodes: Object.fromEntries(countByNode(report.results)),
    ...(ssh ? { ssh: { ...ssh, perTask: Number(ssh.perTask.toFixed(3)), perNode: report.roundTrips } } : {}),
    results: report.results.map(({ error, durationMs, ...result }) => ({
      ...result,
      durationMs: Math.round(durationMs),
      ...(error ? { error: { message: error.message, hint: error.hint, where: error.where } } : {}),
    })),
  };
}

/**
 * Why: a run that failed only on bad input (a corrupt CSR JSON, an unreadable state file: exit 2)
 * or a missing prerequisite (exit 3) says so in its exit code, as every other command does; a
 * task that failed on a node is exit 1.
 */
export function runExitCode(report: RunReport): number {
  if (report.ok) return 0;
  const codes = new Set(report.results.filter((result) => result.status === 'failed').map((result) => result.error?.exitCode ?? 1));
  if (codes.size === 1) {
    const [code] = codes;
    if (code === 2 || code === 3) return code;
  }
  return 1;
}
