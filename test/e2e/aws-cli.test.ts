// The aws provider through the `hardway` command, as a user runs it, against a real moto_server in
// a network namespace with only `lo` up (the CLI runs in that namespace too, so nothing can reach
// an address moto invents): infra (with the example's two workers and their pod routes), then pki
// with the NLB's name in the apiserver certificate, a re-run that creates nothing, plan listing
// what exists, and destroy leaving nothing tagged.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardwayBin } from '../helpers/cli.ts';
import { motoEnv, motoRoot, requireRoot, startMoto, type MotoServer } from '../helpers/moto.ts';

const exec = promisify(execFile);
const DEBIAN = '136693071363';

describe('hardway CLI with the aws provider, against moto', () => {
  const name = `hwc-${randomBytes(3).toString('hex')}`;
  let moto: MotoServer | undefined;
  let dir = '';
  const env = () => ({ ...motoEnv(moto!), CI: 'true' });
  const cli = (...args: string[]) => moto!.runNode([hardwayBin, '-c', join(dir, 'cluster.yaml'), ...args], env());
  const driver = (...args: string[]) => moto!.runNode(['test/e2e/aws-driver.ts', dir, ...args], env());

  beforeAll(async () => {
    requireRoot('the aws CLI e2e test');
    moto = await startMoto({
      root: await motoRoot(),
      amis: [{ ami_id: 'ami-0a1b2c3d4e5f60718', name: 'debian-12-amd64-20250601-2100', owner_id: DEBIAN, architecture: 'x86_64', creation_date: '2025-06-01T21:00:00.000Z' }],
    });
    dir = await mkdtemp(join(tmpdir(), 'hardway-aws-cli-'));
    const spec = (await readFile(new URL('../../examples/aws/cluster.yaml', import.meta.url), 'utf8'))
      .replace(/^name: .*$/m, `name: ${name}`)
      .replace(/^ {2}keyPath: .*$/m, '  keyPath: ssh/id_ed25519')
      .replace(/^ {2}region: .*$/m, '  region: eu-west-1');
    await writeFile(join(dir, 'cluster.yaml'), spec);
    // The aws-driver's independent Describe calls read the same spec as data.
    const { parse } = await import('yaml');
    await writeFile(join(dir, 'cluster.json'), JSON.stringify(parse(spec)));
  });

  afterAll(async () => {
    await moto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('plan --diff --step infra lists what would be created, and changes nothing', async () => {
    const plan = await cli('plan', '--diff', '--step', 'infra');
    expect(plan.code, `${plan.stderr}\n${plan.stdout}`).toBe(0);
    expect(plan.stdout).toMatch(/\+ create .*vpc/i);
    expect(plan.stdout).toMatch(/\+ create .*instance .*controller-0/i);
    // The example's two workers: instances, the source/dest check off, a route to each one's pods.
    expect(plan.stdout).toMatch(/\+ create instance worker-1 \(10\.240\.0\.41, t3\.medium/);
    expect(plan.stdout).toMatch(/\+ change instance worker-0 once launched: source\/dest check off/);
    expect(plan.stdout).toMatch(/\+ create route 10\.200\.1\.0\/24 -> the new instance of worker-1/);
    const inventory = await driver('inventory');
    const found = JSON.parse(inventory.stdout.trim().split('\n').pop() ?? '{}') as { result: { instances: unknown[]; vpcs: unknown[] } };
    expect(found.result.instances).toEqual([]);
    expect(found.result.vpcs).toEqual([]);
  });

  it('provision --step infra --step pki: the apiserver certificate carries the NLB DNS name', async () => {
    const run = await cli('--json', 'provision', '--step', 'infra', '--step', 'pki');
    expect(run.code, `${run.stderr}\n${run.stdout.slice(-3000)}`).toBe(0);
    const state = JSON.parse(await readFile(join(dir, '.hardway/state.json'), 'utf8')) as { providerFacts: { loadBalancerDNSName?: string } };
    const dnsName = state.providerFacts.loadBalancerDNSName;
    expect(dnsName).toMatch(/elb\./);
    const { stdout } = await exec('openssl', ['x509', '-in', join(dir, 'pki/kube-apiserver.pem'), '-noout', '-ext', 'subjectAltName']);
    expect(stdout).toContain(`DNS:${dnsName}`);
    const inventory = await driver('inventory');
    const found = JSON.parse(inventory.stdout.trim().split('\n').pop() ?? '{}') as {
      result: { instances: { id: string; privateIp: string; sourceDestCheck: boolean }[]; podRoutes: { cidr: string; instanceId: string }[] };
    };
    const { instances, podRoutes } = found.result;
    expect(instances.map((instance) => instance.privateIp).sort()).toEqual(['10.240.0.10', '10.240.0.11', '10.240.0.20', '10.240.0.21', '10.240.0.22', '10.240.0.40', '10.240.0.41']);
    const ipOf = new Map(instances.map((instance) => [instance.id, instance.privateIp]));
    expect(podRoutes.map((route) => [route.cidr, ipOf.get(route.instanceId)]).sort()).toEqual([
      ['10.200.0.0/24', '10.240.0.40'],
      ['10.200.1.0/24', '10.240.0.41'],
    ]);
    expect(instances.filter((instance) => !instance.sourceDestCheck).map((instance) => instance.privateIp).sort()).toEqual(['10.240.0.40', '10.240.0.41']);
  });

  it('a second infra run creates nothing, and plan lists what it found', async () => {
    const again = await cli('--json', 'provision', '--step', 'infra');
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout) as { totals: { changed: number } };
    expect(report.totals.changed).toBe(0);
    const dry = await cli('provision', '--step', 'infra', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/found all/);
  });

  it('destroy --yes leaves no resource tagged with the cluster', async () => {
    const destroyed = await cli('destroy', '--yes');
    expect(destroyed.code, `${destroyed.stderr}\n${destroyed.stdout}`).toBe(0);
    const inventory = await driver('inventory');
    const found = JSON.parse(inventory.stdout.trim().split('\n').pop() ?? '{}') as { result: Record<string, unknown[]> };
    for (const [kind, items] of Object.entries(found.result)) {
      if (!Array.isArray(items)) continue;
      // Terminated instances stay listed for a while on AWS (and in moto); nothing else may.
      const live = kind === 'instances' ? (items as { state: string }[]).filter((instance) => instance.state !== 'terminated') : items;
      expect(live, kind).toEqual([]);
    }
    expect((found.result.instances as unknown[]).length).toBe(7);
  });
});
