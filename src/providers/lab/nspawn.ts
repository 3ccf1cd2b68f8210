// The systemd-nspawn command that boots a node, and starting it as a detached process that
// outlives hardway (the lab keeps running between commands), in a control group of its own.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { prepareNodeCgroups, systemdIsInit } from './cgroups.ts';
import { toolEnv } from './exec.ts';
import { NODE_CAPABILITIES, WORKER_CAPABILITIES, workerNspawnArgs } from './worker.ts';

export interface NspawnOptions {
  /** The node's merged overlay root. */
  root: string;
  netns: string;
  machine: string;
  hostname: string;
  /** Set for a worker: where its container runtime's state lives on this machine (see worker.ts). */
  workerState?: string;
}

/**
 * The host's PID 1 may not be systemd, so nspawn must neither register with machined nor create a
 * scope unit (--register=no --keep-unit); the node's network is the namespace made beforehand.
 * Host settings files, journal linking and resolv.conf copying stay off: a node is self-contained.
 */
export function nspawnArgs(options: NspawnOptions): string[] {
  return [
    '--quiet',
    `--directory=${options.root}`,
    '--register=no',
    '--keep-unit',
    `--network-namespace-path=/run/netns/${options.netns}`,
    '--boot',
    '-M',
    options.machine,
    `--hostname=${options.hostname}`,
    '--link-journal=no',
    '--resolv-conf=off',
    '--settings=false',
    '--console=read-only',
    `--capability=${(options.workerState ? WORKER_CAPABILITIES : NODE_CAPABILITIES).join(',')}`,
    ...(options.workerState ? workerNspawnArgs(options.workerState) : []),
  ];
}

/** Moves itself into each cgroup given before `--`, then becomes the command after it (same PID). */
export const ENTER_CGROUPS_SCRIPT = 'while [ "$1" != "--" ]; do echo $$ > "$1/cgroup.procs" || exit 97; shift; done; shift; exec "$@"';

/**
 * The full command line: on a systemd host, systemd-run gives the node a transient scope of its own
 * (a worker's with its controllers delegated, for kubelet's and containerd's groups); elsewhere a
 * tiny sh enters the node's prepared cgroups and execs nspawn.
 */
export function launchCommand(options: NspawnOptions, placement: { systemd: true } | { systemd: false; cgroups: string[] }): [string, string[]] {
  const nspawn = ['systemd-nspawn', ...nspawnArgs(options)];
  if (placement.systemd) {
    const delegate = options.workerState ? ['--property=Delegate=yes'] : [];
    return ['systemd-run', ['--scope', '--quiet', '--collect', `--unit=${options.machine}`, ...delegate, '--', ...nspawn]];
  }
  return ['sh', ['-c', ENTER_CGROUPS_SCRIPT, 'hardway-enter-cgroups', ...placement.cgroups, '--', ...nspawn]];
}

/** Why: the node must keep running after this command exits; its console goes to a log file. */
export async function spawnNspawn(options: NspawnOptions, consoleLog: string): Promise<number> {
  const placement = systemdIsInit() ? ({ systemd: true } as const) : ({ systemd: false, cgroups: await prepareNodeCgroups(options.machine, options.workerState !== undefined) } as const);
  const [file, args] = launchCommand(options, placement);
  const fd = openSync(consoleLog, 'a', 0o600);
  try {
    const child = spawn(file, args, { detached: true, stdio: ['ignore', fd, fd], env: toolEnv(process.env) });
    return await new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => {
        child.unref();
        resolve(child.pid!);
      });
    });
  } finally {
    closeSync(fd);
  }
}
