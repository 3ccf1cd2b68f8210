// Everything in the account and region tagged `hardway:cluster=NAME`, found by tags alone (not
// the state file): what destroy deletes and what must be gone afterwards.
import {
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVpcsCommand,
} from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand, DescribeTagsCommand, DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsRun } from './run.ts';
import { clusterFilters, tagValue, TAG_CLUSTER, TAG_NODE } from './tags.ts';

export interface TaggedResource {
  kind: 'load-balancer' | 'target-group' | 'instance' | 'volume' | 'network-interface' | 'security-group' | 'route-table' | 'subnet' | 'internet-gateway' | 'vpc' | 'key-pair';
  /** The id, or the ARN for ELBv2 resources, or the name for key pairs. */
  id: string;
  /** State or name, for messages. */
  detail: string;
  /** Instances: the node it is. */
  node?: string;
}

/** Why: destroy must work without the state file and prove nothing tagged is left. */
export async function listTagged(run: AwsRun): Promise<TaggedResource[]> {
  const filters = clusterFilters(run.cluster);
  const [elb, instances, volumes, interfaces, groups, tables, subnets, gateways, vpcs, keys] = await Promise.all([
    listTaggedElb(run),
    run.api.ec2(new DescribeInstancesCommand({ Filters: filters })),
    run.api.ec2(new DescribeVolumesCommand({ Filters: filters })),
    run.api.ec2(new DescribeNetworkInterfacesCommand({ Filters: filters })),
    run.api.ec2(new DescribeSecurityGroupsCommand({ Filters: filters })),
    run.api.ec2(new DescribeRouteTablesCommand({ Filters: filters })),
    run.api.ec2(new DescribeSubnetsCommand({ Filters: filters })),
    run.api.ec2(new DescribeInternetGatewaysCommand({ Filters: filters })),
    run.api.ec2(new DescribeVpcsCommand({ Filters: filters })),
    run.api.ec2(new DescribeKeyPairsCommand({ Filters: filters })),
  ]);
  const found: TaggedResource[] = [...elb];
  for (const instance of (instances.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? [])) {
    // Terminated instances stay listed for an hour but hold nothing.
    if (instance.State?.Name !== 'terminated') {
      const node = tagValue(instance.Tags, TAG_NODE);
      found.push({ kind: 'instance', id: instance.InstanceId ?? '', detail: instance.State?.Name ?? '', ...(node ? { node } : {}) });
    }
  }
  for (const volume of volumes.Volumes ?? []) {
    if (volume.State !== 'deleting' && volume.State !== 'deleted') found.push({ kind: 'volume', id: volume.VolumeId ?? '', detail: volume.State ?? '' });
  }
  for (const eni of interfaces.NetworkInterfaces ?? []) found.push({ kind: 'network-interface', id: eni.NetworkInterfaceId ?? '', detail: eni.Status ?? '' });
  for (const group of groups.SecurityGroups ?? []) found.push({ kind: 'security-group', id: group.GroupId ?? '', detail: group.GroupName ?? '' });
  for (const table of tables.RouteTables ?? []) found.push({ kind: 'route-table', id: table.RouteTableId ?? '', detail: table.VpcId ?? '' });
  for (const subnet of subnets.Subnets ?? []) found.push({ kind: 'subnet', id: subnet.SubnetId ?? '', detail: subnet.CidrBlock ?? '' });
  for (const gateway of gateways.InternetGateways ?? []) found.push({ kind: 'internet-gateway', id: gateway.InternetGatewayId ?? '', detail: '' });
  for (const vpc of vpcs.Vpcs ?? []) found.push({ kind: 'vpc', id: vpc.VpcId ?? '', detail: vpc.CidrBlock ?? '' });
  for (const key of keys.KeyPairs ?? []) found.push({ kind: 'key-pair', id: key.KeyName ?? '', detail: key.KeyPairId ?? '' });
  return found;
}

/** ELBv2 cannot filter by tag: list every load balancer and target group, then read tags 20 at a time. */
async function listTaggedElb(run: AwsRun): Promise<TaggedResource[]> {
  const candidates: { kind: 'load-balancer' | 'target-group'; arn: string; detail: string }[] = [];
  let marker: string | undefined;
  do {
    const out = await run.api.elb(new DescribeLoadBalancersCommand({ ...(marker ? { Marker: marker } : {}) }));
    for (const balancer of out.LoadBalancers ?? []) candidates.push({ kind: 'load-balancer', arn: balancer.LoadBalancerArn ?? '', detail: balancer.LoadBalancerName ?? '' });
    marker = out.NextMarker;
  } while (marker);
  do {
    const out = await run.api.elb(new DescribeTargetGroupsCommand({ ...(marker ? { Marker: marker } : {}) }));
    for (const group of out.TargetGroups ?? []) candidates.push({ kind: 'target-group', arn: group.TargetGroupArn ?? '', detail: group.TargetGroupName ?? '' });
    marker = out.NextMarker;
  } while (marker);

  const ours = new Set<string>();
  for (let index = 0; index < candidates.length; index += 20) {
    const out = await run.api.elb(new DescribeTagsCommand({ ResourceArns: candidates.slice(index, index + 20).map((candidate) => candidate.arn) }));
    for (const description of out.TagDescriptions ?? []) {
      if (tagValue(description.Tags, TAG_CLUSTER) === run.cluster && description.ResourceArn) ours.add(description.ResourceArn);
    }
  }
  return candidates.filter((candidate) => ours.has(candidate.arn)).map((candidate) => ({ kind: candidate.kind, id: candidate.arn, detail: candidate.detail }));
}
