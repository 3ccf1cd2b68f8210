// Benchmark (root, Linux): how a whole `hardway up` and its no-op re-run grow with the node count.
// The cluster is the example workers lab (examples/lab/workers.yaml: one controller with stacked
// etcd) with more workers: 3, 12 and 30 nodes by default, every node worked on at once
// (`--concurrency` = the node count). A worker is the node a growing cluster adds, and the one
// with the most node work (container runtime, images, kubelet, kube-proxy, routes).
// The peer, measured in the same run on the same nodes: OpenSSH opening one connection to every
// node in parallel and running `true`, about the least any SSH-driven re-run can cost.
// Booting 30 nodes needs about 14 inotify instances per worker (ENVIRONMENT.md): the bench raises
// this machine's fs.inotify.max_user_instances for itself when it is lower than that.
//   sudo node bench/provision.ts [--sizes 3,12,30] [--rounds 3]
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { artifactsDir, freeSubnet, labSpec } from '../test/e2e/lab-helpers.ts';
import { hardway } from '../test/helpers/cli.ts';

const exec = promisify(execFile);

interface RunFigures {
  totalMs: number;
  changed: number;
  steps: { step: string; durationMs: number }[];
  /** SSH round trips per task, from the recap (a no-op's is the figure that matters). */
  perTask: number;
}

