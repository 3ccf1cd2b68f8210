// What the lab needs from this machine before it can make nodes: Linux, root, and three tools,
// each named with the Debian package that provides it.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { PrerequisiteError } from '../../errors.ts';
import { SYSTEM_PATH } from './exec.ts';

/** Tool -> the Debian package that installs it. */
export const LAB_TOOLS: Readonly<Record<string, string>> = {
  'systemd-nspawn': 'systemd-container',
  debootstrap: 'debootstrap',
  ip: 'iproute2',
  mount: 'mount',
};

export interface HostFacts {
  platform: NodeJS.Platform;
  euid: number | undefined;
  /** Tools found, by name. */
  has: (tool: string) => Promise<boolean>;
}

export async function findExecutable(tool: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const dirs = [...(env.PATH ?? '').split(':').filter(Boolean), ...SYSTEM_PATH];
  for (const dir of dirs) {
    const path = join(dir, tool);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export function hostFacts(env: NodeJS.ProcessEnv): HostFacts {
  return { platform: process.platform, euid: process.geteuid?.(), has: async (tool) => (await findExecutable(tool, env)) !== undefined };
}

/** Why: a lab run must fail before it changes anything, with one message saying all that is missing. */
export async function checkLabPrerequisites(host: HostFacts): Promise<void> {
  if (host.platform !== 'linux') {
    throw new PrerequisiteError(`the lab provider needs Linux (systemd-nspawn and network namespaces); this is ${host.platform}`, {
      hint: 'Run hardway on a Linux machine or VM, or use the static provider with the Vagrantfile.',
    });
  }
  if (host.euid !== 0) {
    throw new PrerequisiteError('the lab provider needs root: it mounts overlays, creates network namespaces and a bridge, and boots containers', {
      hint: 'Run it with sudo, e.g. `sudo npx hardway up`.',
    });
  }
  const missing: string[] = [];
  for (const [tool, pkg] of Object.entries(LAB_TOOLS)) {
    if (!(await host.has(tool))) missing.push(`${tool} (package ${pkg})`);
  }
  if (missing.length) {
    const packages = missing.map((entry) => /package (\S+)\)/.exec(entry)![1]).join(' ');
    throw new PrerequisiteError(`the lab provider needs ${missing.join(', ')}, not found on this machine`, {
      hint: `Install it: apt-get install ${packages}`,
    });
  }
}
