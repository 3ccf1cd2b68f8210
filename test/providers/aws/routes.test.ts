// The workers' pod routes: which routes the spec asks for, how plan describes them against what
// the table holds, and the one path moto cannot produce (a new instance unknown to CreateRoute
// for a moment), with aws-sdk-client-mock. The real calls are checked against moto in e2e.
import { CreateRouteCommand, DescribeRouteTablesCommand, EC2Client, EC2ServiceException, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SpecError } from '../../../src/errors.ts';
import { createAwsApi } from '../../../src/providers/aws/api.ts';
import { resolveOptions } from '../../../src/providers/aws/options.ts';
import { ensurePodRoutes, planPodRoutes, podRoutes } from '../../../src/providers/aws/routes.ts';
import type { AwsRun } from '../../../src/providers/aws/run.ts';
import { awsContext, awsSpec } from './spec.ts';

const withWorkers = () => awsSpec({ nodes: { controllers: { count: 1 }, etcd: { count: 1 }, workers: { count: 2 } } });

async function runFor(spec: ReturnType<typeof awsSpec>): Promise<AwsRun & { lines: string[] }> {
  const ctx = await awsContext(spec);
  const options = resolveOptions({ waits: { pollInitialMs: 1, pollMaxMs: 5, consistencyMs: 5_000 } });
  return { ctx, api: createAwsApi(spec), options, cluster: spec.name, spec, aws: spec.aws!, created: [], found: [], lines: ctx.lines };
}

describe('pod routes', () => {
  it('asks for one route per worker, its /24 of clusterCIDR, and none without workers', async () => {
    const spec = withWorkers();
    const run = await runFor(spec);
    expect(podRoutes(spec, run.ctx.inventory.nodes)).toEqual([
      { node: 'worker-0', cidr: '10.200.0.0/24' },
      { node: 'worker-1', cidr: '10.200.1.0/24' },
    ]);
    const plain = awsSpec();
    expect(podRoutes(plain, (await runFor(plain)).ctx.inventory.nodes)).toEqual([]);
  });

  it('refuses a pod network inside the VPC, naming the field', async () => {
    const spec = awsSpec({ nodes: { controllers: { count: 1 }, etcd: { count: 1 }, workers: { count: 1 } }, network: { clusterCIDR: '10.240.128.0/17' } });
    const nodes = (await runFor(spec)).ctx.inventory.nodes;
    expect(() => podRoutes(spec, nodes)).toThrow(SpecError);
    expect(() => podRoutes(spec, nodes)).toThrow(/network\.clusterCIDR 10\.240\.128\.0\/17 overlaps aws\.vpcCIDR 10\.240\.0\.0\/16/);
  });

  it('plans found, replaced and new routes from what the table holds', async () => {
    const run = await runFor(withWorkers());
    const table = { RouteTableId: 'rtb-1', Routes: [{ DestinationCidrBlock: '10.200.0.0/24', InstanceId: 'i-old' }] };
    const instances: Record<string, string> = { 'worker-0': 'i-new' };
    expect(planPodRoutes(run, table, (node) => instances[node])).toEqual([
      { action: 'change', text: 'replace route 10.200.0.0/24 -> i-new (worker-0; now i-old)' },
      { action: 'create', text: 'create route 10.200.1.0/24 -> the new instance of worker-1 (its pods)' },
    ]);
    instances['worker-0'] = 'i-old';
    instances['worker-1'] = 'i-1';
    expect(planPodRoutes(run, table, (node) => instances[node])).toEqual([
      { action: 'found', text: 'found route 10.200.0.0/24 -> i-old (worker-0)' },
      { action: 'create', text: 'create route 10.200.1.0/24 -> i-1 (worker-1, its pods)' },
    ]);
  });
});

describe('pod routes on AWS (mocked: eventual consistency)', () => {
  const ec2 = mockClient(EC2Client);
  beforeEach(() => {
    ec2.reset();
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-example');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('retries CreateRoute while a just-launched instance is not visible yet, and records the routes', async () => {
    const run = await runFor(withWorkers());
    ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [{ RouteTableId: 'rtb-1', Routes: [{ DestinationCidrBlock: '10.200.1.0/24', InstanceId: 'i-gone' }] }] });
    const notYet = new EC2ServiceException({ name: 'InvalidInstanceID.NotFound', message: "The instance ID 'i-0' does not exist", $fault: 'client', $metadata: { httpStatusCode: 400 } });
    ec2.on(CreateRouteCommand).rejectsOnce(notYet).resolves({ Return: true });
    ec2.on(ReplaceRouteCommand).resolves({});
    const records = { 'worker-0': { instanceId: 'i-0', privateIp: '10.240.0.40' }, 'worker-1': { instanceId: 'i-1', privateIp: '10.240.0.41' } };
    await ensurePodRoutes(run, 'rtb-1', run.ctx.inventory.nodes, records);
    expect(ec2.commandCalls(CreateRouteCommand)).toHaveLength(2);
    expect(ec2.commandCalls(CreateRouteCommand)[1]?.args[0].input).toEqual({ RouteTableId: 'rtb-1', DestinationCidrBlock: '10.200.0.0/24', InstanceId: 'i-0' });
    expect(ec2.commandCalls(ReplaceRouteCommand).map((call) => call.args[0].input)).toEqual([{ RouteTableId: 'rtb-1', DestinationCidrBlock: '10.200.1.0/24', InstanceId: 'i-1' }]);
    expect(run.created).toEqual(['route 10.200.0.0/24 -> i-0 (worker-0)', 'route 10.200.1.0/24 -> i-1 (worker-1, was i-gone)']);
    expect(run.ctx.state.data.provider.aws).toMatchObject({ podRoutes: { 'worker-0': { cidr: '10.200.0.0/24', instanceId: 'i-0' }, 'worker-1': { cidr: '10.200.1.0/24', instanceId: 'i-1' } } });
    run.api.close();
  });
});
