// A lab worker node against the real thing: one systemd-nspawn worker booted by the lab provider,
// Debian's containerd started inside it with a minimal config, the offline images imported with
// ctr, the smoke image serving HTTP (on the node's address and on a CNI bridge address), a real
// v1.20.2 kubelet running it as a static pod, and destroy leaving nothing of it behind (cgroups
// with containers' groups in them, state dirs).
// Needs root on Linux and the offline artifacts (scripts/fill-artifacts.sh, cached).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/engine/state.ts';
import { deriveInventory } from '../../src/inventory/derive.ts';
import type { Node } from '../../src/inventory/node.ts';
import { planText, type ProviderContext } from '../../src/providers/provider.ts';
import { parseCgroupHierarchies } from '../../src/providers/lab/cgroups.ts';
import { createLabProvider } from '../../src/providers/lab/index.ts';
import { labRoot, machineName, nodePaths } from '../../src/providers/lab/names.ts';
import { readLabState } from '../../src/providers/lab/state.ts';
import { workerPlan } from '../../src/providers/lab/worker.ts';
import { clusterSpecSchema } from '../../src/spec/schema.ts';
import { artifactsDir, eventually, freeSubnet, labLeftovers, requireRoot } from './lab-helpers.ts';

const root = new URL('../../', import.meta.url).pathname;

