// Independent checks for test/e2e/aws.test.ts: what exists in moto for a cluster, read with the
// SDK's Describe* calls and tag filters (not through the provider), and ways to break a cluster
// the way a crash or a person in the console would.
import {
  DeleteListenerCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  CreateRouteTableCommand,
  DeleteRouteCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ReplaceRouteCommand,
  RevokeSecurityGroupIngressCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';

export interface Clients {
  ec2: EC2Client;
  elb: ElasticLoadBalancingV2Client;
}

/** What exists for the cluster, read independently of the provider with Describe* and tag filters. */
export async function inventory({ ec2, elb }: Clients, cluster: string) {
  const Filters = [{ Name: 'tag:hardway:cluster', Values: [cluster] }];
  const vpcs = (await ec2.send(new DescribeVpcsCommand({ Filters }))).Vpcs ?? [];
  const vpcDetails = [];
  for (const vpc of vpcs) {
    const attribute = await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpc.VpcId, Attribute: 'enableDnsHostnames' }));
    vpcDetails.push({ id: vpc.VpcId, cidr: vpc.CidrBlock, dnsHostnames: attribute.EnableDnsHostnames?.Value ?? false });
  }
  const instances = ((await ec2.send(new DescribeInstancesCommand({ Filters }))).Reservations ?? [])
    .flatMap((reservation) => reservation.Instances ?? [])
    .map((instance) => ({
      id: instance.InstanceId,
      state: instance.State?.Name,
      privateIp: instance.PrivateIpAddress,
      hasPublicIp: Boolean(instance.PublicIpAddress),
      type: instance.InstanceType,
      imageId: instance.ImageId,
      keyName: instance.KeyName,
      sourceDestCheck: instance.SourceDestCheck,
      subnetId: instance.SubnetId,
      groups: (instance.NetworkInterfaces?.[0]?.Groups ?? []).map((group) => group.GroupId),
      tags: Object.fromEntries((instance.Tags ?? []).map((tag) => [tag.Key, tag.Value])),
    }));
  const volumes = ((await ec2.send(new DescribeVolumesCommand({ Filters }))).Volumes ?? []).map((volume) => ({
    id: volume.VolumeId,
    state: volume.State,
    encrypted: volume.Encrypted,
    type: volume.VolumeType,
    size: volume.Size,
    instanceId: volume.Attachments?.[0]?.InstanceId,
  }));
  const groups = ((await ec2.send(new DescribeSecurityGroupsCommand({ Filters }))).SecurityGroups ?? []).map((group) => ({
    id: group.GroupId,
    name: group.GroupName,
    vpcId: group.VpcId,
    rules: (group.IpPermissions ?? []).flatMap((permission) =>
      (permission.IpRanges ?? []).map((range) => ({ protocol: permission.IpProtocol, from: permission.FromPort, to: permission.ToPort, cidr: range.CidrIp })),
    ),
  }));
  const subnets = ((await ec2.send(new DescribeSubnetsCommand({ Filters }))).Subnets ?? []).map((subnet) => ({ id: subnet.SubnetId, cidr: subnet.CidrBlock, az: subnet.AvailabilityZone, vpcId: subnet.VpcId }));
  const gateways = ((await ec2.send(new DescribeInternetGatewaysCommand({ Filters }))).InternetGateways ?? []).map((gateway) => ({
    id: gateway.InternetGatewayId,
    attachedTo: (gateway.Attachments ?? []).map((attachment) => attachment.VpcId),
  }));
  const tables = (await ec2.send(new DescribeRouteTablesCommand({ Filters }))).RouteTables ?? [];
  const routeTables = tables.map((table) => ({
    id: table.RouteTableId,
    defaultRouteVia: table.Routes?.find((route) => route.DestinationCidrBlock === '0.0.0.0/0')?.GatewayId,
    subnets: (table.Associations ?? []).map((association) => association.SubnetId).filter(Boolean),
  }));
  // Routes to an instance or an interface: the workers' pod routes.
  const podRoutes = tables.flatMap((table) =>
    (table.Routes ?? [])
      .filter((route) => route.InstanceId || route.NetworkInterfaceId)
      .map((route) => ({ tableId: table.RouteTableId, cidr: route.DestinationCidrBlock, instanceId: route.InstanceId })),
  );
  const keyPairs = ((await ec2.send(new DescribeKeyPairsCommand({ Filters }))).KeyPairs ?? []).map((pair) => pair.KeyName);
  const interfaces = ((await ec2.send(new DescribeNetworkInterfacesCommand({ Filters }))).NetworkInterfaces ?? []).map((eni) => eni.NetworkInterfaceId);

  const allBalancers = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
  const allGroups = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
  const arns = [...allBalancers.map((balancer) => balancer.LoadBalancerArn), ...allGroups.map((group) => group.TargetGroupArn)].filter((arn): arn is string => Boolean(arn));
  const tagged = new Set<string>();
  for (let index = 0; index < arns.length; index += 20) {
    const tags = await elb.send(new DescribeTagsCommand({ ResourceArns: arns.slice(index, index + 20) }));
    for (const description of tags.TagDescriptions ?? []) {
      if (description.Tags?.some((tag) => tag.Key === 'hardway:cluster' && tag.Value === cluster) && description.ResourceArn) tagged.add(description.ResourceArn);
    }
  }
  const loadBalancers = [];
  for (const balancer of allBalancers.filter((candidate) => tagged.has(candidate.LoadBalancerArn ?? ''))) {
    const listeners = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: balancer.LoadBalancerArn }))).Listeners ?? [];
    loadBalancers.push({
      name: balancer.LoadBalancerName,
      dnsName: balancer.DNSName,
      type: balancer.Type,
      scheme: balancer.Scheme,
      state: balancer.State?.Code,
      subnets: (balancer.AvailabilityZones ?? []).map((zone) => zone.SubnetId),
      securityGroups: balancer.SecurityGroups ?? [],
      listeners: listeners.map((listener) => ({ protocol: listener.Protocol, port: listener.Port, forwardTo: listener.DefaultActions?.[0]?.TargetGroupArn })),
    });
  }
  const targetGroups = [];
  for (const group of allGroups.filter((candidate) => tagged.has(candidate.TargetGroupArn ?? ''))) {
    const health = (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: group.TargetGroupArn }))).TargetHealthDescriptions ?? [];
    const attributes = (await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: group.TargetGroupArn }))).Attributes ?? [];
    targetGroups.push({
      name: group.TargetGroupName,
      arn: group.TargetGroupArn,
      targetType: group.TargetType,
      protocol: group.Protocol,
      port: group.Port,
      healthCheck: { protocol: group.HealthCheckProtocol, path: group.HealthCheckPath },
      attributes: Object.fromEntries(attributes.map((attribute) => [attribute.Key, attribute.Value])),
      targets: health.map((description) => ({ id: description.Target?.Id, port: description.Target?.Port, state: description.TargetHealth?.State })),
    });
  }
  const live = instances.filter((instance) => instance.state !== 'terminated');
  const liveVolumes = volumes.filter((volume) => volume.state !== 'deleting' && volume.state !== 'deleted');
  const taggedCount =
    vpcs.length + subnets.length + gateways.length + routeTables.length + groups.length + keyPairs.length + interfaces.length + live.length + liveVolumes.length + loadBalancers.length + targetGroups.length;
  return { vpcs: vpcDetails, subnets, gateways, routeTables, podRoutes, groups, keyPairs, interfaces, instances, volumes, loadBalancers, targetGroups, taggedCount };
}

