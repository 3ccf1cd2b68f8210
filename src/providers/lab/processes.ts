// Finding and stopping the nspawn processes of lab nodes. PIDs are checked against the process's
// command line before any signal, so a reused PID is never signalled by mistake.
import { readdir, readFile } from 'node:fs/promises';
import { isProcessAlive } from '../../util/lock-file.ts';
import { pollOr } from '../../util/poll.ts';

/** The machine a `systemd-nspawn ... -M MACHINE ...` (or --machine=MACHINE) command line runs; undefined for any other command. */
export function nspawnMachineOf(argv: readonly string[]): string | undefined {
  if (!argv[0] || !/(^|\/)systemd-nspawn$/.test(argv[0])) return undefined;
  for (const [index, arg] of argv.entries()) {
    if (arg.startsWith('--machine=')) return arg.slice('--machine='.length);
    if ((arg === '-M' || arg === '--machine') && index + 1 < argv.length) return argv[index + 1];
  }
  return undefined;
}

/** True when argv is `systemd-nspawn ... -M MACHINE ...` (or --machine=MACHINE). */
export function isNspawnFor(argv: readonly string[], machine: string): boolean {
  return nspawnMachineOf(argv) === machine;
}

export async function processArgv(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    const words = raw.split('\0');
    if (words.at(-1) === '') words.pop();
    return words;
  } catch {
    return undefined;
  }
}

/**
 * Why: a crashed run may leave nodes whose PIDs no state recorded; the command line names them.
 * One pass over /proc answers for every machine, so probing n nodes reads the process table once
 * rather than n times (a 30-worker lab runs thousands of processes).
 */
export async function nspawnPidsByMachine(): Promise<Map<string, number[]>> {
  const byMachine = new Map<string, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const argv = await processArgv(pid);
    const machine = argv && nspawnMachineOf(argv);
    if (machine === undefined || !isProcessAlive(pid)) continue;
    byMachine.set(machine, [...(byMachine.get(machine) ?? []), pid]);
  }
  return byMachine;
}

/** The live nspawn processes of one machine. */
export async function findNspawnPids(machine: string): Promise<number[]> {
  return (await nspawnPidsByMachine()).get(machine) ?? [];
}

/** The container's PID 1 as the host sees it: the child of nspawn that leads a PID namespace. */
export async function containerInitPid(nspawnPid: number): Promise<number | undefined> {
  const children = await readFile(`/proc/${nspawnPid}/task/${nspawnPid}/children`, 'utf8').catch(() => '');
  for (const child of children.split(/\s+/).filter(Boolean)) {
    const status = await readFile(`/proc/${child}/status`, 'utf8').catch(() => '');
    const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
    if (nspid && nspid.length > 1 && nspid[nspid.length - 1] === '1') return Number(child);
  }
  return undefined;
}

/** Wait until every PID has exited; false when the bound passed first. */
export async function waitForExit(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  return pollOr(async () => (pids.some(isProcessAlive) ? undefined : true), { timeoutMs, intervalMs: 100 }, () => false);
}

export function signalProcess(pid: number, signal: NodeJS.Signals | number): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
