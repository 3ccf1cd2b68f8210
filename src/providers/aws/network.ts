// The cluster's network: a VPC with DNS hostnames, one subnet for the nodes, an internet
// gateway and a route table whose default route uses it. Each is found by its tags or made.
import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeAvailabilityZonesCommand,
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  ModifyVpcAttributeCommand,
  ReplaceRouteCommand,
  ReplaceRouteTableAssociationCommand,
  type InternetGateway,
  type RouteTable,
  type Subnet,
  type Vpc,
} from '@aws-sdk/client-ec2';
import { TaskError } from '../../errors.ts';
import { isNotFoundYet, noteCreated, noteFound, recordAwsIds, retryWhile, single, type AwsRun } from './run.ts';
import { clusterFilters, resourceName, resourceTags, tagSpecifications } from './tags.ts';

export interface NetworkIds {
  vpcId: string;
  subnetId: string;
  availabilityZone: string;
  internetGatewayId: string;
  routeTableId: string;
}

/** Why: instances and the NLB need the whole network; its parts are made in dependency order. */
export async function ensureNetwork(run: AwsRun): Promise<NetworkIds> {
  const vpcId = await ensureVpc(run);
  const internetGatewayId = await ensureInternetGateway(run, vpcId);
  const { subnetId, availabilityZone } = await ensureSubnet(run, vpcId);
  const routeTableId = await ensureRouteTable(run, vpcId, subnetId, internetGatewayId);
  return { vpcId, subnetId, availabilityZone, internetGatewayId, routeTableId };
}

export async function findVpc(run: AwsRun): Promise<Vpc | undefined> {
  const out = await run.api.ec2(new DescribeVpcsCommand({ Filters: clusterFilters(run.cluster, 'vpc') }));
  return single(run, 'VPC', out.Vpcs, (vpc) => vpc.VpcId);
}

async function ensureVpc(run: AwsRun): Promise<string> {
  let vpc = await findVpc(run);
  if (vpc?.VpcId) {
    if (vpc.CidrBlock !== run.aws.vpcCIDR) {
      throw new TaskError(`VPC ${vpc.VpcId} of cluster ${run.cluster} has CIDR ${vpc.CidrBlock}, but aws.vpcCIDR is ${run.aws.vpcCIDR}`, { field: 'aws.vpcCIDR' }, {
        hint: `Set aws.vpcCIDR back to ${vpc.CidrBlock}, or run \`hardway destroy\` first to rebuild the network.`,
      });
    }
    noteFound(run, 'vpc', vpc.VpcId);
  } else {
    const name = resourceName(run.cluster, 'vpc');
    const out = await run.api.ec2(
      new CreateVpcCommand({ CidrBlock: run.aws.vpcCIDR, TagSpecifications: tagSpecifications(['vpc'], resourceTags(run.cluster, 'vpc', name)) }),
    );
    vpc = out.Vpc;
    if (!vpc?.VpcId) throw new TaskError('CreateVpc returned no VPC id', {});
    noteCreated(run, 'vpc', `${vpc.VpcId} (${run.aws.vpcCIDR})`);
  }
  const vpcId = vpc.VpcId;
  await recordAwsIds(run, { vpcId });
  // Public DNS names for instances; the NLB's name resolves either way.
  const attribute = await retryWhile(run, `VPC ${vpcId} to be visible`, isNotFoundYet, 'consistencyMs', () =>
    run.api.ec2(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsHostnames' })),
  );
  if (!attribute.EnableDnsHostnames?.Value) {
    await run.api.ec2(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: true } }));
    run.ctx.log(`enabled DNS hostnames on ${vpcId}`);
  }
  return vpcId;
}

export async function findInternetGateway(run: AwsRun): Promise<InternetGateway | undefined> {
  const out = await run.api.ec2(new DescribeInternetGatewaysCommand({ Filters: clusterFilters(run.cluster, 'internet-gateway') }));
  return single(run, 'internet gateway', out.InternetGateways, (gateway) => gateway.InternetGatewayId);
}

async function ensureInternetGateway(run: AwsRun, vpcId: string): Promise<string> {
  let gateway = await findInternetGateway(run);
  if (gateway?.InternetGatewayId) {
    noteFound(run, 'internet-gateway', gateway.InternetGatewayId);
  } else {
    const name = resourceName(run.cluster, 'igw');
    const out = await run.api.ec2(
      new CreateInternetGatewayCommand({ TagSpecifications: tagSpecifications(['internet-gateway'], resourceTags(run.cluster, 'internet-gateway', name)) }),
    );
    gateway = out.InternetGateway;
    if (!gateway?.InternetGatewayId) throw new TaskError('CreateInternetGateway returned no id', {});
    noteCreated(run, 'internet-gateway', gateway.InternetGatewayId);
  }
  const internetGatewayId = gateway.InternetGatewayId;
  await recordAwsIds(run, { internetGatewayId });
  const attachedTo = (gateway.Attachments ?? []).map((attachment) => attachment.VpcId);
  if (!attachedTo.includes(vpcId)) {
    if (attachedTo.length) {
      throw new TaskError(`internet gateway ${internetGatewayId} of cluster ${run.cluster} is attached to ${attachedTo.join(', ')}, not to ${vpcId}`, {}, {
        hint: 'Detach it in the console or with `aws ec2 detach-internet-gateway`, then re-run.',
      });
    }
    await retryWhile(run, `internet gateway ${internetGatewayId} to be visible`, isNotFoundYet, 'consistencyMs', () =>
      run.api.ec2(new AttachInternetGatewayCommand({ InternetGatewayId: internetGatewayId, VpcId: vpcId })),
    );
    run.ctx.log(`attached ${internetGatewayId} to ${vpcId}`);
  }
  return internetGatewayId;
}

