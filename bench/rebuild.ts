// Benchmark (root, Linux): `hardway rebuild` of an etcd member (and of a controller) in the example
// lab, with the time of each phase. The peer, measured in the same run on the same cluster: a
// no-op `hardway up`, the least a run over every node costs.
//   sudo node bench/rebuild.ts [--rounds 3]
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifactsDir, freeSubnet } from '../test/e2e/lab-helpers.ts';
import { hardway } from '../test/helpers/cli.ts';

const example = fileURLToPath(new URL('../examples/lab/cluster.yaml', import.meta.url));

interface Timed {
  wallMs: number;
  phases: { phase: string; durationMs: number }[];
}

export interface RebuildBenchResult {
  nodes: number;
  noopUpMs: number[];
  etcd: Timed[];
  controller: Timed[];
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

async function timedCli(dir: string, args: string[]): Promise<{ wallMs: number; stdout: string }> {
  const started = performance.now();
  const result = await hardway(['-c', join(dir, 'cluster.yaml'), ...args], { timeoutMs: 900_000 });
  const wallMs = performance.now() - started;
  if (result.code !== 0) throw new Error(`hardway ${args.join(' ')} failed (${result.code}): ${result.stderr}\n${result.stdout.slice(-2000)}`);
  return { wallMs, stdout: result.stdout };
}

async function rebuild(dir: string, node: string, artifacts: string): Promise<Timed> {
  const { wallMs, stdout } = await timedCli(dir, ['--json', 'rebuild', node, '--yes', '--artifacts-dir', artifacts]);
  const report = JSON.parse(stdout) as { phases: { phase: string; durationMs: number }[] };
  return { wallMs, phases: report.phases };
}

/** Why: replacing a member should cost seconds, not the full rebuild of the cluster. */
export async function benchRebuild(rounds: number): Promise<RebuildBenchResult> {
  const artifacts = await artifactsDir();
  const dir = await mkdtemp(join(tmpdir(), 'hardway-bench-rebuild-'));
  const subnet = await freeSubnet('10.243');
  const spec = (await readFile(example, 'utf8')).replace(/^name: .*$/m, `name: br${randomBytes(2).toString('hex')}`).replaceAll('10.240.0.', `${subnet}.`);
  await writeFile(join(dir, 'cluster.yaml'), spec);
  const result: RebuildBenchResult = { nodes: 6, noopUpMs: [], etcd: [], controller: [] };
  try {
    await timedCli(dir, ['up', '--artifacts-dir', artifacts]);
    for (let round = 0; round < rounds; round++) {
      result.noopUpMs.push((await timedCli(dir, ['up', '--artifacts-dir', artifacts])).wallMs);
      result.etcd.push(await rebuild(dir, 'etcd-1', artifacts));
      result.controller.push(await rebuild(dir, 'controller-0', artifacts));
    }
  } finally {
    await hardway(['-c', join(dir, 'cluster.yaml'), 'destroy', '--yes', '--purge'], { timeoutMs: 300_000 });
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}

function phaseLines(runs: readonly Timed[]): string[] {
  const names = runs[0]?.phases.map((entry) => entry.phase) ?? [];
  return names.map((name) => `    ${name.padEnd(14)} ${seconds(median(runs.map((run) => run.phases.find((entry) => entry.phase === name)?.durationMs ?? NaN))).padStart(7)}`);
}

export function formatRebuildBench(result: RebuildBenchResult): string {
  const noop = median(result.noopUpMs);
  const etcd = median(result.etcd.map((run) => run.wallMs));
  const controller = median(result.controller.map((run) => run.wallMs));
  const lines = [
    `rebuild (lab, ${result.nodes} nodes: 3 etcd, 2 controllers, haproxy; offline artifacts, image cached; median of ${result.noopUpMs.length})`,
    '',
    `  no-op hardway up (peer)     ${seconds(noop).padStart(7)}`,
    `  rebuild etcd-1              ${seconds(etcd).padStart(7)}  (${(etcd / noop).toFixed(1)}x the no-op up)`,
    ...phaseLines(result.etcd),
    `  rebuild controller-0        ${seconds(controller).padStart(7)}  (${(controller / noop).toFixed(1)}x the no-op up)`,
    ...phaseLines(result.controller),
  ];
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const index = process.argv.indexOf('--rounds');
  const rounds = index > 0 ? Number(process.argv[index + 1]) : 3;
  process.stdout.write(formatRebuildBench(await benchRebuild(rounds)));
}