export interface ProvisionBenchRow {
  nodes: number;
  first: RunFigures;
  noop: RunFigures[];
  opensshMs: number[];
  load: string;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function up(dir: string, artifacts: string, concurrency: number): Promise<RunFigures> {
  const started = performance.now();
  const result = await hardway(['-c', join(dir, 'cluster.yaml'), '--json', '--concurrency', String(concurrency), 'up', '--artifacts-dir', artifacts], { timeoutMs: 1_800_000 });
  const totalMs = performance.now() - started;
  const report = JSON.parse(result.stdout || '{}') as { totals: { changed: number }; stepDurations: { step: string; durationMs: number }[]; ssh?: { perTask?: number }; results?: { step: string; node: string; task: string; status: string; reason: string }[] };
  if (result.code !== 0) {
    const failed = (report.results ?? []).filter((entry) => entry.status === 'failed').map((entry) => `${entry.step} ${entry.node} ${entry.task}: ${entry.reason}`);
    throw new Error(`hardway up failed (${result.code}): ${result.stderr}\n${failed.join('\n') || result.stdout.slice(-2000)}`);
  }
  return { totalMs, changed: report.totals.changed, steps: report.stepDurations, perTask: report.ssh?.perTask ?? NaN };
}

async function opensshAll(dir: string, addresses: readonly string[]): Promise<number> {
  const started = performance.now();
  await Promise.all(
    addresses.map((address) =>
      exec('ssh', ['-i', join(dir, 'ssh/id_ed25519'), '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `root@${address}`, 'true']),
    ),
  );
  return performance.now() - started;
}

/** Why: 30 booted nodes need more inotify instances than Debian's default 128 (ENVIRONMENT.md). */
async function roomForNodes(nodes: number): Promise<void> {
  const path = '/proc/sys/fs/inotify/max_user_instances';
  const wanted = 256 + 16 * nodes;
  const limit = Number((await readFile(path, 'utf8')).trim());
  if (limit < wanted) {
    await writeFile(path, `${wanted}\n`);
    console.error(`bench/provision: raised fs.inotify.max_user_instances ${limit} -> ${wanted} for ${nodes} lab nodes`);
  }
}

/** Why: idempotent re-runs must stay cheap as clusters grow; this shows how first run and no-op grow. */
export async function benchProvision(sizes: readonly number[], rounds: number): Promise<ProvisionBenchRow[]> {
  const artifacts = await artifactsDir();
  const rows: ProvisionBenchRow[] = [];
  for (const nodes of sizes) {
    if (!Number.isInteger(nodes) || nodes < 2) throw new Error(`bench/provision: a size is a node count >= 2, got ${nodes}`);
    await roomForNodes(nodes);
    const dir = await mkdtemp(join(tmpdir(), 'hardway-bench-provision-'));
    const subnet = await freeSubnet('10.247');
    const workers = nodes - 1;
    const spec = (await labSpec('workers.yaml', `bp${randomBytes(2).toString('hex')}`, subnet)).replace(/( {2}workers:\n {4}count: )\d+/, `$1${workers}`);
    if (!spec.includes(`count: ${workers}`)) throw new Error('bench/provision: examples/lab/workers.yaml has no workers count to change');
    await writeFile(join(dir, 'cluster.yaml'), spec);
    try {
      const first = await up(dir, artifacts, nodes);
      const addresses = [`${subnet}.10`, ...Array.from({ length: workers }, (_, i) => `${subnet}.${40 + i}`)];
      const noop: RunFigures[] = [];
      const opensshMs: number[] = [];
      for (let round = 0; round < rounds; round++) {
        noop.push(await up(dir, artifacts, nodes));
        opensshMs.push(await opensshAll(dir, addresses));
      }
      const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
      rows.push({ nodes, first, noop, opensshMs, load });
    } finally {
      await hardway(['-c', join(dir, 'cluster.yaml'), 'destroy', '--yes'], { timeoutMs: 600_000 });
      await rm(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

export function formatProvisionBench(rows: readonly ProvisionBenchRow[]): string {
  const lines = ['provision: `hardway up` of the workers lab (1 controller + workers), every node at once; offline artifacts, image cached', ''];
  lines.push('nodes  first up  no-op re-run (median)  changed on re-run  round trips/task  OpenSSH `true` on every node  re-run / OpenSSH  load average');
  for (const row of rows) {
    const noop = median(row.noop.map((run) => run.totalMs));
    const ssh = median(row.opensshMs);
    lines.push(
      `${String(row.nodes).padStart(5)}  ${(row.first.totalMs / 1000).toFixed(1).padStart(7)}s  ${(noop / 1000).toFixed(2).padStart(20)}s  ${String(Math.max(...row.noop.map((run) => run.changed))).padStart(17)}  ${median(row.noop.map((run) => run.perTask)).toFixed(2).padStart(16)}  ${(ssh / 1000).toFixed(2).padStart(27)}s  ${(noop / ssh).toFixed(1).padStart(15)}x  ${row.load}`,
    );
  }
  const [smallest, largest] = [rows[0], rows.at(-1)];
  if (smallest && largest && largest !== smallest) {
    const growth = (of: (row: ProvisionBenchRow) => number) => (of(largest) / of(smallest)).toFixed(2);
    lines.push(
      '',
      `growth ${smallest.nodes} -> ${largest.nodes} nodes (${(largest.nodes / smallest.nodes).toFixed(0)}x the nodes): first up ${growth((row) => row.first.totalMs)}x, no-op ${growth((row) => median(row.noop.map((run) => run.totalMs)))}x`,
    );
  }
  if (largest) {
    lines.push('', `per step, ${largest.nodes} nodes: first up / no-op re-run`);
    for (const step of largest.first.steps) {
      const again = median(largest.noop.map((run) => run.steps.find((entry) => entry.step === step.step)?.durationMs ?? NaN));
      lines.push(`  ${step.step.padEnd(18)} ${(step.durationMs / 1000).toFixed(2).padStart(6)}s  ${(again / 1000).toFixed(2).padStart(6)}s`);
    }
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const flag = (name: string) => {
    const index = process.argv.indexOf(name);
    return index > 0 ? process.argv[index + 1] : undefined;
  };
  const sizes = (flag('--sizes') ?? '3,12,30').split(',').map(Number);
  const rows = await benchProvision(sizes, Number(flag('--rounds') ?? 3));
  process.stdout.write(formatProvisionBench(rows));
}
