// Shared by the PKI tests: a cluster directory with the whole catalogue made once per test file,
// copied for each test that changes it, and the real openssl CLI to look at the results.
import { execFileSync, spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveInventory } from '../../src/inventory/derive.ts';
import { applyPkiPlan } from '../../src/pki/apply.ts';
import { planPki } from '../../src/pki/plan.ts';
import type { PkiEnv, PlanOptions } from '../../src/pki/plan-types.ts';
import { clusterSpecSchema, type ClusterSpecInput } from '../../src/spec/schema.ts';

/** 2 controllers, 3 external etcd members, a haproxy LB: 16 entries in the catalogue. */
export const specInput: ClusterSpecInput = {
  name: 'pkitest',
  provider: 'lab',
  nodes: { controllers: { count: 2 }, etcd: { count: 3 } },
  loadBalancer: { dnsName: 'api.pkitest.example' },
  pki: { extraSANs: ['api.example.org', '192.0.2.7'] },
};

export function envFor(clusterDir: string, input: ClusterSpecInput = specInput, now = new Date()): PkiEnv {
  const spec = clusterSpecSchema.parse(input);
  return { clusterDir, spec, inventory: deriveInventory(spec), now };
}

export async function makeTempDir(prefix = 'hardway-pki-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Plan and apply, as the pki step does; returns the plan for its reasons. */
export async function ensure(env: PkiEnv, options: PlanOptions = {}) {
  const plan = await planPki(env, options);
  const result = await applyPkiPlan(plan);
  return { plan, result };
}

/** A copy of a generated cluster directory, for a test that changes it. */
export async function copyCluster(from: string): Promise<string> {
  const to = await makeTempDir();
  await cp(from, to, { recursive: true, preserveTimestamps: true });
  return to;
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** Every file under the directory with its bytes, to prove a re-run wrote nothing. */
export async function snapshot(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(path.slice(dir.length + 1), await readFile(path));
  }
  return files;
}

export function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** openssl's exit status and output, for checks that are expected to fail. */
export function opensslStatus(args: string[]): { status: number | null; output: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** `openssl x509 -text` of a file. */
export function x509Text(file: string): string {
  return openssl(['x509', '-in', file, '-noout', '-text']);
}

/** The SANs as openssl prints them, e.g. ["DNS:kubernetes", "IP Address:10.32.0.1"]. */
export function sansOf(file: string): string[] {
  const text = openssl(['x509', '-in', file, '-noout', '-ext', 'subjectAltName']);
  const line = text.split('\n')[1]?.trim() ?? '';
  return line ? line.split(', ') : [];
}
