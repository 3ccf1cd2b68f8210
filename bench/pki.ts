// Benchmark: the full PKI catalogue of a 3-etcd + 3-controller cluster, made by hardway, next to
// the same catalogue made with the openssl CLI (one command after another, as a shell script
// would, and as many at once as there are CPUs), in the same run. Also the no-op re-run.
//   node bench/pki.ts [--rounds N] [--key-size 2048]
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { deriveInventory } from '../src/inventory/derive.ts';
import { applyPkiPlan } from '../src/pki/apply.ts';
import { catalog, PROFILE_USAGES, splitHosts, type CatalogEntry } from '../src/pki/catalog.ts';
import { planChanges, planPki } from '../src/pki/plan.ts';
import type { PkiEnv } from '../src/pki/plan-types.ts';
import { clusterSpecSchema } from '../src/spec/schema.ts';

const run = promisify(execFile);

export interface PkiBenchResult {
  certificates: number;
  keySize: number;
  hardwayMs: number[];
  noopMs: number[];
  opensslSequentialMs: number[];
  opensslParallelMs: number[];
  parallelism: number;
}

export function benchEnv(clusterDir: string, keySize: number): PkiEnv {
  const spec = clusterSpecSchema.parse({
    name: 'bench',
    provider: 'lab',
    nodes: { controllers: { count: 3 }, etcd: { count: 3 } },
    pki: { keySize },
  });
  return { clusterDir, spec, inventory: deriveInventory(spec), now: new Date() };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** The openssl commands for one catalogue entry, with the same subject, SANs and usages. */
function opensslSteps(entry: CatalogEntry, dir: string, keySize: number, spec: PkiEnv['spec']): { config?: [string, string]; commands: string[][] } {
  const file = (suffix: string) => join(dir, `${entry.name}${suffix}`);
  const names = { ...spec.pki.names, ...(entry.organization ? { O: entry.organization } : {}) };
  const subject = `/C=${names.C}/ST=${names.ST}/L=${names.L}/O=${names.O}/OU=${names.OU}/CN=${entry.cn}`;
  if (entry.kind === 'keypair') {
    return { commands: [['genrsa', '-out', file('-key.pem'), String(keySize)], ['rsa', '-in', file('-key.pem'), '-pubout', '-out', file('.pem')]] };
  }
  if (entry.kind === 'ca') {
    return {
      commands: [
        ['req', '-x509', '-newkey', `rsa:${keySize}`, '-nodes', '-sha256', '-days', '3650', '-keyout', file('-key.pem'), '-out', file('.pem'), '-subj', subject,
          '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      ],
    };
  }
  const { dns, ips } = splitHosts(entry.hosts);
  const usages = PROFILE_USAGES[entry.profile!];
  const eku = [usages.includes('server auth') ? 'serverAuth' : '', usages.includes('client auth') ? 'clientAuth' : ''].filter(Boolean).join(',');
  const extensions = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${eku}`,
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
    ...(entry.hosts.length ? [`subjectAltName=${[...dns.map((name) => `DNS:${name}`), ...ips.map((ip) => `IP:${ip}`)].join(',')}`] : []),
  ];
  const ca = join(dir, entry.signer!);
  return {
    config: [file('.ext'), `${extensions.join('\n')}\n`],
    commands: [
      ['req', '-new', '-newkey', `rsa:${keySize}`, '-nodes', '-keyout', file('-key.pem'), '-out', file('.csr'), '-subj', subject],
      ['x509', '-req', '-in', file('.csr'), '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-set_serial', `0x${randomSerialHex()}`, '-days', '365', '-sha256', '-extfile', file('.ext'), '-out', file('.pem')],
    ],
  };
}

function randomSerialHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return Buffer.from(bytes).toString('hex');
}

/** CAs first (everything else needs them), then the rest `parallelism` at a time. */
export async function opensslCatalogue(env: PkiEnv, dir: string, parallelism: number): Promise<void> {
  const entries = catalog(env.spec, env.inventory);
  const jobs = entries.map((entry) => opensslSteps(entry, dir, env.spec.pki.keySize, env.spec));
  const runJob = async (job: (typeof jobs)[number]) => {
    if (job.config) await writeFile(job.config[0], job.config[1]);
    for (const command of job.commands) await run('openssl', command);
  };
  const cas = jobs.filter((_, index) => entries[index]!.kind === 'ca');
  const rest = jobs.filter((_, index) => entries[index]!.kind !== 'ca');
  for (const batch of [cas, rest]) {
    const queue = [...batch];
    await Promise.all(Array.from({ length: Math.min(parallelism, queue.length) }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) await runJob(job);
    }));
  }
}

export async function benchPki(rounds = 3, keySize = 2048): Promise<PkiBenchResult> {
  const parallelism = availableParallelism();
  const result: PkiBenchResult = { certificates: 0, keySize, hardwayMs: [], noopMs: [], opensslSequentialMs: [], opensslParallelMs: [], parallelism };
  for (let round = 0; round < rounds; round += 1) {
    const root = await mkdtemp(join(tmpdir(), 'hardway-bench-pki-'));
    try {
      const env = benchEnv(join(root, 'hardway'), keySize);
      result.certificates = catalog(env.spec, env.inventory).length;
      result.hardwayMs.push(await timed(async () => applyPkiPlan(await planPki(env))));
      result.noopMs.push(await timed(async () => {
        if (planChanges(await planPki({ ...env, now: new Date() }))) throw new Error('a re-run found changes');
      }));
      for (const [name, width] of [['sequential', 1], ['parallel', parallelism]] as const) {
        const dir = join(root, `openssl-${name}`);
        await mkdir(dir, { recursive: true });
        const ms = await timed(() => opensslCatalogue(env, dir, width));
        (name === 'sequential' ? result.opensslSequentialMs : result.opensslParallelMs).push(ms);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }
  return result;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export function formatPkiBench(result: PkiBenchResult): string {
  const row = (label: string, values: number[]) => `  ${label.padEnd(36)} median ${median(values).toFixed(0).padStart(6)} ms   (${values.map((value) => value.toFixed(0)).join(', ')})`;
  return [
    `PKI catalogue of a 3-etcd + 3-controller cluster: ${result.certificates} entries, RSA ${result.keySize}, ${result.hardwayMs.length} rounds, ${result.parallelism} CPUs`,
    row('hardway (native keys in parallel)', result.hardwayMs),
    row('hardway no-op re-run (check only)', result.noopMs),
    row('openssl CLI, one command at a time', result.opensslSequentialMs),
    row(`openssl CLI, ${result.parallelism} at a time`, result.opensslParallelMs),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const flag = (name: string, fallback: number) => {
    const index = process.argv.indexOf(name);
    return index > 0 ? Number(process.argv[index + 1]) : fallback;
  };
  console.log(formatPkiBench(await benchPki(flag('--rounds', 3), flag('--key-size', 2048))));
}
