// The node image: a Debian root made once with debootstrap and shared read-only by every node's
// overlay. Cached under a name keyed by everything that shapes it (packages, suite, mirror,
// customisation), and built in a temporary directory renamed into place, so a crash never
// leaves half an image where a node could boot from it.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HardwayError } from '../../errors.ts';
import { runCommand } from './exec.ts';
import { removeTree } from './mounts.ts';
import { withLock } from '../../util/lock-file.ts';

/**
 * What every node needs: a real systemd and sshd, python3 for the kube-* stand-ins, haproxy for lb.
 * Workers run real pods with Debian's own container stack, so the one image serves every role:
 * containerd 1.6 and runc, the CNI plugins in /usr/lib/cni (bridge, host-local, loopback, portmap),
 * iptables (kubelet's and kube-proxy's iptables mode, the bridge plugin's masquerade) and conntrack
 * (kube-proxy clears stale UDP flows with it). No socat: containerd's CRI does port-forward itself.
 */
export const IMAGE_PACKAGES: readonly string[] = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'iproute2',
  'ca-certificates',
  'python3',
  'haproxy',
  'curl',
  'containerd',
  'runc',
  'containernetworking-plugins',
  'iptables',
  'conntrack',
];

/** Bump when customiseImage changes, so images cached by an older hardway are rebuilt. */
export const IMAGE_RECIPE = 3;

/**
 * Units that fail or misbehave in a container, or must wait for a step: masked (never start).
 * haproxy and containerd are only disabled: the loadbalancer and workers steps enable them with
 * systemctl on the nodes that need them, and every other node never runs them.
 */
export const MASKED_UNITS: readonly string[] = [];
export const DISABLED_UNITS: readonly string[] = ['haproxy.service', 'containerd.service'];

export interface ImageInputs {
  suite: string;
  mirror: string;
  packages: readonly string[];
  arch: string;
}

export function imageKey(inputs: ImageInputs): string {
  const canonical = JSON.stringify({ recipe: IMAGE_RECIPE, suite: inputs.suite, mirror: inputs.mirror, arch: inputs.arch, packages: [...inputs.packages].sort() });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}

export function imageName(inputs: ImageInputs): string {
  return `node-${inputs.suite}-${imageKey(inputs)}`;
}

export function imagesDir(cacheRoot: string): string {
  return join(cacheRoot, 'lab-images');
}

/** The debootstrap command line (minbase: only what is named, no recommends). */
export function debootstrapArgs(inputs: ImageInputs, target: string): string[] {
  return ['--variant=minbase', `--include=${inputs.packages.join(',')}`, inputs.suite, target, inputs.mirror];
}

/** The marker written last into a finished image; its presence is what "cached" means. */
export const IMAGE_MARKER = 'etc/hardway-image.json';

export interface Image {
  name: string;
  path: string;
  /** True when this call built it. */
  built: boolean;
}

export interface ImageContext {
  cacheRoot: string;
  inputs: ImageInputs;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export async function findImage(cacheRoot: string, inputs: ImageInputs): Promise<string | undefined> {
  const path = join(imagesDir(cacheRoot), imageName(inputs));
  try {
    await stat(join(path, IMAGE_MARKER));
    return path;
  } catch {
    return undefined;
  }
}

/** Why: every node boots from the same image; building it once keeps a lab up in seconds. */
export async function ensureImage(ctx: ImageContext): Promise<Image> {
  const name = imageName(ctx.inputs);
  const found = await findImage(ctx.cacheRoot, ctx.inputs);
  if (found) return { name, path: found, built: false };
  const dir = imagesDir(ctx.cacheRoot);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  return withLock(join(dir, `${name}.lock`), { log: ctx.log, signal: ctx.signal, what: `building the node image ${name}`, pollMs: 2000 }, async () => {
    // Another process may have finished it while we waited for the lock.
    const built = await findImage(ctx.cacheRoot, ctx.inputs);
    if (built) return { name, path: built, built: false };
    await removeStaleBuilds(dir, name, ctx.signal);
    const temp = join(dir, `.build-${name}-${randomBytes(4).toString('hex')}`);
    const logFile = join(dir, `${name}.log`);
    await writeFile(logFile, '');
    ctx.log(`building the node image ${name} with debootstrap (${ctx.inputs.suite} from ${ctx.inputs.mirror}); once, about a minute`);
    try {
      const started = performance.now();
      // debootstrap takes a minute: every 10 s its latest `I: ...` line says how far it got.
      const ticker = setInterval(() => {
        void lastDebootstrapLine(logFile).then((line) => ctx.log(`debootstrap, ${Math.round((performance.now() - started) / 1000)} s: ${line ?? 'starting'}`));
      }, 10_000);
      try {
        await runCommand('debootstrap', debootstrapArgs(ctx.inputs, temp), { signal: ctx.signal, logFile, purpose: `build the node image ${name}` });
      } finally {
        clearInterval(ticker);
      }
      await customiseImage(temp, ctx.inputs);
      const path = join(dir, name);
      await rename(temp, path);
      return { name, path, built: true };
    } catch (error) {
      await removeTree(temp).catch(() => undefined);
      if (error instanceof HardwayError) throw error;
      throw new HardwayError(`could not build the node image ${name}: ${(error as Error).message}`, { cause: error, hint: `The debootstrap output is in ${logFile}.` });
    }
  });
}

/** The last progress line debootstrap wrote to its log (`I: Retrieving ...`), if any yet. */
export async function lastDebootstrapLine(logFile: string): Promise<string | undefined> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.startsWith('I: ')).at(-1)?.slice(3).trim();
}

