// Kubernetes the hard way to its end, in the lab, as a user runs it (issue 15): the example spec
// with one controller and two workers comes up with `hardway up`, both workers register Ready,
// `hardway smoke` passes every check (a Secret encrypted in etcd, a Deployment Running on both
// workers, port-forward, logs, exec, a NodePort, a pod on worker-0 reaching a pod on worker-1 by
// pod IP), a second `up` changes nothing and restarts nothing (kubelet and containerd included),
// `rebuild worker-1` drains it and it returns Ready with its pods rescheduled, and destroy leaves
// nothing of a worker behind (its cgroups included). Scaling the workers through the spec: 2 -> 1
// drains the dropped worker first (a disruption budget holds), deletes its Node and removes its
// machine; 1 -> 2 brings a new one up Ready. A new kubelet binary is rolled out with a drain. Root and Linux only; real kubelet, kube-proxy,
// containerd, runc and CNI plugins.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineName } from '../../src/providers/lab/names.ts';
import { findNspawnPids } from '../../src/providers/lab/processes.ts';
import { hardway, type CliResult } from '../helpers/cli.ts';
import { artifactsDir, destroyAndCheck, eventually, expectConvergedUp, expectOk, freeSubnet, labSpec, requireRoot } from './lab-helpers.ts';

interface SmokeResult {
  check: string;
  ok: boolean;
  detail: string;
}

const json = <T>(result: CliResult): T => JSON.parse(result.stdout) as T;

