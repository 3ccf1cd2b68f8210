// Benchmark: upload throughput of hardway's transport (SFTP over one reused ssh2 connection, atomic
// temp-file-and-rename, mode set) next to OpenSSH `scp` to the same real sshd on 127.0.0.1, in the
// same run, rounds interleaved. Also the no-op re-upload (remote and local sha256 of the file).
//   node bench/transfer.ts [--size-mb 200] [--rounds 3]
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Node } from '../src/inventory/node.ts';
import { createSshPool } from '../src/transport/pool.ts';
import { nativeCryptoAvailable } from '../src/transport/ssh.ts';
import { startSshd } from '../test/helpers/sshd.ts';

const run = promisify(execFile);

export interface TransferBenchResult {
  sizeMB: number;
  hardwayMs: number[];
  scpMs: number[];
  noopMs: number[];
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function writeRandomFile(path: string, sizeMB: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < sizeMB; written += 8) await handle.write(randomBytes(Math.min(8, sizeMB - written) * 1024 * 1024));
  } finally {
    await handle.close();
  }
}

/** Why: DESIGN §11 keeps upload throughput on par with scp; this measures both on the same link. */
export async function transferBench(options: { sizeMB: number; rounds: number }): Promise<TransferBenchResult> {
  const sshd = await startSshd();
  const work = await mkdtemp(join(tmpdir(), 'hardway-bench-transfer-'));
  const pool = createSshPool({ clusterDir: work, ssh: { keyPath: sshd.keyPath, agent: false } });
  try {
    const source = join(work, 'payload.bin');
    await writeRandomFile(source, options.sizeMB);
    const node: Node = { name: 'bench-0', roles: ['controller'], internalIP: '127.0.0.1', sshAddress: sshd.host, sshPort: sshd.port, user: 'root' };
    const transport = await pool.get(node);
    const scpArgs = [
      ...['-q', '-F', '/dev/null', '-i', sshd.keyPath, '-P', String(sshd.port)],
      ...['-o', `UserKnownHostsFile=${join(work, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'],
    ];
    const result: TransferBenchResult = { sizeMB: options.sizeMB, hardwayMs: [], scpMs: [], noopMs: [] };
    for (let round = 0; round < options.rounds; round++) {
      const hardwayDest = join(sshd.dir, 'data', `hardway-${round}`);
      const scpDest = join(sshd.dir, 'data', `scp-${round}`);
      const hardway = () => transport.upload({ path: source }, hardwayDest, { mode: '0755' });
      const scp = () => run('scp', [...scpArgs, source, `root@127.0.0.1:${scpDest}`]);
      // Alternate which goes first, so page cache and CPU frequency favour neither.
      if (round % 2 === 0) {
        result.hardwayMs.push(await timed(hardway));
        result.scpMs.push(await timed(scp));
      } else {
        result.scpMs.push(await timed(scp));
        result.hardwayMs.push(await timed(hardway));
      }
      result.noopMs.push(await timed(hardway));
      await rm(hardwayDest, { force: true });
      await rm(scpDest, { force: true });
    }
    return result;
  } finally {
    await pool.closeAll();
    await sshd.stop();
    await rm(work, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function formatTransferBench(result: TransferBenchResult): string {
  const rate = (ms: number) => (result.sizeMB / (ms / 1000)).toFixed(0);
  const hardway = median(result.hardwayMs);
  const scp = median(result.scpMs);
  return [
    `upload of ${result.sizeMB} MiB to a local OpenSSH sshd, ${result.hardwayMs.length} rounds (median):`,
    `  hardway upload (SFTP, temp file + rename, mode set): ${hardway.toFixed(0)} ms, ${rate(hardway)} MiB/s`,
    `  scp:                                               ${scp.toFixed(0)} ms, ${rate(scp)} MiB/s`,
    `  hardway/scp throughput ratio: ${(scp / hardway).toFixed(2)} (1.00 = same speed, above 1 = faster than scp)`,
    `  no-op re-upload (sha256 on both sides, skipped): ${median(result.noopMs).toFixed(0)} ms`,
    `  ssh2 native crypto addon: ${nativeCryptoAvailable() ? 'loaded' : 'NOT loaded (built for another Node ABI; run npm rebuild ssh2)'}`,
  ].join('\n');
}

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await transferBench({ sizeMB: flag('--size-mb', 200), rounds: flag('--rounds', 3) });
  console.log(formatTransferBench(result));
}
