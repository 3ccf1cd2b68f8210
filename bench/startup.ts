// How fast the CLI starts: `hardway --version` and `hardway validate` against a bare `node -e 0`,
// each spawned as a new process (as a shell does), hyperfine-style: warm-up runs, then N timed
// runs; prints min, median and max wall time and the median's ratio to `node -e 0`.
// validate runs with the entry bin/hardway.js picks here (src/ in a checkout on Node 24) and with
// HARDWAY_ENTRY=dist when dist/ exists (what an installed package runs).
//
// Usage: node bench/startup.ts [--runs N] [--warmup N]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const bin = fileURLToPath(new URL('../bin/hardway.js', import.meta.url));
const spec = fileURLToPath(new URL('../examples/lab/cluster.yaml', import.meta.url));

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} takes a whole number >= 1`);
  return value;
}
const runs = flag('--runs', 20);
const warmup = flag('--warmup', 3);

interface Case {
  name: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

function once(item: Case): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, item.args, { cwd: root, env: { ...process.env, ...item.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${item.name} exited ${result.status}: ${result.stderr.toString().trim()}`);
  return elapsed;
}

function measure(item: Case): { min: number; median: number; max: number } {
  for (let index = 0; index < warmup; index++) once(item);
  const times = Array.from({ length: runs }, () => once(item)).sort((a, b) => a - b);
  const middle = Math.floor(times.length / 2);
  const median = times.length % 2 ? times[middle]! : (times[middle - 1]! + times[middle]!) / 2;
  return { min: times[0]!, median, max: times.at(-1)! };
}

const cases: Case[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'hardway --version', args: [bin, '--version'] },
  { name: 'hardway validate', args: [bin, 'validate', '-c', spec] },
];
if (existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
  cases.push({ name: 'hardway validate (dist)', args: [bin, 'validate', '-c', spec], env: { HARDWAY_ENTRY: 'dist' } });
}
cases.push({ name: 'hardway validate (no compile cache)', args: [bin, 'validate', '-c', spec], env: { NODE_DISABLE_COMPILE_CACHE: '1' } });

console.log(`startup: Node ${process.version}, ${runs} runs after ${warmup} warm-up runs each, wall time per process`);
let baseline = 0;
for (const item of cases) {
  const { min, median, max } = measure(item);
  if (!baseline) baseline = median;
  console.log(`  ${item.name.padEnd(38)} median ${median.toFixed(1).padStart(6)} ms  (min ${min.toFixed(1)}, max ${max.toFixed(1)})  ${(median / baseline).toFixed(1)}x node -e 0`);
}