describe('lab: 1 controller + 2 workers running real pods', () => {
  const name = `e2w${randomBytes(2).toString('hex')}`;
  let subnet = '';
  let dir = '';
  let artifacts = '';
  const cli = (...args: string[]) => hardway(['-c', join(dir, 'cluster.yaml'), ...args], { timeoutMs: 900_000 });
  const kubectlWith = async (input: string | undefined, ...args: string[]) => (await execa('kubectl', ['--kubeconfig', join(dir, 'kubeconfigs/admin.kubeconfig'), ...args], { input })).stdout.trim();
  const kubectl = (...args: string[]) => kubectlWith(undefined, ...args);
  const readyNodes = async () => {
    const listing = JSON.parse(await kubectl('get', 'nodes', '-o', 'json')) as { items: { metadata: { name: string }; spec: { unschedulable?: boolean }; status: { conditions: { type: string; status: string }[] } }[] };
    return listing.items
      .filter((node) => node.status.conditions.some((condition) => condition.type === 'Ready' && condition.status === 'True') && !node.spec.unschedulable)
      .map((node) => node.metadata.name)
      .sort();
  };
  const webPods = async () => {
    const listing = JSON.parse(await kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')) as { items: { metadata: { name: string }; spec: { nodeName?: string }; status: { phase: string } }[] };
    return listing.items.map((pod) => ({ name: pod.metadata.name, node: pod.spec.nodeName ?? '', phase: pod.status.phase }));
  };

  /** A disruption budget keeping one web pod: a drain must evict, never delete. */
  const keepOneWebPod = async () => {
    const budget = { apiVersion: 'policy/v1beta1', kind: 'PodDisruptionBudget', metadata: { name: 'web' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } } };
    await kubectlWith(JSON.stringify(budget), 'apply', '-f', '-');
    await eventually('the budget to allow one disruption', 60_000, async () => ((await kubectl('get', 'pdb', 'web', '-o', 'jsonpath={.status.disruptionsAllowed}')) === '1' ? true : undefined));
  };
  /** Runs the command while counting the Running web pods every 250 ms. */
  const sampleRunningWebPods = async (command: () => Promise<CliResult>) => {
    let sampling = true;
    const running: number[] = [];
    const sampler = (async () => {
      while (sampling) {
        running.push((await webPods().catch(() => [])).filter((pod) => pod.phase === 'Running').length);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    const result = await command().finally(() => (sampling = false));
    await sampler;
    return { result, running };
  };

  beforeAll(async () => {
    requireRoot();
    subnet = await freeSubnet('10.246');
    artifacts = await artifactsDir();
    dir = await mkdtemp(join(tmpdir(), 'hardway-workers-e2e-'));
    await writeFile(join(dir, 'cluster.yaml'), await labSpec('workers.yaml', name, subnet));
  });

  afterAll(async () => {
    if (!dir) return;
    await destroyAndCheck(cli, name, dir);
    // Each worker had a group of its own in every v1 hierarchy: none is left.
    for (const worker of ['worker-0', 'worker-1']) {
      for (const controller of ['memory', 'cpu', 'pids', 'cpuset', 'devices', 'freezer', 'blkio']) {
        expect(existsSync(`/sys/fs/cgroup/${controller}/hardway/${machineName(name, worker)}`), `${controller} group of ${worker}`).toBe(false);
      }
    }
  });

  it('comes up with `hardway up`: both workers register and are Ready', async () => {
    const up = await cli('up', '--artifacts-dir', artifacts);
    expectOk(up);
    expect(up.stdout).toMatch(/15 steps \(infra, pki, kubeconfigs, encryption, hosts, binaries, etcd, control-plane, loadbalancer, kubelet-access, container-runtime, routes, images, workers, verify\), .* 0 failed/);
    expect(await readyNodes()).toEqual(['worker-0', 'worker-1']);
    // Each worker gives its pods addresses from its own /24 of the cluster CIDR (the bridge CNI config).
    // (Node.spec.podCIDR is the controller-manager's allocation, in registration order: not asserted.)
    for (const [worker, range] of [['worker-0', '10.200.0.0/24'], ['worker-1', '10.200.1.0/24']] as const) {
      const conf = await cli('ssh', worker, '--', 'cat /etc/cni/net.d/10-bridge.conf');
      expectOk(conf);
      expect((JSON.parse(conf.stdout) as { ipam: { ranges: { subnet: string }[][] } }).ipam.ranges[0]![0]!.subnet).toBe(range);
    }
  });

  it('passes every smoke check; a pod on worker-0 reaches a pod on worker-1 by pod IP', async () => {
    const smoke = await cli('--json', 'smoke');
    expectOk(smoke);
    const results = json<SmokeResult[]>(smoke);
    expect(results.map((result) => `${result.check}:${result.ok}`)).toEqual(['secret-encrypted:true', 'deployment:true', 'port-forward:true', 'logs:true', 'exec:true', 'nodeport:true', 'pod-to-pod:true']);
    expect(results.find((result) => result.check === 'deployment')!.detail).toMatch(/Running on (worker-0, worker-1|worker-1, worker-0)$/);
    // Across nodes: from one worker's pod to the other worker's pod, by its pod IP.
    expect(results.find((result) => result.check === 'pod-to-pod')!.detail).toMatch(/on worker-(\d) reached .* on worker-(?!\1)\d at 10\.200\.\d\.\d+: "hardway smoke"/);
  });

  it('reports 0 changed on a second `up` and restarts nothing, kubelet and containerd included', async () => {
    await expectConvergedUp(cli, artifacts, [
      ['controller-0', 'etcd kube-apiserver kube-controller-manager kube-scheduler'],
      ['worker-0', 'containerd kubelet kube-proxy hardway-pod-routes'],
      ['worker-1', 'containerd kubelet kube-proxy hardway-pod-routes'],
    ]);
  });

  it('`rebuild worker-1` drains it first; it returns Ready and its pods are rescheduled', async () => {
    await kubectl('create', 'deployment', 'web', '--image=hardway.local/smoke:1.0', '--replicas=2');
    await kubectl('patch', 'deployment', 'web', '--type=json', '-p', '[{"op":"add","path":"/spec/template/spec/containers/0/imagePullPolicy","value":"Never"}]');
    const placed = await eventually('2 web pods Running on both workers', 180_000, async () => {
      const pods = await webPods();
      const running = pods.filter((pod) => pod.phase === 'Running');
      return running.length === 2 && new Set(running.map((pod) => pod.node)).size === 2 ? running : undefined;
    }).catch(async (error: Error) => {
      // The scheduler may put both on one worker; one on worker-1 is what the drain needs.
      const pods = await webPods();
      if (pods.some((pod) => pod.node === 'worker-1' && pod.phase === 'Running')) return pods;
      throw error;
    });
    const onWorker1 = placed.filter((pod) => pod.node === 'worker-1').map((pod) => pod.name);
    expect(onWorker1.length).toBeGreaterThan(0);
    // A disruption budget (policy/v1beta1: the cluster is 1.20): the drain evicts, so one web pod runs throughout.
    await keepOneWebPod();
    const { result: rebuilt, running } = await sampleRunningWebPods(() => cli('rebuild', 'worker-1', '--yes'));
    expectOk(rebuilt);
    expect(rebuilt.stdout).toMatch(/cordoned worker-1 and evicted \d+ pods from it/);
    expect(running.length).toBeGreaterThan(10);
    expect(Math.min(...running)).toBeGreaterThanOrEqual(1);
    expect(await eventually('worker-1 Ready and schedulable again', 180_000, async () => ((await readyNodes()).includes('worker-1') ? 'ready' : undefined))).toBe('ready');
    const after = await eventually('2 web pods Running again', 180_000, async () => {
      const pods = (await webPods()).filter((pod) => pod.phase === 'Running');
      return pods.length === 2 ? pods : undefined;
    });
    // The pods worker-1 had were drained away: the ones running now are new ones.
    for (const pod of onWorker1) expect(after.map((running) => running.name)).not.toContain(pod);
    await kubectl('delete', 'pdb', 'web');
  });

  it('rolls a new kubelet binary out with a drain (cordon, evict, restart, uncordon); one web pod runs throughout', async () => {
    await keepOneWebPod();
    const onWorker0 = (await webPods()).filter((pod) => pod.node === 'worker-0').map((pod) => pod.name);
    // worker-0's kubelet is not the wanted binary any more (as after a change of versions): the
    // running kubelet keeps its inode, the file on disk differs.
    const altered = await cli('ssh', 'worker-0', '--', 'cp /usr/local/bin/kubelet /usr/local/bin/.kubelet.old && printf x >> /usr/local/bin/.kubelet.old && mv /usr/local/bin/.kubelet.old /usr/local/bin/kubelet');
    expectOk(altered);
    const { result: up, running } = await sampleRunningWebPods(() => cli('--json', 'up', '--artifacts-dir', artifacts));
    expectOk(up);
    const results = JSON.parse(up.stdout).results as { step: string; node: string; task: string; status: string }[];
    const upgrade = results.filter((result) => result.step === 'workers' && /kubectl (drain|uncordon)|new binary|new kubelet/.test(result.task));
    expect(upgrade.map((result) => `${result.node} ${result.task}: ${result.status}`)).toEqual([
      'worker-0 Cordon this worker and evict its pods (kubectl drain): changed',
      'worker-0 Restart the kubelet on its new binary: changed',
      'worker-0 Restart kube-proxy on its new binary: changed',
      'worker-0 Wait until the new kubelet is healthy: ok',
      'worker-0 Let pods back onto this worker (kubectl uncordon): changed',
    ]);
    expect(running.length).toBeGreaterThan(10);
    expect(Math.min(...running)).toBeGreaterThanOrEqual(1);
    expect(await eventually('both workers Ready and schedulable', 120_000, async () => ((await readyNodes()).join(' ') === 'worker-0 worker-1' ? true : undefined))).toBe(true);
    // The pods worker-0 had were evicted: none of them runs any more.
    const now = (await webPods()).map((pod) => pod.name);
    for (const pod of onWorker0) expect(now).not.toContain(pod);
  });

  it('drops worker-1 from the spec: drained first (one web pod runs throughout), its Node deleted, its machine removed', async () => {
    const specPath = join(dir, 'cluster.yaml');
    const spec = await readFile(specPath, 'utf8');
    await keepOneWebPod();
    await writeFile(specPath, spec.replace(/(  workers:\n    count: )2/, '$11'));
    const plan = await cli('plan');
    expectOk(plan);
    expect(plan.stdout).toContain('drain worker worker-1 before the run');
    const { result: up, running } = await sampleRunningWebPods(() => cli('up', '--artifacts-dir', artifacts));
    expectOk(up);
    expect(up.stdout).toMatch(/cordoned worker-1 and evicted \d+ pods from it/);
    expect(up.stdout).toContain('deleted node worker-1 from the API server');
    expect(up.stdout).toMatch(/removed lab node worker-1/);
    expect(Math.min(...running)).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(await kubectl('get', 'nodes', '-o', 'json')).items.map((node: { metadata: { name: string } }) => node.metadata.name)).toEqual(['worker-0']);
    const pods = await eventually('2 web pods Running on worker-0', 180_000, async () => {
      const all = (await webPods()).filter((pod) => pod.phase === 'Running');
      return all.length === 2 ? all : undefined;
    });
    expect(pods.map((pod) => pod.node)).toEqual(['worker-0', 'worker-0']);
    expect(await findNspawnPids(machineName(name, 'worker-1'))).toEqual([]);
    // worker-0 no longer routes to the pod range of the worker that went.
    const routes = await cli('ssh', 'worker-0', '--', 'ip route show');
    expect(routes.stdout).not.toContain('10.200.1.0/24');
    await expectConvergedUp(cli, artifacts, [['worker-0', 'containerd kubelet kube-proxy hardway-pod-routes']]);
    await kubectl('delete', 'deployment', 'web');
    await kubectl('delete', 'pdb', 'web');
  });

  it('grows back to 2 workers: the new worker-1 registers with its own certificates and is Ready', async () => {
    const specPath = join(dir, 'cluster.yaml');
    await writeFile(specPath, (await readFile(specPath, 'utf8')).replace(/(  workers:\n    count: )1/, '$12'));
    const up = await cli('up', '--artifacts-dir', artifacts);
    expectOk(up);
    expect(await eventually('worker-1 Ready', 180_000, async () => ((await readyNodes()).join(' ') === 'worker-0 worker-1' ? true : undefined))).toBe(true);
    const routes = await cli('ssh', 'worker-0', '--', 'ip route show');
    expect(routes.stdout).toMatch(/10\.200\.1\.0\/24 via \S+\.41/);
  });
});