/** Builds interrupted by a crash (no lock holder any more): unmount what debootstrap left and delete. */
async function removeStaleBuilds(dir: string, name: string, signal?: AbortSignal): Promise<void> {
  for (const entry of await readdir(dir)) {
    if (entry.startsWith(`.build-${name}-`)) await removeTree(join(dir, entry), signal);
  }
}

/** Make the debootstrapped root fit to be many nodes: no shared identities, sshd ready for keys. */
export async function customiseImage(root: string, inputs: ImageInputs): Promise<void> {
  // Each node gets its own host keys (generated at its first boot) and machine-id (seeded per node).
  for (const entry of await readdir(join(root, 'etc/ssh'))) {
    if (entry.startsWith('ssh_host_')) await rm(join(root, 'etc/ssh', entry), { force: true });
  }
  await writeFile(join(root, 'etc/machine-id'), '');
  // debootstrap copies this machine's hostname; a node gets its own name when it is seeded.
  await writeFile(join(root, 'etc/hostname'), 'localhost\n');
  await writeFile(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  await rm(join(root, 'var/lib/dbus/machine-id'), { force: true });
  await writeUnitFile(root, 'ssh.service.d/hardway-host-keys.conf', [
    '# hardway: the image has no host keys; each node makes its own before sshd first starts.',
    '[Service]',
    'ExecStartPre=',
    'ExecStartPre=/usr/bin/ssh-keygen -A',
    'ExecStartPre=/usr/sbin/sshd -t',
    '',
  ]);
  await mkdir(join(root, 'etc/ssh/sshd_config.d'), { recursive: true });
  await writeFile(
    join(root, 'etc/ssh/sshd_config.d/hardway.conf'),
    ['# hardway lab node: root logs in with the cluster key only.', 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UseDNS no', ''].join('\n'),
  );
  await mkdir(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
  await chmod(join(root, 'root/.ssh'), 0o700);
  for (const unit of DISABLED_UNITS) await disableUnit(root, unit);
  for (const unit of MASKED_UNITS) await maskUnit(root, unit);
  // The downloaded .debs are not needed once installed.
  const archives = join(root, 'var/cache/apt/archives');
  for (const entry of await readdir(archives).catch(() => [] as string[])) {
    if (entry.endsWith('.deb')) await rm(join(archives, entry), { force: true });
  }
  await writeFile(join(root, IMAGE_MARKER), `${JSON.stringify({ name: imageName(inputs), ...inputs, recipe: IMAGE_RECIPE, builtAt: new Date().toISOString() }, null, 2)}\n`);
}

async function writeUnitFile(root: string, relative: string, lines: string[]): Promise<void> {
  const path = join(root, 'etc/systemd/system', relative);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, lines.join('\n'));
}

/** `systemctl disable` without a running systemd: remove the unit's links from every *.wants dir. */
async function disableUnit(root: string, unit: string): Promise<void> {
  const system = join(root, 'etc/systemd/system');
  for (const entry of await readdir(system)) {
    if (entry.endsWith('.wants')) await rm(join(system, entry, unit), { force: true });
  }
}

/** `systemctl mask` without a running systemd. */
async function maskUnit(root: string, unit: string): Promise<void> {
  const path = join(root, 'etc/systemd/system', unit);
  await rm(path, { force: true });
  await symlink('/dev/null', path);
}
