// What a worker sets up inside itself at every boot, before containerd and kubelet start: a
// oneshot unit seeded into the node's root by the provider (written again at each start, so a
// newer hardway's version replaces an older one). Each line of the script says why it is needed.
import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const WORKER_SETUP_UNIT = 'hardway-lab-worker.service';
export const WORKER_SETUP_SCRIPT = '/usr/local/sbin/hardway-lab-worker-setup';

/**
 * Values kubelet insists on for host-wide kernel settings (it would write them otherwise). They are
 * not namespaced: writing them in a node would change this machine's, so each is a small file
 * bound over the setting inside the node only. The host keeps its own values.
 */
export const PINNED_KERNEL_SETTINGS: Readonly<Record<string, string>> = {
  'vm/overcommit_memory': '1',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
};

export function workerSetupScript(): string {
  const pins = Object.entries(PINNED_KERNEL_SETTINGS).map(([setting, value]) => `pin ${setting} ${value}`);
  return [
    '#!/bin/sh',
    '# hardway lab worker: what a systemd-nspawn node needs before containerd and kubelet can run',
    '# pods. Written by the lab provider at every start of the node; run by hardway-lab-worker.service.',
    'set -eu',
    '',
    '# 1. nspawn mounts the v1 cgroup hierarchies read-only; kubelet and containerd (cgroupfs driver)',
    '#    create the pods\' groups in them. They are bind mounts of this node\'s own groups, so they can',
    '#    be made writable without reaching the host\'s; a plain `remount,rw` fails with "busy", a',
    '#    remount of the bind itself works.',
    "awk '{ for (i = 7; i <= NF; i++) if ($i == \"-\") break; if ($(i + 1) == \"cgroup\") print $5 }' /proc/self/mountinfo |",
    '  while read -r hierarchy; do mount -o remount,bind,rw "$hierarchy"; done',
    '',
    '# 2. Pods reach each other through this node: it must forward IPv4. With a network namespace',
    '#    given to nspawn, /proc/sys/net stays read-only; it is this node\'s own namespace\'s, so it is',
    '#    made writable by binding it over itself. The machine\'s own forwarding setting is untouched.',
    'if ! { echo 1 > /proc/sys/net/ipv4/ip_forward; } 2>/dev/null; then',
    '  mount --bind /proc/sys/net /proc/sys/net',
    '  mount -o remount,bind,rw /proc/sys/net',
    '  echo 1 > /proc/sys/net/ipv4/ip_forward',
    'fi',
    '',
    '# 3. kubelet wants vm.overcommit_memory=1, kernel.panic=10, kernel.panic_on_oops=1. These are',
    '#    the machine\'s, not the node\'s: a small file with the value is bound over each, inside this',
    '#    node only.',
    'mkdir -p /run/hardway-lab-worker',
    'pin() {',
    '  [ "$(cat "/proc/sys/$1")" = "$2" ] && return 0',
    '  file="/run/hardway-lab-worker/$(echo "$1" | tr / .)"',
    '  echo "$2" > "$file"',
    '  mount --bind "$file" "/proc/sys/$1"',
    '}',
    ...pins,
    '',
  ].join('\n');
}

export function workerSetupUnit(): string {
  return [
    '# hardway lab worker: makes this nspawn node able to run containers (see the script).',
    '[Unit]',
    'Description=hardway lab: cgroups, forwarding and kernel settings for containers',
    'Before=containerd.service kubelet.service kube-proxy.service',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${WORKER_SETUP_SCRIPT}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** Write the unit and its script into a worker's root and enable it (no systemd running yet). */
export async function seedWorkerSetup(root: string): Promise<void> {
  const script = join(root, WORKER_SETUP_SCRIPT);
  await mkdir(join(script, '..'), { recursive: true });
  await writeFile(script, workerSetupScript(), { mode: 0o755 });
  await chmod(script, 0o755);
  const units = join(root, 'etc/systemd/system');
  await mkdir(units, { recursive: true });
  await writeFile(join(units, WORKER_SETUP_UNIT), workerSetupUnit());
  const wants = join(units, 'multi-user.target.wants');
  await mkdir(wants, { recursive: true });
  await rm(join(wants, WORKER_SETUP_UNIT), { force: true });
  await symlink(`/etc/systemd/system/${WORKER_SETUP_UNIT}`, join(wants, WORKER_SETUP_UNIT));
}
