// The AWS provider against a real moto_server (Debian's python3-moto in a debootstrapped root),
// started and stopped by this test inside a network namespace with only `lo` up. The provider
// runs in the same namespace (test/e2e/aws-driver.ts), so nothing can reach the addresses moto
// invents. Needs root: without it the test fails with a message instead of passing.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveInventory } from '../../src/inventory/derive.ts';
import { catalog } from '../../src/pki/catalog.ts';
import { clusterSpecSchema } from '../../src/spec/schema.ts';
import { motoRoot, requireRoot, startMoto, type MotoAmi, type MotoServer } from '../helpers/moto.ts';
import { driverFor } from './aws-run.ts';

const DEBIAN = '136693071363';
/** The image the provider must pick: the newest Debian 12 amd64 of Debian's account. */
const NEWEST_DEBIAN_AMD64 = 'ami-0d1e2b3a4c5d6e7f8';
const AMIS: MotoAmi[] = [
  { ami_id: 'ami-00000000000000001', name: 'debian-12-amd64-20240101-1600', owner_id: DEBIAN, architecture: 'x86_64', creation_date: '2024-01-01T16:00:00.000Z' },
  { ami_id: NEWEST_DEBIAN_AMD64, name: 'debian-12-amd64-20250601-2100', owner_id: DEBIAN, architecture: 'x86_64', creation_date: '2025-06-01T21:00:00.000Z' },
  { ami_id: 'ami-00000000000000003', name: 'debian-12-arm64-20250701-2200', owner_id: DEBIAN, architecture: 'arm64', creation_date: '2025-07-01T22:00:00.000Z' },
  { ami_id: 'ami-00000000000000004', name: 'debian-12-backports-amd64-20250801-1', owner_id: DEBIAN, architecture: 'x86_64', creation_date: '2025-08-01T00:00:00.000Z' },
  // Same name pattern, newer, but not Debian's account: must never be chosen.
  { ami_id: 'ami-00000000000000005', name: 'debian-12-amd64-20260101-0000', owner_id: '999999999999', architecture: 'x86_64', creation_date: '2026-01-01T00:00:00.000Z' },
];

const ADMIN = ['203.0.113.0/24', '198.51.100.7/32'];

