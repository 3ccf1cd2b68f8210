import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hardway } from '../helpers/cli.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-cli-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const examples = new URL('../../examples/', import.meta.url).pathname;

describe('hardway CLI', () => {
  it('prints its version and help with examples, exit 0', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await hardway(['--version'])).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const help = await hardway(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Commands:[\s\S]*init[\s\S]*validate[\s\S]*plan[\s\S]*provision/);
    for (const command of ['init', 'validate', 'plan', 'provision', 'up']) {
      const result = await hardway([command, '--help']);
      expect(result.code, command).toBe(0);
      expect(result.stdout, command).toMatch(/Examples?:\n  (sudo )?hardway /);
    }
  });

  it('exits 2 on an unknown option or command', async () => {
    expect((await hardway(['provision', '--bogus'])).code).toBe(2);
    expect((await hardway(['frobnicate'])).code).toBe(2);
    expect((await hardway(['--concurrency', '0', 'validate'])).code).toBe(2);
  });

  it('init writes a commented, valid cluster.yaml per provider and a .gitignore for keys', async () => {
    for (const provider of ['lab', 'aws', 'static']) {
      const target = join(dir, provider);
      const result = await hardway(['init', target, '--provider', provider]);
      expect(result.code, result.stderr).toBe(0);
      const text = await readFile(join(target, 'cluster.yaml'), 'utf8');
      expect(text).toMatch(new RegExp(`^name: ${provider}$`, 'm'));
      expect(text).toMatch(/^# /m);
      expect(await readFile(join(target, '.gitignore'), 'utf8')).toMatch(/pki\/\*-key\.pem/);
      expect((await stat(target)).mode & 0o777).toBe(0o700);
      const validation = await hardway(['validate', '-c', join(target, 'cluster.yaml')]);
      expect(validation.code, validation.stderr).toBe(0);
    }
    const again = await hardway(['init', join(dir, 'lab')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/cluster.yaml exists; pass --force/);
  });

  it('validate: an invalid spec exits 2 with file:line field and no stack trace', async () => {
    const text = (await readFile(join(examples, 'lab/cluster.yaml'), 'utf8')).replace(/count: 3 .*/, 'count: 2 # even');
    await writeFile(join(dir, 'cluster.yaml'), text);
    const result = await hardway(['validate'], { cwd: dir });
    expect(result.code).toBe(2);
    const line = text.split('\n').findIndex((row) => row.includes('count: 2 # even')) + 1;
    expect(result.stderr).toBe(`error: ./cluster.yaml:${line} nodes.etcd.count: must be an odd number >= 1\n`);
    const verbose = await hardway(['validate', '--verbose'], { cwd: dir });
    expect(verbose.stderr).toMatch(/at .*\.ts:\d+/);
  });

  it('validate --json prints the inventory', async () => {
    const result = await hardway(['validate', '--json', '-c', join(examples, 'lab/cluster.yaml')]);
    expect(result.code).toBe(0);
    const data = JSON.parse(result.stdout) as { valid: boolean; inventory: { nodes: { name: string }[] } };
    expect(data.valid).toBe(true);
    expect(data.inventory.nodes.map((node) => node.name)).toEqual(['controller-0', 'controller-1', 'etcd-0', 'etcd-1', 'etcd-2', 'lb-0']);
  });

  it('a missing spec exits 2 and says how to make one', async () => {
    const result = await hardway(['validate', '-c', join(dir, 'nope.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/nope.yaml: no such file\nCreate one with `hardway init --provider lab`/);
  });
});

describe('hardway plan and provision through the CLI', () => {
  it('plan --step etcd lists only the etcd tasks, once per etcd node; --nodes narrows it', async () => {
    const config = join(examples, 'lab/cluster.yaml');
    const plan = await hardway(['plan', '-c', config, '--step', 'etcd']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/^Plan for cluster lab \(lab\): etcd$/m);
    expect(plan.stdout.match(/^ {2}(\S+) \(10\.240\.0\.\d+\)$/gm)?.map((line) => line.trim().split(' ')[0])).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    expect(plan.stdout).not.toMatch(/controller-0|kube-apiserver/);
    expect(plan.stdout.match(/Install the etcd unit/g)).toHaveLength(3);
    const one = await hardway(['--json', 'plan', '-c', config, '--step', 'etcd', '--nodes', 'etcd-0']);
    const data = JSON.parse(one.stdout) as { steps: { step: string; nodes: { name: string }[] }[] };
    expect(data.steps.map((step) => [step.step, step.nodes.map((node) => node.name)])).toEqual([['etcd', ['etcd-0']]]);
  });

  it('plan shows the loadbalancer step as provision runs it: haproxy on the lb node, or the NLB targets from the workstation', async () => {
    const lab = await hardway(['plan', '-c', join(examples, 'lab/cluster.yaml'), '--step', 'loadbalancer']);
    expect(lab.code, lab.stderr).toBe(0);
    expect(lab.stdout).toContain('  lb-0 (10.240.0.30)\n     1. Install haproxy');
    expect(lab.stdout).toContain('validate="haproxy -c -f %s"');
    expect(lab.stdout).toContain('  once, on the workstation, after every node\'s tasks above:\n     1. Register the controllers as NLB targets and wait until they are healthy\n        skipped: only with load balancer nlb (this cluster has haproxy)\n');
    const aws = await hardway(['--json', 'plan', '-c', join(examples, 'aws/cluster.yaml'), '--step', 'loadbalancer']);
    expect(aws.code, aws.stderr).toBe(0);
    const [step] = (JSON.parse(aws.stdout) as { steps: { nodes: unknown[]; once: { node: string; task: { module: string; skipped?: string } }[] }[] }).steps;
    expect(step!.nodes).toEqual([]);
    expect(step!.once).toEqual([{ node: 'local', task: expect.objectContaining({ module: 'nlb-targets' }) }]);
    expect(step!.once[0]!.task.skipped).toBeUndefined();
  });

  it('provision refuses a step whose prerequisite never ran, naming it; exit 2', async () => {
    await writeFile(join(dir, 'cluster.yaml'), await readFile(join(examples, 'lab/cluster.yaml'), 'utf8'));
    const result = await hardway(['provision', '--step', 'kubeconfigs'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: step "kubeconfigs" needs "pki", which has not completed\nRun --step pki first, or add --with-deps to run what is missing.\n');
  });

  it('runs a local step without a terminal: plain output, no cursor codes, and 0 changed the second time', async () => {
    await writeFile(join(dir, 'cluster.yaml'), await readFile(join(examples, 'lab/cluster.yaml'), 'utf8'));
    const first = await hardway(['provision', '--step', 'encryption'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).not.toContain('\u001b');
    expect(first.stdout).toMatch(/RECAP[\s\S]*1 step \(encryption\), 0 ok, 1 changed, 0 failed/);
    const second = await hardway(['provision', '--step', 'encryption'], { cwd: dir });
    expect(second.stdout).toMatch(/1 step \(encryption\), 1 ok, 0 changed, 0 failed/);
    const state = JSON.parse(await readFile(join(dir, '.hardway/state.json'), 'utf8')) as { steps: Record<string, Record<string, { status: string }>> };
    expect(state.steps.encryption?.local?.status).toBe('done');
  });

  it('refuses a change of versions the skew policy forbids, before anything runs, naming the spec; exit 2', async () => {
    const spec = (await readFile(join(examples, 'lab/cluster.yaml'), 'utf8')).replace('kubernetes: "1.20.2"', 'kubernetes: "1.22.17"');
    await writeFile(join(dir, 'cluster.yaml'), spec);
    // The state of a cluster that runs 1.20.2 (recorded by its last complete run).
    const first = await hardway(['provision', '--step', 'encryption'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const statePath = join(dir, '.hardway/state.json');
    const state = JSON.parse(await readFile(statePath, 'utf8')) as { operations: Record<string, unknown> };
    state.operations.deployedVersions = { kubernetes: '1.20.2', etcd: '3.5.16' };
    await writeFile(statePath, JSON.stringify(state));
    const refused = await hardway(['provision', '--dry-run'], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('refusing to change the cluster\'s versions:\n  - versions.kubernetes: 1.20.2 -> 1.22.17 skips 1 minor version');
    expect(refused.stderr).toContain('cluster.yaml');
    expect(refused.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('refuses to run while another run holds the lock', async () => {
    await writeFile(join(dir, 'cluster.yaml'), await readFile(join(examples, 'lab/cluster.yaml'), 'utf8'));
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, '.hardway'), { recursive: true });
    const { hostname } = await import('node:os');
    // This test process is alive: its lock is not stale.
    await writeFile(join(dir, '.hardway/lock'), JSON.stringify({ pid: process.pid, host: hostname(), command: 'hardway up', startedAt: 'now' }));
    const result = await hardway(['provision', '--step', 'encryption'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/another hardway run holds the lock on this cluster: pid \d+/);
  });
});
