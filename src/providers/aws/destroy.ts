// Tear-down in dependency order: NLB targets, listeners, the NLB, target groups, the workers'
// pod routes, instances (waited), security groups, route tables, subnets, internet gateways,
// VPCs, key pairs. Deletes refused while AWS still releases a dependency are retried within a
// bound; at the end nothing tagged with the cluster may remain.
import {
  DeleteInternetGatewayCommand,
  DeleteKeyPairCommand,
  DeleteNetworkInterfaceCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVolumeCommand,
  DeleteVpcCommand,
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
} from '@aws-sdk/client-ec2';
import {
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsErrorCode } from './errors.ts';
import { terminateInstances } from './instances.ts';
import { retryWhile, waitBounded, type AwsRun } from './run.ts';
import { listTagged, type TaggedResource } from './tagged.ts';

const RETRY_CODES = new Set(['DependencyViolation', 'ResourceInUse', 'ResourceInUseException', 'InvalidNetworkInterface.InUse', 'VolumeInUse']);

/** Delete one resource; "already gone" counts as done, "still in use" is retried within the bound. */
async function remove(run: AwsRun, what: string, call: () => Promise<unknown>, deleted: string[]): Promise<void> {
  try {
    await retryWhile(run, `${what} to be deletable`, (code) => RETRY_CODES.has(code), 'dependencyMs', call);
  } catch (error) {
    const code = awsErrorCode(error) ?? '';
    if (code.endsWith('NotFound') || code.endsWith('NotFoundException')) return;
    throw error;
  }
  deleted.push(what);
  run.ctx.log(`deleted ${what}`);
}