/** Break the cluster the way a crash or a hand in the console would: one instance gone, the listener gone, one SSH rule revoked. */
export async function damage({ ec2, elb }: Clients, cluster: string, nodeName: string) {
  const Filters = [
    { Name: 'tag:hardway:cluster', Values: [cluster] },
    { Name: 'tag:hardway:node', Values: [nodeName] },
    { Name: 'instance-state-name', Values: ['pending', 'running'] },
  ];
  const instance = (await ec2.send(new DescribeInstancesCommand({ Filters }))).Reservations?.[0]?.Instances?.[0];
  if (!instance?.InstanceId) throw new Error(`no instance for ${nodeName}`);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instance.InstanceId] }));
  const balancer = (await elb.send(new DescribeLoadBalancersCommand({ Names: [`hardway-${cluster}`] }))).LoadBalancers?.[0];
  const listener = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: balancer?.LoadBalancerArn }))).Listeners?.[0];
  await elb.send(new DeleteListenerCommand({ ListenerArn: listener?.ListenerArn }));
  const group = (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:hardway:cluster', Values: [cluster] }, { Name: 'tag:hardway:resource', Values: ['sg-nodes'] }] })))
    .SecurityGroups?.[0];
  const sshRule = group?.IpPermissions?.find((permission) => permission.FromPort === 22);
  const range = sshRule?.IpRanges?.[0];
  const cidr = range?.CidrIp;
  // The whole range, description included: moto matches on it (AWS matches on the CIDR alone).
  await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: group?.GroupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: range ? [range] : [] }] }));
  return { terminated: instance.InstanceId, deletedListener: listener?.ListenerArn, revokedSshFrom: cidr };
}

/**
 * Undo by hand what infra set up for workers: worker-1's pod route pointed at worker-0, worker-0's
 * route deleted, the source/dest check back on on worker-0 and off on controller-0.
 */
export async function misroute({ ec2 }: Clients, cluster: string) {
  const byNode = new Map<string, string>();
  const live = { Name: 'instance-state-name', Values: ['pending', 'running'] };
  for (const instance of ((await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:hardway:cluster', Values: [cluster] }, live] }))).Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
    const node = instance.Tags?.find((tag) => tag.Key === 'hardway:node')?.Value;
    if (node && instance.InstanceId) byNode.set(node, instance.InstanceId);
  }
  const table = (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'tag:hardway:cluster', Values: [cluster] }] }))).RouteTables?.[0];
  await ec2.send(new ReplaceRouteCommand({ RouteTableId: table?.RouteTableId, DestinationCidrBlock: '10.200.1.0/24', InstanceId: byNode.get('worker-0') }));
  await ec2.send(new DeleteRouteCommand({ RouteTableId: table?.RouteTableId, DestinationCidrBlock: '10.200.0.0/24' }));
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: byNode.get('worker-0'), SourceDestCheck: { Value: true } }));
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: byNode.get('controller-0'), SourceDestCheck: { Value: false } }));
  return Object.fromEntries(byNode);
}

/** A route table made by hand (untagged) in the cluster's VPC: the VPC cannot be deleted while it exists. */
export async function block({ ec2 }: Clients, cluster: string) {
  const vpc = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:hardway:cluster', Values: [cluster] }] }))).Vpcs?.[0];
  const table = await ec2.send(new CreateRouteTableCommand({ VpcId: vpc?.VpcId }));
  return { routeTableId: table.RouteTable?.RouteTableId };
}