export async function findSubnet(run: AwsRun): Promise<Subnet | undefined> {
  const out = await run.api.ec2(new DescribeSubnetsCommand({ Filters: clusterFilters(run.cluster, 'subnet') }));
  return single(run, 'subnet', out.Subnets, (subnet) => subnet.SubnetId);
}

/** The zone from the spec, or the region's first available zone (sorted by name, so stable). */
export async function chooseAvailabilityZone(run: AwsRun): Promise<string> {
  if (run.aws.availabilityZone) return run.aws.availabilityZone;
  const out = await run.api.ec2(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'state', Values: ['available'] }] }));
  const zones = (out.AvailabilityZones ?? [])
    .filter((zone) => !zone.ZoneType || zone.ZoneType === 'availability-zone')
    .map((zone) => zone.ZoneName)
    .filter((name): name is string => Boolean(name))
    .sort();
  const zone = zones[0];
  if (!zone) throw new TaskError('the region lists no available availability zone', { field: 'aws.availabilityZone' }, { hint: 'Set aws.availabilityZone in cluster.yaml.' });
  return zone;
}

async function ensureSubnet(run: AwsRun, vpcId: string): Promise<{ subnetId: string; availabilityZone: string }> {
  const cidr = run.spec.network.nodeSubnet;
  let subnet = await findSubnet(run);
  if (subnet?.SubnetId) {
    if (subnet.CidrBlock !== cidr || subnet.VpcId !== vpcId) {
      throw new TaskError(`subnet ${subnet.SubnetId} of cluster ${run.cluster} is ${subnet.CidrBlock} in ${subnet.VpcId}, but the spec asks for ${cidr} in ${vpcId}`, { field: 'network.nodeSubnet' }, {
        hint: `Set network.nodeSubnet back to ${subnet.CidrBlock}, or run \`hardway destroy\` first.`,
      });
    }
    noteFound(run, 'subnet', subnet.SubnetId);
  } else {
    const zone = await chooseAvailabilityZone(run);
    const name = resourceName(run.cluster, 'nodes');
    const out = await retryWhile(run, `VPC ${vpcId} to accept a subnet`, isNotFoundYet, 'consistencyMs', () =>
      run.api.ec2(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: cidr,
          AvailabilityZone: zone,
          TagSpecifications: tagSpecifications(['subnet'], resourceTags(run.cluster, 'subnet', name)),
        }),
      ),
    );
    subnet = out.Subnet;
    if (!subnet?.SubnetId) throw new TaskError('CreateSubnet returned no id', {});
    noteCreated(run, 'subnet', `${subnet.SubnetId} (${cidr} in ${zone})`);
  }
  const availabilityZone = subnet.AvailabilityZone ?? run.aws.availabilityZone ?? '';
  await recordAwsIds(run, { subnetId: subnet.SubnetId, availabilityZone });
  return { subnetId: subnet.SubnetId, availabilityZone };
}

export async function findRouteTable(run: AwsRun): Promise<RouteTable | undefined> {
  const out = await run.api.ec2(new DescribeRouteTablesCommand({ Filters: clusterFilters(run.cluster, 'route-table') }));
  return single(run, 'route table', out.RouteTables, (table) => table.RouteTableId);
}

async function ensureRouteTable(run: AwsRun, vpcId: string, subnetId: string, internetGatewayId: string): Promise<string> {
  let table = await findRouteTable(run);
  if (table?.RouteTableId) {
    noteFound(run, 'route-table', table.RouteTableId);
  } else {
    const name = resourceName(run.cluster, 'public');
    const out = await run.api.ec2(
      new CreateRouteTableCommand({ VpcId: vpcId, TagSpecifications: tagSpecifications(['route-table'], resourceTags(run.cluster, 'route-table', name)) }),
    );
    table = out.RouteTable;
    if (!table?.RouteTableId) throw new TaskError('CreateRouteTable returned no id', {});
    noteCreated(run, 'route-table', table.RouteTableId);
  }
  const routeTableId = table.RouteTableId;
  await recordAwsIds(run, { routeTableId });

  const defaultRoute = table.Routes?.find((route) => route.DestinationCidrBlock === '0.0.0.0/0');
  if (!defaultRoute) {
    await retryWhile(run, `route table ${routeTableId} to be visible`, isNotFoundYet, 'consistencyMs', () =>
      run.api.ec2(new CreateRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: internetGatewayId })),
    );
    run.ctx.log(`added default route via ${internetGatewayId} to ${routeTableId}`);
  } else if (defaultRoute.GatewayId !== internetGatewayId) {
    await run.api.ec2(new ReplaceRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: internetGatewayId }));
    run.ctx.log(`pointed the default route of ${routeTableId} at ${internetGatewayId}`);
  }

  if (!table.Associations?.some((association) => association.SubnetId === subnetId)) {
    // The subnet may be explicitly associated with another table; replace that association.
    const current = await run.api.ec2(new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }));
    const other = current.RouteTables?.flatMap((candidate) => candidate.Associations ?? []).find((association) => association.SubnetId === subnetId);
    if (other?.RouteTableAssociationId) {
      await run.api.ec2(new ReplaceRouteTableAssociationCommand({ AssociationId: other.RouteTableAssociationId, RouteTableId: routeTableId }));
    } else {
      await run.api.ec2(new AssociateRouteTableCommand({ RouteTableId: routeTableId, SubnetId: subnetId }));
    }
    run.ctx.log(`associated ${routeTableId} with ${subnetId}`);
  }
  return routeTableId;
}