describe('aws provider against moto (root, network namespace)', () => {
  const id = randomBytes(3).toString('hex');
  const main = `hwt-${id}`;
  const other = `hwt-${id}-other`;
  const crash = `hwt-${id}-crash`;
  let moto: MotoServer | undefined;
  let base = '';
  const dirs: Record<string, string> = {};

  const { driver, ok } = driverFor(
    () => moto,
    (cluster) => dirs[cluster] as string,
  );

  beforeAll(async () => {
    requireRoot('the AWS provider e2e test');
    const root = await motoRoot();
    moto = await startMoto({ root, amis: AMIS });
    base = await mkdtemp(join(tmpdir(), 'hardway-aws-'));
    const specs: Record<string, object> = {
      [main]: { name: main, provider: 'aws', nodes: { controllers: { count: 2, instanceType: 't3.large' }, etcd: { count: 1 } }, aws: { adminCidrs: ADMIN, rootVolumeGiB: 30 } },
      [other]: { name: other, provider: 'aws', loadBalancer: { type: 'none' }, network: { nodeSubnet: '10.250.0.0/24' }, aws: { adminCidrs: ['192.0.2.1/32'], vpcCIDR: '10.250.0.0/16' } },
      [crash]: { name: crash, provider: 'aws', network: { nodeSubnet: '10.251.0.0/24' }, aws: { adminCidrs: ['192.0.2.2/32'], vpcCIDR: '10.251.0.0/16' } },
    };
    for (const [name, spec] of Object.entries(specs)) {
      dirs[name] = join(base, name);
      await mkdir(dirs[name] as string, { recursive: true, mode: 0o700 });
      await writeFile(join(dirs[name] as string, 'cluster.json'), JSON.stringify(spec));
    }
  });

  afterAll(async () => {
    await moto?.stop();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('preflight accepts the credentials and region from the default chain', async () => {
    const out = await ok(main, 'preflight');
    expect(out.logs.join('\n')).toContain('region eu-west-1');
  });

  it('plan lists what would be created and changes nothing', async () => {
    const out = await ok(main, 'plan');
    const lines = out.result as string[];
    expect(lines.filter((line) => line.startsWith('found'))).toEqual([]);
    for (const what of ['vpc', 'internet-gateway', 'subnet', 'route-table', 'security-group sg-nodes', 'security-group sg-lb', 'key-pair', 'load-balancer', 'target-group', 'listener']) {
      expect(lines.some((line) => line.startsWith(`create ${what}`)), what).toBe(true);
    }
    for (const node of ['controller-0 (10.240.0.10, t3.large', 'controller-1 (10.240.0.11, t3.large', 'etcd-0 (10.240.0.20, t3.small']) {
      expect(lines.some((line) => line.startsWith(`create instance ${node}`) && line.includes(NEWEST_DEBIAN_AMD64)), node).toBe(true);
    }
    expect((await ok(main, 'inventory')).result.taggedCount).toBe(0);
  });

  it('ensure creates the network, groups, key pair, instances and the NLB as the spec says', async () => {
    await ok(other, 'ensure');
    const out = await ok(main, 'ensure', '--record');
    const created = (out.result.created as string[]).join('\n');
    for (const kind of ['vpc', 'internet-gateway', 'subnet', 'route-table', 'security-group', 'key-pair', 'instance', 'load-balancer', 'target-group', 'listener']) {
      expect(created).toContain(`${kind} `);
    }
    const inv = (await ok(main, 'inventory')).result;
    expect(inv.vpcs).toEqual([{ id: expect.any(String), cidr: '10.240.0.0/16', dnsHostnames: true }]);
    expect(inv.subnets).toEqual([{ id: expect.any(String), cidr: '10.240.0.0/24', az: 'eu-west-1a', vpcId: inv.vpcs[0].id }]);
    expect(inv.gateways).toEqual([{ id: expect.any(String), attachedTo: [inv.vpcs[0].id] }]);
    expect(inv.routeTables).toEqual([{ id: expect.any(String), defaultRouteVia: inv.gateways[0].id, subnets: [inv.subnets[0].id] }]);
    expect(inv.keyPairs).toEqual([`hardway-${main}`]);

    const live = (inv.instances as any[]).filter((instance) => instance.state === 'running');
    expect(live.map((instance) => [instance.tags['hardway:node'], instance.privateIp, instance.type]).sort()).toEqual([
      ['controller-0', '10.240.0.10', 't3.large'],
      ['controller-1', '10.240.0.11', 't3.large'],
      ['etcd-0', '10.240.0.20', 't3.small'],
    ]);
    const nodesGroup = (inv.groups as any[]).find((group) => group.name === `hardway-${main}-nodes`);
    for (const instance of live) {
      expect(instance.imageId).toBe(NEWEST_DEBIAN_AMD64);
      expect(instance.keyName).toBe(`hardway-${main}`);
      // Off on workers only (test/e2e/aws-workers.test.ts); controllers and etcd forward nothing.
      expect(instance.sourceDestCheck).toBe(true);
      expect(instance.subnetId).toBe(inv.subnets[0].id);
      expect(instance.groups).toEqual([nodesGroup.id]);
      expect(instance.hasPublicIp).toBe(true);
      expect(instance.tags).toMatchObject({ Name: `${main}-${instance.tags['hardway:node']}`, 'hardway:cluster': main, 'hardway:role': instance.tags['hardway:node'].startsWith('etcd') ? 'etcd' : 'controller' });
      const volumes = (inv.volumes as any[]).filter((volume) => volume.instanceId === instance.id);
      expect(volumes).toEqual([expect.objectContaining({ encrypted: true, type: 'gp3', size: 30 })]);
    }

    // moto 5.1 stores no metadata options, so IMDSv2 is checked on the RunInstances requests the
    // provider sent (recorded on their way to moto), next to the volume settings moto does keep.
    const launches = out.requests.filter((request) => request.Action === 'RunInstances');
    expect(launches).toHaveLength(3);
    for (const launch of launches) {
      expect(launch['MetadataOptions.HttpTokens']).toBe('required');
      expect(launch['MetadataOptions.HttpEndpoint']).toBe('enabled');
      expect(launch['BlockDeviceMapping.1.Ebs.Encrypted']).toBe('true');
      expect(launch['BlockDeviceMapping.1.Ebs.VolumeType']).toBe('gp3');
    }

    expect(inv.loadBalancers).toEqual([
      expect.objectContaining({ name: `hardway-${main}`, type: 'network', scheme: 'internet-facing', subnets: [inv.subnets[0].id], listeners: [{ protocol: 'TCP', port: 6443, forwardTo: inv.targetGroups[0].arn }] }),
    ]);
    const lbGroup = (inv.groups as any[]).find((group) => group.name === `hardway-${main}-api-lb`);
    expect(inv.loadBalancers[0].securityGroups).toEqual([lbGroup.id]);
    expect(inv.targetGroups).toEqual([
      expect.objectContaining({ name: `hardway-${main}-api`, targetType: 'ip', protocol: 'TCP', port: 6443, healthCheck: { protocol: 'HTTPS', path: '/healthz' } }),
    ]);
    // No hairpin: IP targets without client IP preservation (PITFALLS, NLB).
    expect(inv.targetGroups[0].attributes['preserve_client_ip.enabled']).toBe('false');

    // The facts the pki step needs: the NLB's DNS name and an SSH address per node. With them in
    // the inventory, the kube-apiserver certificate's SANs carry the NLB's name.
    expect(out.result.facts.loadBalancerDNSName).toBe(inv.loadBalancers[0].dnsName);
    const spec = clusterSpecSchema.parse(JSON.parse(await readFile(join(dirs[main] as string, 'cluster.json'), 'utf8')));
    const apiserver = catalog(spec, deriveInventory(spec, out.result.facts)).find((entry) => entry.name === 'kube-apiserver');
    expect(apiserver?.hosts).toContain(inv.loadBalancers[0].dnsName);
    expect(Object.keys(out.result.facts.sshAddresses).sort()).toEqual(['controller-0', 'controller-1', 'etcd-0']);
    // The state records every resource id.
    const aws = out.state.provider.aws;
    expect(aws).toMatchObject({ vpcId: inv.vpcs[0].id, subnetId: inv.subnets[0].id, internetGatewayId: inv.gateways[0].id, routeTableId: inv.routeTables[0].id, keyPairName: `hardway-${main}` });
    expect(aws.securityGroups).toEqual({ nodes: nodesGroup.id, lb: lbGroup.id });
    expect(aws.loadBalancer).toMatchObject({ dnsName: inv.loadBalancers[0].dnsName, targetGroupArn: inv.targetGroups[0].arn });
    expect(Object.values(aws.instances).map((instance: any) => instance.instanceId).sort()).toEqual(live.map((instance) => instance.id).sort());
  });

  it('security groups open 22 and 6443 only to adminCidrs, never to 0.0.0.0/0', async () => {
    const inv = (await ok(main, 'inventory')).result;
    const rules = (inv.groups as any[]).flatMap((group) => group.rules);
    const reaches = (rule: any, port: number) => rule.protocol === '-1' || (rule.from <= port && port <= rule.to);
    for (const port of [22, 6443]) {
      for (const rule of rules.filter((candidate: any) => reaches(candidate, port))) {
        expect(rule.cidr, `port ${port}`).not.toBe('0.0.0.0/0');
        expect([...ADMIN, '10.240.0.0/24', '10.200.0.0/16'], `port ${port} from ${rule.cidr}`).toContain(rule.cidr);
      }
    }
    const nodes = (inv.groups as any[]).find((group) => group.name === `hardway-${main}-nodes`);
    const sources = (port: number) => nodes.rules.filter((rule: any) => rule.protocol === 'tcp' && rule.from === port).map((rule: any) => rule.cidr).sort();
    expect(sources(22)).toEqual([...ADMIN].sort());
    expect(sources(6443)).toEqual([...ADMIN, '10.240.0.0/24'].sort());
    expect(nodes.rules.filter((rule: any) => rule.protocol === '-1').map((rule: any) => rule.cidr).sort()).toEqual(['10.200.0.0/16', '10.240.0.0/24']);
  });

  it('a second ensure creates nothing', async () => {
    const before = (await ok(main, 'inventory')).result;
    const out = await ok(main, 'ensure', '--record');
    expect(out.result.created).toEqual([]);
    expect(out.result.found.length).toBeGreaterThanOrEqual(12);
    const mutating = out.requests.map((request) => request.Action).filter((action) => action && !/^Describe/.test(action));
    expect(mutating).toEqual([]);
    const after = (await ok(main, 'inventory')).result;
    expect(after.taggedCount).toBe(before.taggedCount);
    const plan = (await ok(main, 'plan')).result as string[];
    expect(plan.filter((line) => line.startsWith('create'))).toEqual([]);
  });

  it('a run aborted midway is completed by the next one, nothing duplicated', async () => {
    const aborted = await driver(crash, 'ensure', '--abort-after', 'created subnet');
    expect(aborted.ok).toBe(false);
    const partial = (await ok(crash, 'inventory')).result;
    expect(partial.subnets).toHaveLength(1);
    expect(partial.instances).toHaveLength(0);

    const out = await ok(crash, 'ensure');
    const created = (out.result.created as string[]).join('\n');
    expect(created).not.toMatch(/^(vpc|subnet|internet-gateway) /m);
    expect(created).toMatch(/^instance /m);
    expect(created).toMatch(/^load-balancer /m);
    const inv = (await ok(crash, 'inventory')).result;
    expect([inv.vpcs.length, inv.subnets.length, inv.gateways.length, inv.routeTables.length, inv.keyPairs.length, inv.loadBalancers.length]).toEqual([1, 1, 1, 1, 1, 1]);
    expect(inv.vpcs[0].id).toBe(partial.vpcs[0].id);
  });

  it('destroy retries while a dependency blocks the VPC, and gives up at its bound', async () => {
    const blocker = (await ok(crash, 'block')).result.routeTableId as string;
    const failed = await driver(crash, 'destroy', '--dependency-ms', '1000');
    expect(failed.ok).toBe(false);
    expect(failed.error?.exitCode).toBe(1);
    expect(failed.error?.message).toMatch(/^gave up waiting for vpc vpc-\S+ \(10\.251\.0\.0\/16\) to be deletable after \d+s; last seen: DependencyViolation$/);
    expect((await ok(crash, 'inventory')).result.vpcs).toHaveLength(1);

    const out = await ok(crash, 'destroy', '--release', blocker, '--release-after-ms', '1000');
    expect(out.logs.join('\n')).toMatch(/waiting for vpc vpc-\S+ \(10\.251\.0\.0\/16\) to be deletable \(DependencyViolation/);
    // Only what the failed run could not delete was left: the VPC and, after it, the key pair.
    expect(out.result).toEqual([expect.stringMatching(/^vpc vpc-/), `key-pair hardway-${crash}`]);
    expect((await ok(crash, 'inventory')).result.taggedCount).toBe(0);
  });

  it('ensure without state repairs a damaged cluster and creates only what is missing', async () => {
    const damage = (await ok(main, 'damage', 'controller-1')).result;
    await rm(join(dirs[main] as string, '.hardway'), { recursive: true, force: true });
    const out = await ok(main, 'ensure');
    expect(out.result.created).toEqual([expect.stringMatching(/^instance i-\S+ \(controller-1, 10\.240\.0\.11, t3\.large\)$/), 'listener TCP 6443']);
    expect(out.logs.join('\n')).toContain(`tcp/22 from ${damage.revokedSshFrom}`);
    const inv = (await ok(main, 'inventory')).result;
    expect((inv.instances as any[]).filter((instance) => instance.state === 'running').map((instance) => instance.privateIp).sort()).toEqual(['10.240.0.10', '10.240.0.11', '10.240.0.20']);
    expect(inv.loadBalancers[0].listeners).toHaveLength(1);
    expect(out.state.provider.aws.vpcId).toBe(inv.vpcs[0].id);
  });

  it('registers the controllers with the NLB, then deregisters one', async () => {
    const first = await ok(main, 'register');
    expect(first.result.changed).toBe(true);
    let inv = (await ok(main, 'inventory')).result;
    expect(inv.targetGroups[0].targets.map((target: any) => [target.id, target.port, target.state]).sort()).toEqual([
      ['10.240.0.10', 6443, 'healthy'],
      ['10.240.0.11', 6443, 'healthy'],
    ]);
    const again = await ok(main, 'register');
    expect(again.result).toEqual({ changed: false, reason: 'controller-0, controller-1 registered and healthy' });

    await ok(main, 'deregister', 'controller-1');
    inv = (await ok(main, 'inventory')).result;
    expect(inv.targetGroups[0].targets.map((target: any) => target.id)).toEqual(['10.240.0.10']);
  });

  it('replace relaunches a node with the same private IP and tags', async () => {
    const before = (await ok(main, 'inventory')).result;
    const old = (before.instances as any[]).find((instance) => instance.state === 'running' && instance.tags['hardway:node'] === 'etcd-0');
    const out = await ok(main, 'replace', 'etcd-0');
    const inv = (await ok(main, 'inventory')).result;
    const now = (inv.instances as any[]).filter((instance) => instance.tags['hardway:node'] === 'etcd-0');
    expect(now.find((instance) => instance.id === old.id)?.state).toBe('terminated');
    const fresh = now.find((instance) => instance.state === 'running');
    expect(fresh.id).not.toBe(old.id);
    expect(fresh.privateIp).toBe('10.240.0.20');
    expect(fresh.tags).toEqual(old.tags);
    expect(fresh.sourceDestCheck).toBe(true);
    expect(out.state.provider.aws.instances['etcd-0'].instanceId).toBe(fresh.id);
    expect(out.state.providerFacts.sshAddresses['etcd-0']).toBeTruthy();
  });

  it('remove (scaling in) takes a controller out of the NLB, terminates its instance and forgets it', async () => {
    await ok(main, 'register');
    const before = (await ok(main, 'inventory')).result;
    const old = (before.instances as any[]).find((instance) => instance.state === 'running' && instance.tags['hardway:node'] === 'controller-1');
    expect(before.targetGroups[0].targets.map((target: any) => target.id).sort()).toEqual(['10.240.0.10', '10.240.0.11']);
    const out = await ok(main, 'remove', 'controller-1', '--record');
    expect(out.result).toBe(`terminated controller-1 (${old.id})`);
    const inv = (await ok(main, 'inventory')).result;
    expect(inv.targetGroups[0].targets.map((target: any) => target.id)).toEqual(['10.240.0.10']);
    expect((inv.instances as any[]).find((instance) => instance.id === old.id)?.state).toBe('terminated');
    expect(out.state.provider.aws.instances['controller-1']).toBeUndefined();
    expect(out.state.providerFacts.sshAddresses['controller-1']).toBeUndefined();
    // The deregistration came before the termination.
    const calls = (out.requests as Record<string, string>[]).map((request) => request.Action).filter((action) => action === 'DeregisterTargets' || action === 'TerminateInstances');
    expect(calls).toEqual(['DeregisterTargets', 'TerminateInstances']);
  });

  it('destroy leaves nothing tagged with the cluster and leaves other clusters alone', async () => {
    const out = await ok(main, 'destroy');
    expect((out.result as string[]).join('\n')).toMatch(/vpc vpc-/);
    expect(out.state.provider.aws).toBeUndefined();
    const inv = (await ok(main, 'inventory')).result;
    expect(inv.taggedCount).toBe(0);
    expect((inv.instances as any[]).every((instance) => instance.state === 'terminated')).toBe(true);

    const survivor = (await ok(other, 'inventory')).result;
    expect(survivor.vpcs).toHaveLength(1);
    expect((survivor.instances as any[]).filter((instance) => instance.state === 'running')).toHaveLength(1);

    // A second destroy finds nothing and succeeds.
    expect((await ok(main, 'destroy')).result).toEqual([]);
    for (const cluster of [other, crash]) {
      await ok(cluster, 'destroy');
      expect((await ok(cluster, 'inventory')).result.taggedCount).toBe(0);
    }
  });
});
