// The API's Network Load Balancer: internet-facing in the node subnet, its own security group,
// a TCP listener forwarding to an IP target group on 6443 whose health check is HTTPS /healthz.
// IP targets keep client IP preservation off, so a controller reaching the NLB never hairpins.
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ModifyListenerCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  type Listener,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { TaskError } from '../../errors.ts';
import { awsErrorCode } from './errors.ts';
import { APISERVER_PORT } from './rules.ts';
import { noteCreated, noteFound, waitBounded, type AwsRun } from './run.ts';
import { recordAws, type AwsState } from './state.ts';
import { tagValue, TAG_CLUSTER } from './tags.ts';

export type LoadBalancerIds = Required<NonNullable<AwsState['loadBalancer']>>;

/** At most 32 characters: cluster names are at most 20. */
export function loadBalancerName(cluster: string): string {
  return `hardway-${cluster}`;
}

export function targetGroupName(cluster: string): string {
  return `hardway-${cluster}-api`;
}

const HEALTH_CHECK = { HealthCheckProtocol: 'HTTPS', HealthCheckPath: '/healthz', HealthCheckPort: 'traffic-port' } as const;

/** Attributes the target group must carry: no client IP preservation (hairpin), a short drain for rebuilds. */
const TARGET_GROUP_ATTRIBUTES: Record<string, string> = { 'preserve_client_ip.enabled': 'false', 'deregistration_delay.timeout_seconds': '30' };

function clusterTags(run: AwsRun, name: string) {
  return [
    { Key: 'Name', Value: name },
    { Key: TAG_CLUSTER, Value: run.cluster },
  ];
}

function recordLoadBalancer(run: AwsRun, ids: Partial<LoadBalancerIds>): Promise<void> {
  return recordAws(run.ctx, (aws) => {
    aws.loadBalancer = { ...aws.loadBalancer, ...ids };
  });
}

/** Refuse to adopt a load balancer or target group with our name that belongs to someone else. */
async function assertOurs(run: AwsRun, arn: string, what: string): Promise<void> {
  const out = await run.api.elb(new DescribeTagsCommand({ ResourceArns: [arn] }));
  const owner = tagValue(out.TagDescriptions?.[0]?.Tags, TAG_CLUSTER);
  if (owner !== run.cluster) {
    throw new TaskError(`${what} ${arn} exists but is tagged ${TAG_CLUSTER}=${owner ?? '(none)'}, not ${run.cluster}`, {}, {
      hint: 'Its name collides with this cluster: rename the cluster or delete that resource.',
    });
  }
}

export async function findLoadBalancer(run: AwsRun): Promise<LoadBalancer | undefined> {
  try {
    const out = await run.api.elb(new DescribeLoadBalancersCommand({ Names: [loadBalancerName(run.cluster)] }));
    return out.LoadBalancers?.[0];
  } catch (error) {
    if (awsErrorCode(error) === 'LoadBalancerNotFoundException' || awsErrorCode(error) === 'LoadBalancerNotFound') return undefined;
    throw error;
  }
}

export async function findTargetGroup(run: AwsRun): Promise<TargetGroup | undefined> {
  try {
    const out = await run.api.elb(new DescribeTargetGroupsCommand({ Names: [targetGroupName(run.cluster)] }));
    return out.TargetGroups?.[0];
  } catch (error) {
    if (awsErrorCode(error) === 'TargetGroupNotFoundException' || awsErrorCode(error) === 'TargetGroupNotFound') return undefined;
    throw error;
  }
}

/** Why: the API endpoint's DNS name must exist before pki issues the apiserver certificate. */
export async function ensureLoadBalancer(run: AwsRun, network: { vpcId: string; subnetId: string }, securityGroupId: string): Promise<LoadBalancerIds> {
  const balancer = await ensureBalancer(run, network.subnetId, securityGroupId);
  const targetGroupArn = await ensureTargetGroup(run, network.vpcId);
  const listenerArn = await ensureListener(run, balancer.arn, targetGroupArn);
  const ids = { ...balancer, targetGroupArn, listenerArn };
  await recordLoadBalancer(run, ids);
  await waitBounded(run, `load balancer ${loadBalancerName(run.cluster)} to be active`, 'loadBalancerActiveMs', async () => {
    const current = await findLoadBalancer(run);
    const state = current?.State?.Code ?? 'not visible yet';
    if (state === 'failed') throw new TaskError(`load balancer ${balancer.arn} failed: ${current?.State?.Reason ?? 'no reason given'}`, {}, { hint: 'Run `hardway destroy`, then provision again.' });
    return { done: state === 'active', status: state };
  });
  return ids;
}

