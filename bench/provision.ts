// Benchmark (root, Linux): the example lab's first `hardway up` and its no-op re-run, with
// per-step times, for growing node counts. The peer, measured in the same run on the same nodes:
// OpenSSH opening one connection to every node in parallel and running `true`, which is about
// the least any SSH-driven re-run can cost.
//   sudo node bench/provision.ts [--sizes 1x1,2x3,3x5] [--rounds 3]
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
}

export interface ProvisionBenchRow {
  controllers: number;
  etcd: number;
  nodes: number;
  first: RunFigures;
  noop: RunFigures[];
  opensshMs: number[];
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function up(dir: string, artifacts: string): Promise<RunFigures> {
  const started = performance.now();
  const result = await hardway(['-c', join(dir, 'cluster.yaml'), '--json', 'up', '--artifacts-dir', artifacts], { timeoutMs: 900_000 });
  const totalMs = performance.now() - started;
  if (result.code !== 0) throw new Error(`hardway up failed (${result.code}): ${result.stderr}\n${result.stdout.slice(-2000)}`);
  const report = JSON.parse(result.stdout) as { totals: { changed: number }; stepDurations: { step: string; durationMs: number }[] };
  return { totalMs, changed: report.totals.changed, steps: report.stepDurations };
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

/** Why: idempotent re-runs must stay cheap as clusters grow; this shows where the time goes. */
export async function benchProvision(sizes: readonly [number, number][], rounds: number): Promise<ProvisionBenchRow[]> {
  const artifacts = await artifactsDir();
  const rows: ProvisionBenchRow[] = [];
  for (const [controllers, etcd] of sizes) {
    const dir = await mkdtemp(join(tmpdir(), 'hardway-bench-provision-'));
    const subnet = await freeSubnet('10.247');
    const spec = (await labSpec('cluster.yaml', `bp${randomBytes(2).toString('hex')}`, subnet))
      .replace(/controllers:\n {4}count: \d+/, `controllers:\n    count: ${controllers}`)
      .replace(/count: 3 .*/, `count: ${etcd}`);
    await writeFile(join(dir, 'cluster.yaml'), spec);
    try {
      const first = await up(dir, artifacts);
      const addresses = [...Array.from({ length: controllers }, (_, i) => `${subnet}.${10 + i}`), ...Array.from({ length: etcd }, (_, i) => `${subnet}.${20 + i}`), `${subnet}.30`];
      const noop: RunFigures[] = [];
      const opensshMs: number[] = [];
      for (let round = 0; round < rounds; round++) {
        noop.push(await up(dir, artifacts));
        opensshMs.push(await opensshAll(dir, addresses));
      }
      rows.push({ controllers, etcd, nodes: addresses.length, first, noop, opensshMs });
    } finally {
      await hardway(['-c', join(dir, 'cluster.yaml'), 'destroy', '--yes'], { timeoutMs: 300_000 });
      await rm(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

export function formatProvisionBench(rows: readonly ProvisionBenchRow[]): string {
  const lines = ['provision (lab, offline artifacts, image cached)', ''];
  lines.push('nodes  first up  no-op re-run (median)  changed on re-run  OpenSSH `true` on every node  re-run / OpenSSH');
  for (const row of rows) {
    const noop = median(row.noop.map((run) => run.totalMs));
    const ssh = median(row.opensshMs);
    lines.push(
      `${String(row.nodes).padStart(5)}  ${(row.first.totalMs / 1000).toFixed(1).padStart(7)}s  ${(noop / 1000).toFixed(2).padStart(20)}s  ${String(Math.max(...row.noop.map((run) => run.changed))).padStart(17)}  ${(ssh / 1000).toFixed(2).padStart(27)}s  ${(noop / ssh).toFixed(1).padStart(15)}x`,
    );
  }
  const last = rows.at(-1);
  if (last) {
    lines.push('', `per step, ${last.nodes} nodes: first up / no-op re-run`);
    for (const step of last.first.steps) {
      const again = median(last.noop.map((run) => run.steps.find((entry) => entry.step === step.step)?.durationMs ?? NaN));
      lines.push(`  ${step.step.padEnd(14)} ${(step.durationMs / 1000).toFixed(2).padStart(6)}s  ${(again / 1000).toFixed(2).padStart(6)}s`);
    }
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const flag = (name: string) => {
    const index = process.argv.indexOf(name);
    return index > 0 ? process.argv[index + 1] : undefined;
  };
  const sizes = (flag('--sizes') ?? '1x1,2x3,3x5').split(',').map((size) => size.split('x').map(Number) as [number, number]);
  const rows = await benchProvision(sizes, Number(flag('--rounds') ?? 3));
  process.stdout.write(formatProvisionBench(rows));
}
