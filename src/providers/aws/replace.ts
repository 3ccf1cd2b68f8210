// `hardway rebuild` on aws: terminate the node's instance, wait until its private IP is free,
// and launch a fresh one with the same IP, tags and settings; a worker's pod route follows it.
import type { Node } from '../../inventory/node.ts';
import { ensureFoundation } from './ensure.ts';
import { ensureInstances, findInstances, terminateInstances } from './instances.ts';
import { ensurePodRoutes } from './routes.ts';
import type { AwsRun } from './run.ts';

/** Why: a broken or outdated machine is replaced, never repaired in place. */
export async function replaceNode(run: AwsRun, node: Node): Promise<void> {
  // The network, groups and key pair first: if they cannot be had, the old machine stays.
  const foundation = await ensureFoundation(run);
  const old = (await findInstances(run)).get(node.name);
  if (old?.InstanceId) await terminateInstances(run, new Map([[node.name, old.InstanceId]]));
  const records = await ensureInstances(run, foundation.placement, [node]);
  const record = records[node.name];
  if (!record) return;
  // Until this runs, the route points at the terminated instance (a blackhole on AWS).
  await ensurePodRoutes(run, foundation.network.routeTableId, [node], records);
  // The new machine has a new public address: later steps must reach it there.
  await run.ctx.state.update((draft) => {
    draft.providerFacts.sshAddresses = { ...draft.providerFacts.sshAddresses, [node.name]: record.publicIp ?? record.privateIp };
  });
  run.ctx.log(`${node.name} is now ${record.instanceId} (${record.privateIp}${record.publicIp ? `, public ${record.publicIp}` : ''})`);
}
