// `hardway plan --diff` on a running lab cluster: after `up` nothing would change; with the spec
// pointing at an edited copy of units/ (`unitsDir`), it shows the unified diff of the rendered unit
// on every node that gets it and the restart each would cause, and changes nothing (remote files,
// unit invocations and state.json stay as they were). Provision then does what the diff said.
// Root and Linux only; builds its own cluster and destroys it.
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiffStep } from '../../src/cli/plan-diff.ts';
import { hardway } from '../helpers/cli.ts';
import { artifactsDir, expectOk, freeSubnet, labLeftovers, labSpec, requireRoot } from './lab-helpers.ts';

const repo = new URL('../../', import.meta.url).pathname;


describe('lab: plan --diff after editing a unit template', () => {
  const name = `pd${randomBytes(2).toString('hex')}`;
  let subnet = '';
  let dir = '';
  let artifacts = '';
  let spec = '';
  const cli = (...args: string[]) => hardway(['-c', join(dir, 'cluster.yaml'), ...args], { timeoutMs: 600_000 });
  const etcdNodes = ['etcd-0', 'etcd-1', 'etcd-2'];
  const controllers = ['controller-0', 'controller-1'];

  /** sha256 of the unit file and the unit's invocation on a node, read with `hardway ssh`. */
  async function unitState(node: string, unit: string): Promise<string> {
    const result = await cli('ssh', node, '--', `sha256sum /etc/systemd/system/${unit}.service; systemctl show -p InvocationID -p ActiveEnterTimestampMonotonic ${unit}`);
    expectOk(result);
    return result.stdout;
  }

  async function snapshot(): Promise<Record<string, string>> {
    const entries = await Promise.all([...etcdNodes.map((node) => [node, 'etcd'] as const), ...controllers.map((node) => [node, 'kube-scheduler'] as const)].map(async ([node, unit]) => [`${node} ${unit}`, await unitState(node, unit)] as const));
    return { ...Object.fromEntries(entries), state: await readFile(join(dir, '.hardway', 'state.json'), 'utf8') };
  }

  beforeAll(async () => {
    requireRoot();
    subnet = await freeSubnet('10.248');
    artifacts = await artifactsDir();
    dir = await mkdtemp(join(tmpdir(), 'hardway-plan-diff-e2e-'));
    spec = await labSpec('cluster.yaml', name, subnet);
    await writeFile(join(dir, 'cluster.yaml'), spec);
    expectOk(await cli('up', '--artifacts-dir', artifacts));
  });

  afterAll(async () => {
    if (dir) {
      await writeFile(join(dir, 'cluster.yaml'), spec);
      const destroyed = await cli('destroy', '--yes');
      expect(destroyed.code, destroyed.stderr).toBe(0);
      expect(await labLeftovers(name)).toEqual([]);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('shows no change on a converged cluster', async () => {
    const diff = await cli('plan', '--diff', '--artifacts-dir', artifacts, '--json');
    expectOk(diff);
    const steps = (JSON.parse(diff.stdout) as { steps: DiffStep[] }).steps;
    expect(steps.map((step) => step.step)).toEqual(['infra', 'pki', 'kubeconfigs', 'encryption', 'hosts', 'binaries', 'etcd', 'control-plane', 'loadbalancer', 'kubelet-access', 'verify']);
    expect(steps.flatMap((step) => step.nodes)).toEqual([]);
    expect(steps.find((step) => step.step === 'etcd')!.unchanged).toEqual(etcdNodes);
  });

  it('shows the diff of the edited units on every affected node and the restarts, and changes nothing', async () => {
    // An edited copy of units/: the repository's templates stay as they are.
    await cp(join(repo, 'units'), join(dir, 'my-units'), { recursive: true });
    const etcdUnit = join(dir, 'my-units', 'etcd.service');
    await writeFile(etcdUnit, (await readFile(etcdUnit, 'utf8')).replace('LimitNOFILE=65536', 'LimitNOFILE=131072'));
    const schedulerUnit = join(dir, 'my-units', 'kube-scheduler.service');
    await writeFile(schedulerUnit, (await readFile(schedulerUnit, 'utf8')).replace('RestartSec=5', 'RestartSec=7'));
    await writeFile(join(dir, 'cluster.yaml'), `${spec}\nunitsDir: my-units\n`);

    const before = await snapshot();
    const text = await cli('plan', '--diff', '--artifacts-dir', artifacts);
    expectOk(text);
    for (const node of etcdNodes) {
      const section = text.stdout.slice(text.stdout.indexOf(`  ${node} (`));
      expect(section).toMatch(
        new RegExp(
          `^ {4}~ Install the etcd unit: upload \\(content differs: .*\\)\\n {8}--- ${node}:/etc/systemd/system/etcd.service\\n {8}\\+\\+\\+ /etc/systemd/system/etcd.service \\(rendered\\)\\n {8}@@ .* @@\\n(?: {8} .*\\n)*? {8}-LimitNOFILE=65536\\n {8}\\+LimitNOFILE=131072\\n`,
          'm',
        ),
      );
      expect(section).toMatch(/~ handler "restart etcd": Restart etcd: restart etcd\.service\n {8}etcd\.service: active \(running\), enabled -> restart etcd\.service\n/);
    }
    for (const node of controllers) {
      expect(text.stdout).toContain(`--- ${node}:/etc/systemd/system/kube-scheduler.service`);
    }
    expect(text.stdout).toMatch(/-RestartSec=5\n {8}\+RestartSec=7\n/);
    expect(text.stdout).toContain('RECAP (dry run: nothing was changed)');

    const json = await cli('plan', '--diff', '--artifacts-dir', artifacts, '--json');
    expectOk(json);
    const steps = (JSON.parse(json.stdout) as { steps: DiffStep[] }).steps;
    // The member that leads hands its leadership on before its restart: exactly one plans that.
    const HAND_OFF = 'Hand the leadership to another member if this one leads';
    const handOffs = steps.find((entry) => entry.step === 'etcd')!.nodes.filter((node) => node.tasks.some((task) => task.task === HAND_OFF));
    expect(handOffs).toHaveLength(1);
    const changed = (step: string) =>
      steps.find((entry) => entry.step === step)!.nodes.map((node) => `${node.node}: ${node.tasks.filter((task) => task.task !== HAND_OFF).map((task) => `${task.handler ? `${task.handler} / ` : ''}${task.task}`).join('; ')}`);
    expect(changed('etcd')).toEqual(etcdNodes.map((node) => `${node}: Install the etcd unit; Enable and start etcd (all members at once); restart etcd / Restart etcd`));
    // The first service task after a unit changed runs the daemon-reload: kube-apiserver's, on controllers.
    expect(changed('control-plane')).toEqual(controllers.map((node) => `${node}: Install the kube-scheduler unit; Enable and start kube-apiserver; restart kube-scheduler / Restart kube-scheduler`));
    for (const step of ['hosts', 'binaries', 'loadbalancer']) expect(changed(step)).toEqual([]);
    expect(steps.find((entry) => entry.step === 'etcd')!.nodes[0]!.tasks[1]).toMatchObject({ module: 'service', reason: 'daemon-reload (etcd.service changed)' });

    // Nothing changed: the same unit files, the same running invocations, the same state.json.
    expect(await snapshot()).toEqual(before);

    // Provision does what the diff said; afterwards there is nothing left to show.
    const applied = await cli('provision', '--step', 'etcd', '--step', 'control-plane', '--json');
    expectOk(applied);
    const results = (JSON.parse(applied.stdout) as { results: { node: string; task: string; status: string }[] }).results.filter((result) => result.status === 'changed' && result.task !== HAND_OFF);
    expect(results.map((result) => `${result.node}: ${result.task}`).sort()).toEqual(
      [...etcdNodes.flatMap((node) => [`${node}: Install the etcd unit`, `${node}: Enable and start etcd (all members at once)`, `${node}: Restart etcd`]), ...controllers.flatMap((node) => [`${node}: Install the kube-scheduler unit`, `${node}: Enable and start kube-apiserver`, `${node}: Restart kube-scheduler`])].sort(),
    );
    const after = await cli('plan', '--diff', '--step', 'etcd', '--step', 'control-plane', '--json');
    expectOk(after);
    expect((JSON.parse(after.stdout) as { steps: DiffStep[] }).steps.flatMap((step) => step.nodes)).toEqual([]);
  });
});
