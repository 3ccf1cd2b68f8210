// Pod routes: every worker's pods take addresses from its own /24 of network.clusterCIDR
// (Node.podCIDR), and the cluster's route table sends that /24 to the worker's instance, so a
// packet for a pod on another worker reaches it through the VPC without an overlay. Found,
// created or re-pointed per worker; a replaced worker's route follows its new instance.
import { CreateRouteCommand, DescribeRouteTablesCommand, ReplaceRouteCommand, type Route, type RouteTable } from '@aws-sdk/client-ec2';
import { SpecError, TaskError } from '../../errors.ts';
import { cidrsOverlap } from '../../inventory/ipv4.ts';
import type { Node } from '../../inventory/node.ts';
import type { ClusterSpec } from '../../spec/schema.ts';
import type { PlannedResource } from '../provider.ts';
import { isNotFoundYet, noteCreated, noteFound, retryWhile, type AwsRun } from './run.ts';
import { recordAws, type AwsInstanceRecord } from './state.ts';

export interface PodRoute {
  node: string;
  cidr: string;
}

/**
 * Why: one route per worker, from the inventory. A pod network inside the VPC's range could never
 * be routed to a worker (the VPC's own local route covers it), so that is refused up front.
 */
export function podRoutes(spec: ClusterSpec, nodes: readonly Node[]): PodRoute[] {
  const routes = nodes.flatMap((node) => (node.roles.includes('worker') && node.podCIDR ? [{ node: node.name, cidr: node.podCIDR }] : []));
  const vpcCIDR = spec.aws?.vpcCIDR;
  if (routes.length && vpcCIDR && cidrsOverlap(spec.network.clusterCIDR, vpcCIDR)) {
    throw new SpecError(`network.clusterCIDR ${spec.network.clusterCIDR} overlaps aws.vpcCIDR ${vpcCIDR}: the VPC's local route would take the pods' traffic away from the workers`, { field: 'network.clusterCIDR' }, {
      hint: 'Pick a pod network outside the VPC, such as 10.200.0.0/16.',
    });
  }
  return routes;
}

/** The route of the table for a destination, if any. */
export function routeFor(table: RouteTable | undefined, cidr: string): Route | undefined {
  return table?.Routes?.find((route) => route.DestinationCidrBlock === cidr);
}

/** What a route sends its traffic to, for messages ("i-0abc", "igw-1", "blackhole"). */
export function routeTarget(route: Route): string {
  return route.InstanceId ?? route.NetworkInterfaceId ?? route.GatewayId ?? route.NatGatewayId ?? route.TransitGatewayId ?? route.VpcPeeringConnectionId ?? route.State ?? 'unknown';
}

/**
 * Made with InstanceId, a route reads back with that InstanceId (AWS adds the instance's ENI). A
 * route whose instance was terminated loses it (or keeps a dead one), so it never matches a new one.
 */
export function routesTo(route: Route | undefined, instanceId: string): boolean {
  return route?.InstanceId === instanceId;
}

async function describeTable(run: AwsRun, routeTableId: string): Promise<RouteTable | undefined> {
  const out = await retryWhile(run, `route table ${routeTableId} to be visible`, isNotFoundYet, 'consistencyMs', () =>
    run.api.ec2(new DescribeRouteTablesCommand({ RouteTableIds: [routeTableId] })),
  );
  return out.RouteTables?.[0];
}

/** Why: without these routes a worker's pods are unreachable from every other node. */
export async function ensurePodRoutes(run: AwsRun, routeTableId: string, nodes: readonly Node[], instances: Record<string, AwsInstanceRecord>): Promise<void> {
  const wanted = podRoutes(run.spec, nodes);
  if (!wanted.length) return;
  const table = await describeTable(run, routeTableId);
  const recorded: Record<string, { cidr: string; instanceId: string }> = {};
  for (const { node, cidr } of wanted) {
    const instanceId = instances[node]?.instanceId;
    if (!instanceId) throw new TaskError(`no instance for worker ${node}, so its pod route ${cidr} has no target`, { node }, { hint: 'Re-run `hardway provision --step infra`.' });
    const current = routeFor(table, cidr);
    if (routesTo(current, instanceId)) {
      noteFound(run, 'route', `${cidr} -> ${instanceId} (${node})`);
    } else if (current) {
      // Replaced in place, never deleted first: traffic keeps a route at every moment.
      await run.api.ec2(new ReplaceRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: cidr, InstanceId: instanceId }));
      noteCreated(run, 'route', `${cidr} -> ${instanceId} (${node}, was ${routeTarget(current)})`);
    } else {
      // A just-launched instance may be unknown to the route API for a few seconds.
      await retryWhile(run, `instance ${instanceId} of ${node} to be routable`, isNotFoundYet, 'consistencyMs', () =>
        run.api.ec2(new CreateRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: cidr, InstanceId: instanceId })),
      );
      noteCreated(run, 'route', `${cidr} -> ${instanceId} (${node})`);
    }
    recorded[node] = { cidr, instanceId };
  }
  await recordAws(run.ctx, (aws) => {
    aws.podRoutes = { ...aws.podRoutes, ...recorded };
  });
}

/** `hardway plan`'s lines for the pod routes; `instanceOf` gives a worker's live instance, if any. */
export function planPodRoutes(run: AwsRun, table: RouteTable | undefined, instanceOf: (node: string) => string | undefined): PlannedResource[] {
  return podRoutes(run.spec, run.ctx.inventory.nodes).map(({ node, cidr }): PlannedResource => {
    const instanceId = instanceOf(node);
    const current = routeFor(table, cidr);
    if (!instanceId) return current ? { action: 'change', text: `replace route ${cidr} -> the new instance of ${node} (now ${routeTarget(current)})` } : { action: 'create', text: `create route ${cidr} -> the new instance of ${node} (its pods)` };
    if (routesTo(current, instanceId)) return { action: 'found', text: `found route ${cidr} -> ${instanceId} (${node})` };
    return current ? { action: 'change', text: `replace route ${cidr} -> ${instanceId} (${node}; now ${routeTarget(current)})` } : { action: 'create', text: `create route ${cidr} -> ${instanceId} (${node}, its pods)` };
  });
}
