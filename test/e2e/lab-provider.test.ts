// The lab provider against the real thing: debootstrap image, systemd-nspawn nodes in their own
// network namespaces on a bridge, OpenSSH from the host. Needs root on Linux; cleans up after
// itself even when a test fails. The first run builds the node image (about a minute), later runs
// reuse the cache.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/engine/state.ts';
import { deriveInventory } from '../../src/inventory/derive.ts';
import { addressInCidr, cidrsOverlap } from '../../src/inventory/ipv4.ts';
import { SpecError } from '../../src/errors.ts';
import type { ProviderContext } from '../../src/providers/provider.ts';
import { createLabProvider } from '../../src/providers/lab/index.ts';
import { clusterRuntimeDir, labRoot, linkPrefix, machineName, netnsName } from '../../src/providers/lab/names.ts';
import { findNspawnPids } from '../../src/providers/lab/processes.ts';
import { readLabState, recordLab } from '../../src/providers/lab/state.ts';
import { nodeCgroupDirs, parseCgroupHierarchies, systemdIsInit } from '../../src/providers/lab/cgroups.ts';
import { clusterSpecSchema } from '../../src/spec/schema.ts';

const canRun = process.platform === 'linux' && process.geteuid?.() === 0;

/** A /24 in 10.250.0.0/16 that nothing on this machine uses yet. */
async function freeSubnet(): Promise<string> {
  const { stdout } = await execa('ip', ['-j', '-4', 'route', 'show']);
  const routes = (JSON.parse(stdout) as { dst: string }[]).map((route) => route.dst).filter((dst) => dst !== 'default');
  for (let attempt = 0; attempt < 50; attempt++) {
    const subnet = `10.250.${1 + randomBytes(1)[0]! % 254}.0/24`;
    if (!routes.some((dst) => cidrsOverlap(subnet, dst.includes('/') ? dst : `${dst}/32`))) return subnet;
  }
  throw new Error('no free /24 in 10.250.0.0/16');
}

async function nodeShell(keyPath: string, ip: string, command: string): Promise<string> {
  const { stdout } = await execa('ssh', [
    '-i', keyPath,
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=5',
    '-o', 'LogLevel=ERROR',
    `root@${ip}`,
    command,
  ]);
  return stdout.trim();
}