async function ensureBalancer(run: AwsRun, subnetId: string, securityGroupId: string): Promise<{ arn: string; dnsName: string }> {
  const name = loadBalancerName(run.cluster);
  let balancer = await findLoadBalancer(run);
  if (balancer?.LoadBalancerArn) {
    await assertOurs(run, balancer.LoadBalancerArn, 'load balancer');
    if (balancer.Type !== 'network' || balancer.Scheme !== 'internet-facing') {
      throw new TaskError(`load balancer ${name} is ${balancer.Scheme} ${balancer.Type}, not an internet-facing network load balancer`, {}, { hint: 'Delete it (`hardway destroy`), then provision again.' });
    }
    noteFound(run, 'load-balancer', `${name} (${balancer.DNSName})`);
  } else {
    const out = await run.api.elb(
      new CreateLoadBalancerCommand({
        Name: name,
        Type: 'network',
        Scheme: 'internet-facing',
        IpAddressType: 'ipv4',
        Subnets: [subnetId],
        SecurityGroups: [securityGroupId],
        Tags: clusterTags(run, name),
      }),
    );
    balancer = out.LoadBalancers?.[0];
    if (!balancer?.LoadBalancerArn) throw new TaskError('CreateLoadBalancer returned no load balancer', {});
    noteCreated(run, 'load-balancer', `${name} (${balancer.DNSName})`);
  }
  if (!balancer.DNSName) throw new TaskError(`load balancer ${name} has no DNS name`, {});
  await recordLoadBalancer(run, { arn: balancer.LoadBalancerArn, dnsName: balancer.DNSName });
  return { arn: balancer.LoadBalancerArn, dnsName: balancer.DNSName };
}

async function ensureTargetGroup(run: AwsRun, vpcId: string): Promise<string> {
  const name = targetGroupName(run.cluster);
  let group = await findTargetGroup(run);
  if (group?.TargetGroupArn) {
    await assertOurs(run, group.TargetGroupArn, 'target group');
    if (group.TargetType !== 'ip' || group.Port !== APISERVER_PORT || group.VpcId !== vpcId) {
      throw new TaskError(`target group ${name} has ${group.TargetType} targets on port ${group.Port} in ${group.VpcId}; hardway needs ip targets on ${APISERVER_PORT} in ${vpcId}`, {}, {
        hint: 'Run `hardway destroy`, then provision again.',
      });
    }
    noteFound(run, 'target-group', name);
    if (group.HealthCheckProtocol !== HEALTH_CHECK.HealthCheckProtocol || group.HealthCheckPath !== HEALTH_CHECK.HealthCheckPath) {
      await run.api.elb(new ModifyTargetGroupCommand({ TargetGroupArn: group.TargetGroupArn, ...HEALTH_CHECK }));
      run.ctx.log(`set the health check of ${name} to HTTPS /healthz`);
    }
  } else {
    const out = await run.api.elb(
      new CreateTargetGroupCommand({
        Name: name,
        Protocol: 'TCP',
        Port: APISERVER_PORT,
        VpcId: vpcId,
        TargetType: 'ip',
        ...HEALTH_CHECK,
        HealthCheckIntervalSeconds: 10,
        HealthyThresholdCount: 3,
        UnhealthyThresholdCount: 3,
        Tags: clusterTags(run, name),
      }),
    );
    group = out.TargetGroups?.[0];
    if (!group?.TargetGroupArn) throw new TaskError('CreateTargetGroup returned no target group', {});
    noteCreated(run, 'target-group', name);
  }
  const arn = group.TargetGroupArn;
  await recordLoadBalancer(run, { targetGroupArn: arn });
  const attributes = await run.api.elb(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }));
  const current = new Map((attributes.Attributes ?? []).map((attribute) => [attribute.Key, attribute.Value]));
  const changes = Object.entries(TARGET_GROUP_ATTRIBUTES).filter(([key, value]) => current.get(key) !== value);
  if (changes.length) {
    await run.api.elb(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: changes.map(([Key, Value]) => ({ Key, Value })) }));
    run.ctx.log(`set ${changes.map(([key, value]) => `${key}=${value}`).join(', ')} on ${name}`);
  }
  return arn;
}

/** The listener on the spec's API port, if there is one. */
export async function findListener(run: AwsRun, loadBalancerArn: string): Promise<Listener | undefined> {
  const out = await run.api.elb(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn }));
  return out.Listeners?.find((candidate) => candidate.Port === run.spec.loadBalancer.port);
}

async function ensureListener(run: AwsRun, loadBalancerArn: string, targetGroupArn: string): Promise<string> {
  const port = run.spec.loadBalancer.port;
  const listener = await findListener(run, loadBalancerArn);
  const forward = [{ Type: 'forward' as const, TargetGroupArn: targetGroupArn }];
  if (listener?.ListenerArn) {
    noteFound(run, 'listener', `TCP ${port}`);
    const target = listener.DefaultActions?.[0]?.TargetGroupArn;
    if (listener.Protocol !== 'TCP' || target !== targetGroupArn) {
      await run.api.elb(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, Protocol: 'TCP', Port: port, DefaultActions: forward }));
      run.ctx.log(`pointed listener TCP ${port} at ${targetGroupName(run.cluster)}`);
    }
    return listener.ListenerArn;
  }
  const created = await run.api.elb(
    new CreateListenerCommand({ LoadBalancerArn: loadBalancerArn, Protocol: 'TCP', Port: port, DefaultActions: forward, Tags: clusterTags(run, `${loadBalancerName(run.cluster)}-${port}`) }),
  );
  const arn = created.Listeners?.[0]?.ListenerArn;
  if (!arn) throw new TaskError('CreateListener returned no listener', {});
  noteCreated(run, 'listener', `TCP ${port}`);
  return arn;
}
