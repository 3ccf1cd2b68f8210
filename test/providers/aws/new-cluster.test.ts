// The dry run of a never-built aws cluster (src/modules/new-aws-cluster.ts) with workers: the
// provider's own plan with nothing found, without credentials and without one request.
import { describe, expect, it } from 'vitest';
import { planNewAwsCluster } from '../../../src/modules/new-aws-cluster.ts';
import { planText } from '../../../src/providers/provider.ts';
import { awsContext, awsSpec } from './spec.ts';

describe('dry run of a new aws cluster with workers', () => {
  it('shows the worker instances, their source/dest check and one route per worker', async () => {
    const spec = awsSpec({ nodes: { controllers: { count: 2 }, etcd: { count: 1 }, workers: { count: 2 } }, aws: { region: 'eu-west-1', adminCidrs: ['203.0.113.0/24'] } });
    const { plan } = await planNewAwsCluster(await awsContext(spec));
    const lines = planText(plan);
    // Nothing is found in an account that has none of the cluster.
    expect(plan.filter((resource) => resource.action === 'found')).toEqual([]);
    expect(lines.filter((line) => line.startsWith('create instance')).map((line) => line.split(' (')[0])).toEqual([
      'create instance controller-0',
      'create instance controller-1',
      'create instance etcd-0',
      'create instance worker-0',
      'create instance worker-1',
    ]);
    expect(lines).toContainEqual(expect.stringMatching(/^create instance worker-1 \(10\.240\.0\.41, t3\.medium, /));
    expect(lines.filter((line) => line.startsWith('change'))).toEqual([
      "change instance worker-0 once launched: source/dest check off (it forwards its pods' traffic)",
      "change instance worker-1 once launched: source/dest check off (it forwards its pods' traffic)",
    ]);
    expect(lines.filter((line) => line.includes('route'))).toEqual([
      "create route-table hardway-unit-public (default route via the internet gateway, a route to each worker's pods)",
      'create route 10.200.0.0/24 -> the new instance of worker-0 (its pods)',
      'create route 10.200.1.0/24 -> the new instance of worker-1 (its pods)',
    ]);
    const group = lines.find((line) => line.startsWith('create security-group sg-nodes'));
    expect(group).toContain('tcp/10250 from 10.240.0.10/32');
    expect(group).toContain('tcp/30000-32767 from 203.0.113.0/24');
  });

  it('shows no routes and no source/dest change without workers', async () => {
    const lines = planText((await planNewAwsCluster(await awsContext(awsSpec()))).plan);
    expect(lines.filter((line) => /^(change|create route |replace route )/.test(line))).toEqual([]);
    expect(lines.find((line) => line.startsWith('create security-group'))).not.toMatch(/10250|30000/);
  });
});
