// The systemd-nspawn command that boots a node, and starting it as a detached process that
// outlives hardway (the lab keeps running between commands).
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { toolEnv } from './exec.ts';

export interface NspawnOptions {
  /** The node's merged overlay root. */
  root: string;
  netns: string;
  machine: string;
  hostname: string;
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
  ];
}

/** Why: the node must keep running after this command exits; its console goes to a log file. */
export function spawnNspawn(options: NspawnOptions, consoleLog: string): Promise<number> {
  const fd = openSync(consoleLog, 'a', 0o600);
  try {
    const child = spawn('systemd-nspawn', nspawnArgs(options), { detached: true, stdio: ['ignore', fd, fd], env: toolEnv(process.env) });
    return new Promise((resolve, reject) => {
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
