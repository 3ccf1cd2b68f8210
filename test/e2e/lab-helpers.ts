// Shared by the lab end-to-end tests: root check, offline artifacts, a free subnet, and the
// leftovers check after destroy (namespaces, mounts, links, processes of the cluster).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { CliResult } from '../helpers/cli.ts';
import { cidrsOverlap } from '../../src/inventory/ipv4.ts';
import { clusterRuntimeDir, labRoot, linkPrefix } from '../../src/providers/lab/names.ts';

const exec = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

/** The lab needs root: fail loudly rather than pass by skipping. */
export function requireRoot(): void {
  if (process.platform !== 'linux' || process.geteuid?.() !== 0) {
    throw new Error('the lab end-to-end tests need Linux and root: run `sudo npm run test:e2e`');
  }
}

/**
 * The offline artifacts directory, filled by scripts/fill-artifacts.sh (cached): real Kubernetes
 * v1.20.2 and etcd 3.5.16 (trixie), or with `bookworm` etcd 3.4.23, for upgrades between the two.
 */
export async function artifactsDir(etcdSuite: 'trixie' | 'bookworm' = 'trixie'): Promise<string> {
  const dir = join(process.env.HARDWAY_CACHE_DIR ?? '/var/cache/hardway', etcdSuite === 'trixie' ? 'artifacts' : 'artifacts-etcd-3.4');
  if (!existsSync(join(dir, 'SHA256SUMS'))) await exec('bash', [join(root, 'scripts/fill-artifacts.sh'), '--etcd-suite', etcdSuite, dir], { maxBuffer: 16 * 1024 * 1024 });
  return dir;
}

/** Poll `probe` until it returns a value, at most `timeoutMs`; the error names what was awaited. */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? ` (last: ${(last as Error).message})` : ''}`);
}

/** A /24 under `base` (e.g. "10.245") that no route on this machine overlaps. */
export async function freeSubnet(base: string): Promise<string> {
  const { stdout } = await exec('ip', ['-j', '-4', 'route', 'show']);
  const routes = (JSON.parse(stdout) as { dst: string }[]).map((route) => route.dst).filter((dst) => dst !== 'default');
  for (let attempt = 0; attempt < 50; attempt++) {
    const prefix = `${base}.${1 + (randomBytes(1)[0]! % 250)}`;
    if (!routes.some((dst) => cidrsOverlap(`${prefix}.0/24`, dst.includes('/') ? dst : `${dst}/32`))) return prefix;
  }
  throw new Error(`no free /24 under ${base}`);
}

/** What of the cluster is still on this machine: namespaces, mounts, links, nspawn processes. */
export async function labLeftovers(cluster: string): Promise<string[]> {
  const found: string[] = [];
  const { stdout: netns } = await exec('ip', ['netns', 'list']);
  for (const line of netns.split('\n')) if (line.startsWith(`hw-${cluster}-`)) found.push(`netns ${line.split(' ')[0]}`);
  const runtimeDir = clusterRuntimeDir(labRoot(process.env), cluster);
  for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) if (line.includes(runtimeDir)) found.push(`mount ${line.split(' ')[4]}`);
  for (const link of await readdir('/sys/class/net')) if (link.startsWith(linkPrefix(cluster))) found.push(`link ${link}`);
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('systemd-nspawn') && cmdline.includes(`hw-${cluster}-`)) found.push(`process ${pid}`);
  }
  if (existsSync(runtimeDir)) found.push(`directory ${runtimeDir}`);
  return found;
}

/** An example lab spec (examples/lab/FILE) with its own name and /24, so runs never collide. */
export async function labSpec(file: string, name: string, subnetPrefix: string): Promise<string> {
  const text = await readFile(join(root, 'examples/lab', file), 'utf8');
  const example = /nodeSubnet: (\d+\.\d+\.\d+)\.0\/24/.exec(text)?.[1];
  if (!example) throw new Error(`examples/lab/${file} has no /24 nodeSubnet`);
  return text.replace(/^name: .*$/m, `name: ${name}`).replaceAll(`${example}.`, `${subnetPrefix}.`);
}

/** A CLI run must have succeeded; the failure shows what the user would have seen. */
export function expectOk(result: CliResult): void {
  expect(result.code, `${result.stderr}\n${result.stdout.slice(-3000)}`).toBe(0);
}

/** The `hardway` of one test cluster: `-c DIR/cluster.yaml` first. */
export type ClusterCli = (...args: string[]) => Promise<CliResult>;

/** Destroys the test cluster and checks nothing of it is left on this machine; then removes its directory. */
export async function destroyAndCheck(cli: ClusterCli, cluster: string, dir: string): Promise<void> {
  const destroyed = await cli('destroy', '--yes');
  expect(destroyed.code, destroyed.stderr).toBe(0);
  expect(await labLeftovers(cluster)).toEqual([]);
  await rm(dir, { recursive: true, force: true });
}

/** Each unit's InvocationID and start time on each node: equal before and after means nothing restarted. */
export async function unitStarts(cli: ClusterCli, units: readonly (readonly [node: string, units: string])[]): Promise<string[]> {
  const lines: string[] = [];
  for (const [node, names] of units) {
    const show = await cli('ssh', node, '--', `systemctl show -p InvocationID -p ActiveEnterTimestampMonotonic ${names}`);
    expectOk(show);
    lines.push(`${node}: ${show.stdout.trim()}`);
  }
  return lines;
}

/** The `--json` recap of a run, as far as these tests read it. */
export interface RunJson {
  totals: { ok: number; changed: number; failed: number };
  results: { node: string; task: string; status: string; step: string }[];
}

/** A second `up` on a converged cluster: nothing changed, nothing failed, none of these units restarted. */
export async function expectConvergedUp(cli: ClusterCli, artifacts: string, units: readonly (readonly [node: string, units: string])[]): Promise<RunJson> {
  const before = await unitStarts(cli, units);
  const again = await cli('--json', 'up', '--artifacts-dir', artifacts);
  expectOk(again);
  const report = JSON.parse(again.stdout) as RunJson;
  expect(report.results.filter((result) => result.status === 'changed')).toEqual([]);
  expect(report.totals.failed).toBe(0);
  expect(await unitStarts(cli, units)).toEqual(before);
  return report;
}