describe.skipIf(!canRun)('lab provider (root, systemd-nspawn)', () => {
  const cluster = `lt-${randomBytes(3).toString('hex')}`;
  const provider = createLabProvider();
  const log: string[] = [];
  let clusterDir = '';
  let ctx: ProviderContext;
  let keyPath = '';
  let destroyed = false;

  beforeAll(async () => {
    clusterDir = await mkdtemp(join(tmpdir(), 'hardway-lab-'));
    const spec = clusterSpecSchema.parse({
      name: cluster,
      provider: 'lab',
      topology: 'external',
      network: { nodeSubnet: await freeSubnet() },
      nodes: { controllers: { count: 1 }, etcd: { count: 1 } },
      loadBalancer: { type: 'haproxy' },
    });
    ctx = {
      spec,
      clusterDir,
      state: await StateStore.open(clusterDir, cluster),
      inventory: deriveInventory(spec),
      log: (line) => log.push(line),
      signal: new AbortController().signal,
    };
    keyPath = join(clusterDir, spec.ssh.keyPath);
    await provider.preflight(ctx);
  });

  afterAll(async () => {
    try {
      if (ctx && !destroyed) await provider.destroy(ctx, {});
    } finally {
      if (clusterDir) await rm(clusterDir, { recursive: true, force: true });
    }
  });

  it('boots every node with its own address, name and sshd, reachable from the host', async () => {
    const result = await provider.ensure(ctx);
    const names = ctx.inventory.nodes.map((node) => node.name);
    expect(names).toEqual(['controller-0', 'etcd-0', 'lb-0']);
    for (const name of names) expect(result.created.some((line) => line.startsWith(`node ${name} `))).toBe(true);
    expect(result.facts.sshAddresses).toEqual(Object.fromEntries(ctx.inventory.nodes.map((node) => [node.name, node.internalIP])));

    const hostKeys = new Set<string>();
    for (const node of ctx.inventory.nodes) {
      expect(await nodeShell(keyPath, node.internalIP, 'hostname')).toBe(node.name);
      const status = await nodeShell(keyPath, node.internalIP, 'systemctl is-system-running --wait || systemctl --failed --no-legend');
      expect(status).toBe('running');
      // Only the subnet's own route: nothing can leave the bridge.
      expect(await nodeShell(keyPath, node.internalIP, 'ip -4 route')).toBe(`${ctx.spec.network.nodeSubnet} dev eth0 proto kernel scope link src ${node.internalIP} `.trim());
      // haproxy waits for the loadbalancer step; python3 is there for the stand-ins.
      expect(await nodeShell(keyPath, node.internalIP, 'systemctl is-enabled haproxy || true')).toBe('disabled');
      expect(await nodeShell(keyPath, node.internalIP, 'python3 -c "print(6*7)"')).toBe('42');
      hostKeys.add(await nodeShell(keyPath, node.internalIP, 'cat /etc/ssh/ssh_host_ed25519_key.pub'));
    }
    expect(hostKeys.size).toBe(3);

    // Nothing arriving from the lab is routed off this machine.
    const lab = readLabState(ctx.state)!;
    expect((await readFile(`/proc/sys/net/ipv4/conf/${lab.bridge}/forwarding`, 'utf8')).trim()).toBe('0');
    expect(Object.keys(lab.nodes).sort()).toEqual(names);
    for (const record of Object.values(lab.nodes)) {
      expect(await findNspawnPids(record.machine)).toEqual([record.pid]);
      // Each node in a cgroup of its own: nodes sharing one would fight over it.
      if (!systemdIsInit()) expect(await readFile(`/proc/${record.pid}/cgroup`, 'utf8')).toContain(`/hardway/${record.machine}/`);
    }
  });

  it('finds the running nodes on a second ensure and creates nothing', async () => {
    const before = readLabState(ctx.state)!;
    const result = await provider.ensure(ctx);
    expect(result.created).toEqual([]);
    expect(result.found.filter((line) => line.startsWith('node '))).toHaveLength(3);
    expect(result.found.some((line) => line.startsWith('image '))).toBe(true);
    expect(result.found.some((line) => line.startsWith('bridge '))).toBe(true);
    const after = readLabState(ctx.state)!;
    for (const name of Object.keys(before.nodes)) expect(after.nodes[name]!.pid).toBe(before.nodes[name]!.pid);
    const plan = await provider.plan(ctx);
    expect(plan.filter((resource) => resource.action !== 'found')).toEqual([]);
    // Each running node is one a dry run looks at rather than plans fresh.
    expect(plan.flatMap((resource) => resource.existingNode ?? []).sort()).toEqual(ctx.inventory.nodes.map((node) => node.name).sort());
  });

  it('refuses a second cluster on the same subnet before creating anything', async () => {
    const other = `lt-${randomBytes(3).toString('hex')}`;
    const otherDir = await mkdtemp(join(tmpdir(), 'hardway-lab-'));
    try {
      const spec = clusterSpecSchema.parse({ ...ctx.spec, name: other });
      const otherCtx: ProviderContext = { ...ctx, spec, clusterDir: otherDir, state: StateStore.inMemory(other), inventory: deriveInventory(spec) };
      const error = await provider.ensure(otherCtx).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SpecError);
      expect((error as SpecError).message).toContain(`overlaps ${addressInCidr(ctx.spec.network.nodeSubnet, 1)}/24 on this machine's interface ${linkPrefix(cluster)}-br`);
      expect((await readdir('/sys/class/net')).filter((link) => link.startsWith(linkPrefix(other)))).toEqual([]);
      expect(existsSync(clusterRuntimeDir(labRoot(process.env), other))).toBe(false);
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it('boots a killed node again on its own disk', async () => {
    const etcd = ctx.inventory.nodes.find((node) => node.name === 'etcd-0')!;
    await nodeShell(keyPath, etcd.internalIP, 'echo kept > /root/data');
    expect(await provider.stopNode(ctx, 'etcd-0', { hard: true })).toBe(true);
    expect(await findNspawnPids(machineName(cluster, 'etcd-0'))).toEqual([]);
    await expect(nodeShell(keyPath, etcd.internalIP, 'true')).rejects.toThrow();
    expect(await provider.plan(ctx)).toContainEqual({ action: 'change', text: `start node etcd-0 (${etcd.internalIP}) again on its existing disk (no nspawn process)`, existingNode: 'etcd-0' });

    const result = await provider.ensure(ctx);
    expect(result.created).toEqual([`node etcd-0 (${etcd.internalIP})`]);
    expect(await nodeShell(keyPath, etcd.internalIP, 'cat /root/data')).toBe('kept');
  });

  it('replaces a node with a fresh disk, same name and address', async () => {
    const controller = ctx.inventory.nodes.find((node) => node.name === 'controller-0')!;
    await nodeShell(keyPath, controller.internalIP, 'echo old > /root/marker');
    const oldHostKey = await nodeShell(keyPath, controller.internalIP, 'cat /etc/ssh/ssh_host_ed25519_key.pub');
    const oldPid = readLabState(ctx.state)!.nodes['controller-0']!.pid;

    await provider.replace(ctx, controller);
    expect(await nodeShell(keyPath, controller.internalIP, 'test -e /root/marker && echo present || echo gone')).toBe('gone');
    expect(await nodeShell(keyPath, controller.internalIP, 'hostname')).toBe('controller-0');
    expect(await nodeShell(keyPath, controller.internalIP, 'cat /etc/ssh/ssh_host_ed25519_key.pub')).not.toBe(oldHostKey);
    const newPid = readLabState(ctx.state)!.nodes['controller-0']!.pid;
    expect(newPid).not.toBe(oldPid);
    expect(await findNspawnPids(machineName(cluster, 'controller-0'))).toEqual([newPid]);
  });

  it('destroy leaves no namespace, mount, link or process of the cluster, and keeps the image', async () => {
    const image = readLabState(ctx.state)!.image;
    // As after a crash that lost state.json: destroy must find everything from the system itself.
    await recordLab(ctx.state, () => undefined);
    const removed = await provider.destroy(ctx, {});
    destroyed = true;
    expect(removed).toContain(`bridge ${linkPrefix(cluster)}-br`);

    const { stdout: netns } = await execa('ip', ['netns', 'list']);
    for (const node of ctx.inventory.nodes) expect(netns).not.toContain(netnsName(cluster, node.name));
    const runtimeDir = clusterRuntimeDir(labRoot(process.env), cluster);
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(runtimeDir);
    expect((await readdir('/sys/class/net')).filter((link) => link.startsWith(linkPrefix(cluster)))).toEqual([]);
    for (const node of ctx.inventory.nodes) expect(await findNspawnPids(machineName(cluster, node.name))).toEqual([]);
    expect(existsSync(runtimeDir)).toBe(false);
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    const cgroupDirs = ctx.inventory.nodes.flatMap((node) => nodeCgroupDirs(parseCgroupHierarchies(mountinfo), machineName(cluster, node.name)));
    expect(cgroupDirs.length).toBeGreaterThan(0);
    expect(cgroupDirs.filter((dir) => existsSync(dir))).toEqual([]);
    expect(readLabState(ctx.state)).toBeUndefined();
    expect(existsSync(image)).toBe(true);

    // A second destroy finds nothing to do.
    expect(await provider.destroy(ctx, {})).toEqual([]);
  });
});