/** The images the artifacts directory offers (IMAGES: "FILE NAME" lines), filled if it predates them. */
async function offlineImages(): Promise<{ dir: string; images: { file: string; name: string }[] }> {
  const dir = await artifactsDir();
  if (!existsSync(join(dir, 'IMAGES'))) await execa('bash', [join(root, 'scripts/fill-artifacts.sh'), dir]);
  const images = (await readFile(join(dir, 'IMAGES'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [file, name] = line.split(' ');
      return { file: file!, name: name! };
    });
  return { dir, images };
}

// Minimal, as the brief of the workers step: cgroupfs (runc's default), no CAP_SYS_RESOURCE on
// this machine (restrict_oom_score_adj), and the pause image's name as the sandbox image.
const CONTAINERD_CONFIG = `version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "k8s.gcr.io/pause:3.2"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
`;

const BRIDGE_CONFLIST = JSON.stringify({
  cniVersion: '0.4.0',
  name: 'e2e',
  plugins: [{ type: 'bridge', bridge: 'cnio0', isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.200.0.0/24' }]] } }, { type: 'loopback' }],
});

const STATIC_POD = `apiVersion: v1
kind: Pod
metadata: { name: smoke, namespace: default }
spec:
  containers:
    - name: smoke
      image: hardway.local/smoke:1.0
      imagePullPolicy: Never
`;

describe('lab worker node (root, systemd-nspawn, containerd)', () => {
  const cluster = `lw-${randomBytes(3).toString('hex')}`;
  // Containers whose PID 1 ignores SIGTERM (busybox httpd) hold a node's poweroff: a short bound.
  const provider = createLabProvider({ stopTimeoutMs: 5_000 });
  let clusterDir = '';
  let ctx: ProviderContext;
  let worker: Node;
  let keyPath = '';
  let destroyed = false;

  const shell = async (command: string, input?: { file: string }): Promise<string> => {
    const { stdout } = await execa(
      'ssh',
      ['-i', keyPath, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', `root@${worker.internalIP}`, command],
      input ? { inputFile: input.file } : { stdin: 'ignore' },
    );
    return stdout.trim();
  };

  beforeAll(async () => {
    requireRoot();
    clusterDir = await mkdtemp(join(tmpdir(), 'hardway-lab-worker-'));
    const spec = clusterSpecSchema.parse({
      name: cluster,
      provider: 'lab',
      network: { nodeSubnet: `${await freeSubnet('10.247')}.0/24` },
      nodes: { controllers: { count: 0 }, workers: { count: 1 } },
      loadBalancer: { type: 'none' },
    });
    ctx = { spec, clusterDir, state: await StateStore.open(clusterDir, cluster), inventory: deriveInventory(spec), log: () => undefined, signal: new AbortController().signal };
    worker = ctx.inventory.nodes[0]!;
    expect(worker.name).toBe('worker-0');
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

  it('boots a worker in its own group of every v1 cgroup hierarchy, with what containers need set up inside', async () => {
    const hostBefore = await Promise.all(['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops', 'net/ipv4/ip_forward'].map((file) => readFile(`/proc/sys/${file}`, 'utf8')));
    expect(planText(await provider.plan(ctx))).toContain(`  ${workerPlan(nodePaths(labRoot(process.env), cluster, 'worker-0').workerState, ctx.spec.network.serviceCIDR)}`);
    await provider.ensure(ctx);
    const record = readLabState(ctx.state)!.nodes['worker-0']!;
    const argv = (await readFile(`/proc/${record.pid}/cmdline`, 'utf8')).split('\0');
    for (const flag of ['--capability=CAP_NET_ADMIN,CAP_SYSLOG', '--system-call-filter=@keyring', '--bind-ro=/dev/kmsg']) expect(argv).toContain(flag);
    const groups = await readFile(`/proc/${record.pid}/cgroup`, 'utf8');
    for (const controller of ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids']) {
      expect(groups).toMatch(new RegExp(`^\\d+:${controller}:/hardway/${record.machine}$`, 'm'));
    }

    expect(await shell('systemctl is-system-running --wait || systemctl --failed --no-legend')).toBe('running');
    expect(await shell('systemctl is-active hardway-lab-worker.service')).toBe('active');
    // The image has containerd for every node; only the workers step enables it.
    expect(await shell('systemctl is-enabled containerd.service || true')).toBe('disabled');
    expect(await shell('cat /proc/sys/net/ipv4/ip_forward /proc/sys/vm/overcommit_memory /proc/sys/kernel/panic /proc/sys/kernel/panic_on_oops')).toBe('1\n1\n10\n1');
    expect(await shell('mkdir /sys/fs/cgroup/memory/e2e && rmdir /sys/fs/cgroup/memory/e2e && echo writable')).toBe('writable');
    expect(await shell(`ip -4 route show ${ctx.spec.network.serviceCIDR}`)).toBe(`${ctx.spec.network.serviceCIDR} dev eth0 scope link`);
    expect(await shell('stat -f -c %T /var/lib/containerd /var/lib/kubelet /var/log/pods')).not.toContain('overlay');
    // This machine's own values did not move.
    const hostAfter = await Promise.all(['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops', 'net/ipv4/ip_forward'].map((file) => readFile(`/proc/sys/${file}`, 'utf8')));
    expect(hostAfter).toEqual(hostBefore);
  });

  it('imports the offline pause and smoke images with ctr and serves HTTP from the smoke image', async () => {
    const { dir, images } = await offlineImages();
    expect(images.map(({ name }) => name)).toEqual(['k8s.gcr.io/pause:3.2', 'hardway.local/smoke:1.0']);
    await shell('mkdir -p /etc/hardway-e2e /etc/cni/net.d');
    await shell('cat > /etc/hardway-e2e/containerd.toml', { file: await tempFile('containerd.toml', CONTAINERD_CONFIG) });
    await shell('cat > /etc/cni/net.d/10-e2e.conflist', { file: await tempFile('10-e2e.conflist', BRIDGE_CONFLIST) });
    await shell('systemd-run --unit=e2e-containerd /usr/bin/containerd --config /etc/hardway-e2e/containerd.toml');
    await eventually('containerd to answer', 30_000, async () => ((await shell('ctr version >/dev/null && echo up')) === 'up' ? true : undefined));
    for (const { file, name } of images) {
      await shell(`cat > /root/${file}`, { file: join(dir, file) });
      expect(await shell(`ctr -n k8s.io images import /root/${file}`)).toContain(name);
    }
    expect((await shell('ctr -n k8s.io images ls -q')).split('\n')).toEqual(expect.arrayContaining(images.map(({ name }) => name)));

    // On the node's own network: this machine reaches it at the node's address.
    await shell('ctr -n k8s.io run -d --net-host hardway.local/smoke:1.0 smoke-host');
    const page = await eventually('the smoke image to answer on 8080', 30_000, async () => {
      const response = await fetch(`http://${worker.internalIP}:8080/`, { signal: AbortSignal.timeout(3000) });
      return response.ok ? await response.text() : undefined;
    });
    expect(page).toBe('hardway smoke\n');

    // On a CNI bridge (Debian's plugins in /usr/lib/cni), as a pod would be, and the sandbox image runs.
    await shell('ctr -n k8s.io run -d --cni hardway.local/smoke:1.0 smoke-cni');
    const podIP = await shell("ctr -n k8s.io tasks exec --exec-id ip smoke-cni ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1");
    expect(podIP).toMatch(/^10\.200\.0\.\d+$/);
    expect(await shell(`curl -s --max-time 5 http://${podIP}:8080/`)).toBe('hardway smoke');
    await shell('ctr -n k8s.io run -d k8s.gcr.io/pause:3.2 pause');
    expect(await shell('ctr -n k8s.io tasks ls')).toMatch(/pause\s+\d+\s+RUNNING/);

    // The containers' groups are inside the worker's own, in every v1 hierarchy.
    const machine = machineName(cluster, 'worker-0');
    for (const controller of ['memory', 'cpu', 'pids']) expect(existsSync(`/sys/fs/cgroup/${controller}/hardway/${machine}/k8s.io/smoke-cni`)).toBe(true);
  });

  it('boots a killed worker again with its images kept and its settings and route back', async () => {
    expect(await provider.stopNode(ctx, 'worker-0', { hard: true })).toBe(true);
    await provider.ensure(ctx);
    expect(await shell('systemctl is-system-running --wait || systemctl --failed --no-legend')).toBe('running');
    expect(await shell('cat /proc/sys/net/ipv4/ip_forward /proc/sys/vm/overcommit_memory')).toBe('1\n1');
    expect(await shell(`ip -4 route show ${ctx.spec.network.serviceCIDR}`)).toBe(`${ctx.spec.network.serviceCIDR} dev eth0 scope link`);
    const record = readLabState(ctx.state)!.nodes['worker-0']!;
    expect(await readFile(`/proc/${record.pid}/cgroup`, 'utf8')).toMatch(new RegExp(`^\\d+:memory:/hardway/${record.machine}$`, 'm'));
    // The killed containers' groups went with the old boot; the runtime's state stayed on disk.
    expect(existsSync(`/sys/fs/cgroup/memory/hardway/${record.machine}/k8s.io/smoke-cni`)).toBe(false);
    await shell('systemd-run --unit=e2e-containerd /usr/bin/containerd --config /etc/hardway-e2e/containerd.toml');
    const names = await eventually('containerd to list the kept images', 30_000, async () => {
      const listed = await shell('ctr -n k8s.io images ls -q').catch(() => '');
      return listed.includes('hardway.local/smoke:1.0') ? listed : undefined;
    });
    expect(names).toContain('k8s.gcr.io/pause:3.2');
    await shell('ctr -n k8s.io containers rm smoke-host smoke-cni pause');
    await shell('ctr -n k8s.io run -d --net-host hardway.local/smoke:1.0 smoke-again');
    const page = await eventually('the smoke image to answer again', 30_000, async () => {
      const response = await fetch(`http://${worker.internalIP}:8080/`, { signal: AbortSignal.timeout(3000) });
      return response.ok ? await response.text() : undefined;
    });
    expect(page).toBe('hardway smoke\n');
  });

  it('runs a standalone kubelet v1.20.2 whose static pod serves the smoke image on the CNI bridge', async () => {
    const { dir } = await offlineImages();
    await shell('cat > /usr/local/bin/kubelet && chmod 0755 /usr/local/bin/kubelet', { file: join(dir, 'kubelet') });
    await shell('mkdir -p /etc/kubernetes/manifests');
    await shell('cat > /etc/kubernetes/manifests/smoke.yaml', { file: await tempFile('smoke.yaml', STATIC_POD) });
    // No API server: kubelet runs the manifests it finds, through containerd's CRI, as it would pods.
    await shell(
      `systemd-run --unit=e2e-kubelet /usr/local/bin/kubelet --container-runtime=remote --container-runtime-endpoint=unix:///run/containerd/containerd.sock --cgroup-driver=cgroupfs --pod-manifest-path=/etc/kubernetes/manifests --node-ip=${worker.internalIP} --hostname-override=worker-0`,
    );
    const container = await eventually('kubelet to start the static pod\'s container', 120_000, async () => {
      const id = await shell(`ctr -n k8s.io containers ls -q 'labels."io.kubernetes.container.name"==smoke'`);
      return id && (await shell(`ctr -n k8s.io tasks ls | grep '^${id} .*RUNNING' || true`)) ? id : undefined;
    });
    const podIP = await shell(`ctr -n k8s.io tasks exec --exec-id ip ${container} ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1`);
    expect(podIP).toMatch(/^10\.200\.0\.\d+$/);
    expect(await shell(`curl -s --max-time 5 http://${podIP}:8080/`)).toBe('hardway smoke');
    // Its cgroups are below the worker's own group, not at the top of this machine's hierarchies.
    const machine = machineName(cluster, 'worker-0');
    expect(existsSync(`/sys/fs/cgroup/memory/hardway/${machine}/kubepods/besteffort`)).toBe(true);
    expect(await shell('ls /var/log/pods')).toMatch(/^default_smoke-worker-0_/);
    expect(await shell('systemctl is-active e2e-kubelet')).toBe('active');
  });

  it('destroy removes the worker with its containers\' cgroups and its state directories', async () => {
    const machine = machineName(cluster, 'worker-0');
    const hierarchies = parseCgroupHierarchies(await readFile('/proc/self/mountinfo', 'utf8'));
    const groups = hierarchies.map((hierarchy) => join(hierarchy.mount, 'hardway', machine));
    expect(groups.filter((group) => existsSync(group)).length).toBeGreaterThanOrEqual(10);
    const paths = nodePaths(labRoot(process.env), cluster, 'worker-0');
    expect(existsSync(join(paths.workerState, 'var-lib-containerd/io.containerd.content.v1.content'))).toBe(true);

    await provider.destroy(ctx, {});
    destroyed = true;
    expect(groups.filter((group) => existsSync(group))).toEqual([]);
    expect(existsSync(paths.dir)).toBe(false);
    expect(await labLeftovers(cluster)).toEqual([]);
  });

  async function tempFile(name: string, text: string): Promise<string> {
    const path = join(clusterDir, name);
    await writeFile(path, text);
    return path;
  }
});
