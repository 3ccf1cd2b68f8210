// Scaling in on aws: a node the spec dropped leaves the NLB target group first (awaited until
// drained), then its instance is terminated (awaited, so its private IP is free), then the pod
// route that sent its range to it goes, and so do its records.
import { DeleteRouteCommand } from '@aws-sdk/client-ec2';
import type { Node } from '../../inventory/node.ts';
import { loadBalancerType } from '../../spec/schema.ts';
import { findInstances, terminateInstances } from './instances.ts';
import { findRouteTable } from './network.ts';
import { routesTo } from './routes.ts';
import type { AwsRun } from './run.ts';
import { recordAws } from './state.ts';
import { deregisterTargets } from './targets.ts';

/** Why: a machine the spec no longer lists costs money and keeps an address: it goes for good. */
export async function removeNode(run: AwsRun, name: string): Promise<string> {
  const instance = (await findInstances(run)).get(name);
  const done: string[] = [];
  if (instance?.InstanceId) {
    const internalIP = instance.PrivateIpAddress ?? '';
    const node: Node = { name, roles: [], internalIP, sshAddress: instance.PublicIpAddress ?? internalIP, sshPort: run.spec.ssh.port, user: run.spec.ssh.user };
    // Deregistering an address that never was a target is a no-op: any node may have been a controller.
    if (loadBalancerType(run.spec) === 'nlb' && internalIP) await deregisterTargets(run, [node]);
    await terminateInstances(run, new Map([[name, instance.InstanceId]]));
    done.push(`terminated ${name} (${instance.InstanceId})`);
    const table = await findRouteTable(run);
    for (const route of table?.Routes ?? []) {
      if (!table?.RouteTableId || !route.DestinationCidrBlock || !routesTo(route, instance.InstanceId)) continue;
      await run.api.ec2(new DeleteRouteCommand({ RouteTableId: table.RouteTableId, DestinationCidrBlock: route.DestinationCidrBlock }));
      done.push(`deleted its pod route ${route.DestinationCidrBlock}`);
    }
  } else {
    done.push(`${name} has no instance left`);
  }
  await recordAws(run.ctx, (aws) => {
    if (aws.instances) delete aws.instances[name];
    if (aws.podRoutes) delete aws.podRoutes[name];
  });
  await run.ctx.state.update((draft) => {
    if (draft.providerFacts.sshAddresses) delete draft.providerFacts.sshAddresses[name];
  });
  return done.join('; ');
}