/** Why: `hardway destroy` must leave no cost and no tagged resource behind, even without state. */
export async function destroyCluster(run: AwsRun): Promise<string[]> {
  const deleted: string[] = [];
  const tagged = await listTagged(run);
  const of = (kind: TaggedResource['kind']) => tagged.filter((resource) => resource.kind === kind);

  for (const group of of('target-group')) {
    const health = await run.api.elb(new DescribeTargetHealthCommand({ TargetGroupArn: group.id }));
    const targets = (health.TargetHealthDescriptions ?? []).flatMap((description) => (description.Target?.Id ? [{ Id: description.Target.Id, Port: description.Target.Port }] : []));
    if (targets.length) {
      await run.api.elb(new DeregisterTargetsCommand({ TargetGroupArn: group.id, Targets: targets }));
      run.ctx.log(`deregistered ${targets.map((target) => target.Id).join(', ')} from ${group.detail}`);
    }
  }
  for (const balancer of of('load-balancer')) {
    const listeners = await run.api.elb(new DescribeListenersCommand({ LoadBalancerArn: balancer.id }));
    for (const listener of listeners.Listeners ?? []) {
      if (listener.ListenerArn) await remove(run, `listener ${balancer.detail}:${listener.Port}`, () => run.api.elb(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn })), deleted);
    }
    await remove(run, `load-balancer ${balancer.detail}`, () => run.api.elb(new DeleteLoadBalancerCommand({ LoadBalancerArn: balancer.id })), deleted);
    await waitBounded(run, `load balancer ${balancer.detail} to be gone`, 'dependencyMs', async () => {
      try {
        const out = await run.api.elb(new DescribeLoadBalancersCommand({ LoadBalancerArns: [balancer.id] }));
        return { done: !out.LoadBalancers?.length, status: out.LoadBalancers?.[0]?.State?.Code ?? 'deleting' };
      } catch (error) {
        if (awsErrorCode(error)?.startsWith('LoadBalancerNotFound')) return { done: true, status: 'gone' };
        throw error;
      }
    });
  }
  for (const group of of('target-group')) {
    await remove(run, `target-group ${group.detail}`, () => run.api.elb(new DeleteTargetGroupCommand({ TargetGroupArn: group.id })), deleted);
  }

  // Routes to instances are only ever the workers' pod routes (the table is the cluster's own);
  // they go before the instances, so no route is left pointing at a terminated one.
  for (const table of of('route-table')) {
    const out = await run.api.ec2(new DescribeRouteTablesCommand({ RouteTableIds: [table.id] })).catch(() => ({ RouteTables: [] }));
    for (const route of out.RouteTables?.[0]?.Routes ?? []) {
      const cidr = route.DestinationCidrBlock;
      if (!cidr || !(route.InstanceId || route.NetworkInterfaceId)) continue;
      await remove(run, `route ${cidr} -> ${route.InstanceId ?? route.NetworkInterfaceId} (${table.id})`, () => run.api.ec2(new DeleteRouteCommand({ RouteTableId: table.id, DestinationCidrBlock: cidr })), deleted);
    }
  }

  const instances = of('instance');
  if (instances.length) {
    await terminateInstances(run, new Map(instances.map((instance) => [instance.node ?? instance.id, instance.id])));
    for (const instance of instances) deleted.push(`instance ${instance.id} (${instance.node ?? 'no node tag'})`);
  }
  // Interfaces and volumes go with their instances; these loops catch ones left detached.
  for (const eni of of('network-interface')) {
    await remove(run, `network-interface ${eni.id}`, () => run.api.ec2(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni.id })), deleted);
  }
  for (const volume of of('volume')) {
    await remove(run, `volume ${volume.id}`, () => run.api.ec2(new DeleteVolumeCommand({ VolumeId: volume.id })), deleted);
  }

  for (const group of of('security-group')) {
    await remove(run, `security-group ${group.id} (${group.detail})`, () => run.api.ec2(new DeleteSecurityGroupCommand({ GroupId: group.id })), deleted);
  }
  for (const table of of('route-table')) {
    const out = await run.api.ec2(new DescribeRouteTablesCommand({ RouteTableIds: [table.id] })).catch(() => ({ RouteTables: [] }));
    for (const association of out.RouteTables?.[0]?.Associations ?? []) {
      if (!association.Main && association.RouteTableAssociationId) {
        await run.api.ec2(new DisassociateRouteTableCommand({ AssociationId: association.RouteTableAssociationId }));
      }
    }
    await remove(run, `route-table ${table.id}`, () => run.api.ec2(new DeleteRouteTableCommand({ RouteTableId: table.id })), deleted);
  }
  for (const subnet of of('subnet')) {
    await remove(run, `subnet ${subnet.id} (${subnet.detail})`, () => run.api.ec2(new DeleteSubnetCommand({ SubnetId: subnet.id })), deleted);
  }
  for (const gateway of of('internet-gateway')) {
    const out = await run.api.ec2(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [gateway.id] })).catch(() => ({ InternetGateways: [] }));
    for (const attachment of out.InternetGateways?.[0]?.Attachments ?? []) {
      if (attachment.VpcId) {
        const vpcId = attachment.VpcId;
        await retryWhile(run, `internet gateway ${gateway.id} to detach`, (code) => RETRY_CODES.has(code), 'dependencyMs', () =>
          run.api.ec2(new DetachInternetGatewayCommand({ InternetGatewayId: gateway.id, VpcId: vpcId })),
        );
      }
    }
    await remove(run, `internet-gateway ${gateway.id}`, () => run.api.ec2(new DeleteInternetGatewayCommand({ InternetGatewayId: gateway.id })), deleted);
  }
  for (const vpc of of('vpc')) {
    await remove(run, `vpc ${vpc.id} (${vpc.detail})`, () => run.api.ec2(new DeleteVpcCommand({ VpcId: vpc.id })), deleted);
  }
  for (const key of of('key-pair')) {
    await remove(run, `key-pair ${key.id}`, () => run.api.ec2(new DeleteKeyPairCommand({ KeyName: key.id })), deleted);
  }

  await waitBounded(
    run,
    `the last resources tagged ${run.cluster} to disappear`,
    'dependencyMs',
    async () => {
      const left = await listTagged(run);
      return { done: left.length === 0, status: left.map((resource) => `${resource.kind} ${resource.id} ${resource.detail}`.trim()).join(', ') };
    },
    'Something refused deletion: re-run `hardway destroy`, or delete what is listed by hand.',
  );
  return deleted;
}
