// Workers on AWS against a real moto_server (in a network namespace with only `lo` up, like
// test/e2e/aws.test.ts): their instances, the source/dest check off on workers only, one route
// per worker's pod range to its instance, nothing changed by a second run, routes and checks
// put back after a hand changed them, a replaced worker's route following its new instance, and
// destroy deleting the routes before the instances. Needs root.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { motoRoot, requireRoot, startMoto, type MotoServer } from '../helpers/moto.ts';
import { driverFor, mutatingActions } from './aws-run.ts';

const AMI = 'ami-0d1e2b3a4c5d6e7f8';
const ADMIN = ['203.0.113.0/24', '198.51.100.7/32'];

describe('aws workers against moto (root, network namespace)', () => {
  const cluster = `hww-${randomBytes(3).toString('hex')}`;
  let moto: MotoServer | undefined;
  let dir = '';
  const { ok } = driverFor(
    () => moto,
    () => dir,
  );
  /** Live instance id per node, and the pod routes as [cidr, node]. */
  const current = async () => {
    const inv = (await ok(cluster, 'inventory')).result;
    const live = (inv.instances as any[]).filter((instance) => instance.state === 'running');
    const ids = Object.fromEntries(live.map((instance) => [instance.tags['hardway:node'], instance.id]));
    const nodeOf = new Map(live.map((instance) => [instance.id, instance.tags['hardway:node']]));
    const routes = (inv.podRoutes as any[]).map((route) => [route.cidr, nodeOf.get(route.instanceId) ?? route.instanceId]).sort();
    return { inv, live, ids, routes };
  };

  beforeAll(async () => {
    requireRoot('the AWS workers e2e test');
    moto = await startMoto({
      root: await motoRoot(),
      amis: [{ ami_id: AMI, name: 'debian-12-amd64-20250601-2100', owner_id: '136693071363', architecture: 'x86_64', creation_date: '2025-06-01T21:00:00.000Z' }],
    });
    dir = join(await mkdtemp(join(tmpdir(), 'hardway-aws-workers-')), cluster);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const spec = {
      name: cluster,
      provider: 'aws',
      topology: 'stacked',
      loadBalancer: { type: 'none' },
      nodes: { controllers: { count: 1 }, workers: { count: 2, instanceType: 't3.large' } },
      aws: { adminCidrs: ADMIN },
    };
    await writeFile(join(dir, 'cluster.json'), JSON.stringify(spec));
  });

  afterAll(async () => {
    await moto?.stop();
    if (dir) await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('plan shows the worker instances, their source/dest check and their routes, with Describe calls only', async () => {
    const out = await ok(cluster, 'plan', '--record');
    const lines = out.result as string[];
    expect(lines).toContainEqual(expect.stringMatching(/^create instance worker-0 \(10\.240\.0\.40, t3\.large, ami-/));
    expect(lines).toContainEqual(expect.stringMatching(/^create instance worker-1 \(10\.240\.0\.41, t3\.large, ami-/));
    expect(lines.filter((line) => line.startsWith('change'))).toEqual([
      "change instance worker-0 once launched: source/dest check off (it forwards its pods' traffic)",
      "change instance worker-1 once launched: source/dest check off (it forwards its pods' traffic)",
    ]);
    expect(lines.filter((line) => line.includes(' route 10.200.'))).toEqual([
      'create route 10.200.0.0/24 -> the new instance of worker-0 (its pods)',
      'create route 10.200.1.0/24 -> the new instance of worker-1 (its pods)',
    ]);
    expect(out.requests.length).toBeGreaterThan(0);
    expect(mutatingActions(out)).toEqual([]);
    expect((await ok(cluster, 'inventory')).result.taggedCount).toBe(0);
  });

  it('infra makes the workers, turns the check off on workers only, and routes each pod range to its worker', async () => {
    const out = await ok(cluster, 'ensure', '--record');
    const { inv, live, ids, routes } = await current();
    expect(live.map((instance) => [instance.tags['hardway:node'], instance.privateIp, instance.type, instance.tags['hardway:role'], instance.sourceDestCheck]).sort()).toEqual([
      ['controller-0', '10.240.0.10', 't3.medium', 'controller,etcd', true],
      ['worker-0', '10.240.0.40', 't3.large', 'worker', false],
      ['worker-1', '10.240.0.41', 't3.large', 'worker', false],
    ]);
    // One ModifyInstanceAttribute per worker, none for the controller (its check is on from launch).
    const modified = out.requests.filter((request) => request.Action === 'ModifyInstanceAttribute');
    expect(modified.map((request) => `${request.InstanceId} ${request['SourceDestCheck.Value']}`).sort()).toEqual([`${ids['worker-0']} false`, `${ids['worker-1']} false`].sort());
    expect(routes).toEqual([
      ['10.200.0.0/24', 'worker-0'],
      ['10.200.1.0/24', 'worker-1'],
    ]);
    expect(inv.podRoutes.every((route: any) => route.tableId === inv.routeTables[0].id)).toBe(true);
    expect(out.result.created).toEqual(expect.arrayContaining([`route 10.200.0.0/24 -> ${ids['worker-0']} (worker-0)`, `route 10.200.1.0/24 -> ${ids['worker-1']} (worker-1)`]));
    expect(out.state.provider.aws.podRoutes).toEqual({
      'worker-0': { cidr: '10.200.0.0/24', instanceId: ids['worker-0'] },
      'worker-1': { cidr: '10.200.1.0/24', instanceId: ids['worker-1'] },
    });

    // Workers add the kubelet API from the controller and NodePorts from adminCidrs, nothing wider.
    const rules = (inv.groups as any[]).find((group) => group.name === `hardway-${cluster}-nodes`).rules as any[];
    const sources = (from: number) => rules.filter((rule) => rule.protocol === 'tcp' && rule.from === from).map((rule) => `${rule.to} ${rule.cidr}`).sort();
    expect(sources(10250)).toEqual(['10250 10.240.0.10/32']);
    expect(sources(30000)).toEqual(ADMIN.map((cidr) => `32767 ${cidr}`).sort());
    expect(rules.filter((rule) => rule.protocol === '-1').map((rule) => rule.cidr).sort()).toEqual(['10.200.0.0/16', '10.240.0.0/24']);
    expect(rules.map((rule) => rule.cidr)).not.toContain('0.0.0.0/0');
  });

  it('a second run changes nothing, and plan finds every route', async () => {
    const out = await ok(cluster, 'ensure', '--record');
    expect(out.result.created).toEqual([]);
    expect(mutatingActions(out)).toEqual([]);
    expect(out.result.found).toEqual(expect.arrayContaining([expect.stringMatching(/^route 10\.200\.0\.0\/24 -> i-\S+ \(worker-0\)$/), expect.stringMatching(/^route 10\.200\.1\.0\/24 -> i-\S+ \(worker-1\)$/)]));
    const plan = (await ok(cluster, 'plan')).result as string[];
    expect(plan.filter((line) => /^(create|replace|change) /.test(line))).toEqual([]);
    expect(plan.filter((line) => line.startsWith('found route '))).toHaveLength(2);
  });

  it('puts back routes and source/dest checks a hand changed', async () => {
    const ids = (await ok(cluster, 'misroute')).result as Record<string, string>;
    const plan = (await ok(cluster, 'plan')).result as string[];
    // Sorted on both sides: the lines name random instance ids.
    expect(plan.filter((line) => /^(create|replace|change) /.test(line)).sort()).toEqual([
      `change instance ${ids['controller-0']} (controller-0): source/dest check on (it forwards no traffic)`,
      `change instance ${ids['worker-0']} (worker-0): source/dest check off (it forwards its pods' traffic)`,
      `create route 10.200.0.0/24 -> ${ids['worker-0']} (worker-0, its pods)`,
      `replace route 10.200.1.0/24 -> ${ids['worker-1']} (worker-1; now ${ids['worker-0']})`,
    ].sort());

    const out = await ok(cluster, 'ensure', '--record');
    expect(out.result.created.sort()).toEqual([`route 10.200.0.0/24 -> ${ids['worker-0']} (worker-0)`, `route 10.200.1.0/24 -> ${ids['worker-1']} (worker-1, was ${ids['worker-0']})`]);
    expect(mutatingActions(out).sort()).toEqual(['CreateRoute', 'ModifyInstanceAttribute', 'ModifyInstanceAttribute', 'ReplaceRoute']);
    const { live, routes } = await current();
    expect(Object.fromEntries(live.map((instance) => [instance.tags['hardway:node'], instance.sourceDestCheck]))).toEqual({ 'controller-0': true, 'worker-0': false, 'worker-1': false });
    expect(routes).toEqual([
      ['10.200.0.0/24', 'worker-0'],
      ['10.200.1.0/24', 'worker-1'],
    ]);
  });

  it("replace (rebuild) gives a worker a new instance and moves its route to it", async () => {
    const before = await current();
    const out = await ok(cluster, 'replace', 'worker-1');
    const after = await current();
    expect(after.ids['worker-1']).not.toBe(before.ids['worker-1']);
    expect(after.ids['worker-0']).toBe(before.ids['worker-0']);
    expect(after.live.find((instance) => instance.id === after.ids['worker-1'])).toMatchObject({ privateIp: '10.240.0.41', sourceDestCheck: false });
    expect(after.routes).toEqual([
      ['10.200.0.0/24', 'worker-0'],
      ['10.200.1.0/24', 'worker-1'],
    ]);
    expect(out.logs).toContainEqual(`created route 10.200.1.0/24 -> ${after.ids['worker-1']} (worker-1, was ${before.ids['worker-1']})`);
    expect(out.state.provider.aws.podRoutes['worker-1']).toEqual({ cidr: '10.200.1.0/24', instanceId: after.ids['worker-1'] });
    // The replaced cluster is converged: a further run changes nothing.
    expect(mutatingActions(await ok(cluster, 'ensure', '--record'))).toEqual([]);
  });

  it('remove (scaling in) terminates a worker and deletes the route of its pod range; ensure makes both again', async () => {
    const before = await current();
    const out = await ok(cluster, 'remove', 'worker-1');
    expect(out.result).toBe(`terminated worker-1 (${before.ids['worker-1']}); deleted its pod route 10.200.1.0/24`);
    const after = await current();
    expect(after.ids['worker-1']).toBeUndefined();
    expect(after.routes).toEqual([['10.200.0.0/24', 'worker-0']]);
    expect(out.state.provider.aws.podRoutes['worker-1']).toBeUndefined();
    expect(out.state.provider.aws.instances['worker-1']).toBeUndefined();
    await ok(cluster, 'ensure');
    expect((await current()).routes).toEqual([
      ['10.200.0.0/24', 'worker-0'],
      ['10.200.1.0/24', 'worker-1'],
    ]);
  });

  it('destroy deletes the routes before the instances and leaves nothing tagged', async () => {
    const { ids } = await current();
    const deleted = (await ok(cluster, 'destroy')).result as string[];
    const routes = deleted.filter((line) => line.startsWith('route '));
    expect(routes.map((line) => line.split(' (')[0]).sort()).toEqual([`route 10.200.0.0/24 -> ${ids['worker-0']}`, `route 10.200.1.0/24 -> ${ids['worker-1']}`]);
    const firstInstance = deleted.findIndex((line) => line.startsWith('instance '));
    expect(firstInstance).toBeGreaterThan(Math.max(...routes.map((line) => deleted.indexOf(line))));
    const inv = (await ok(cluster, 'inventory')).result;
    expect(inv.taggedCount).toBe(0);
    expect(inv.podRoutes).toEqual([]);
    expect((inv.instances as any[]).every((instance) => instance.state === 'terminated')).toBe(true);
  });
});
