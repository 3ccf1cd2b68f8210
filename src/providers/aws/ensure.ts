// `ensure` for aws: the network, security groups and key pair first, then instances (and after
// them the workers' pod routes) and the NLB side by side (each takes minutes on AWS). Every step
// finds before it creates, so a re-run creates nothing and a run that crashed midway is completed.
import { loadBalancerType } from '../../spec/schema.ts';
import type { Node } from '../../inventory/node.ts';
import type { EnsureResult } from '../provider.ts';
import { resolveIdentity } from './api.ts';
import { ensureInstances, type InstancePlacement } from './instances.ts';
import { ensureKeyPair, loadSshKey } from './key-pair.ts';
import { ensureLoadBalancer } from './load-balancer.ts';
import { ensureNetwork, type NetworkIds } from './network.ts';
import { ensurePodRoutes } from './routes.ts';
import { recordAwsIds, type AwsRun } from './run.ts';
import { ensureSecurityGroups, type SecurityGroupIds } from './security-groups.ts';

export interface Foundation {
  network: NetworkIds;
  groups: SecurityGroupIds;
  placement: InstancePlacement;
}

/** What every instance needs before it can launch. */
export async function ensureFoundation(run: AwsRun): Promise<Foundation> {
  const key = await loadSshKey(run);
  const { region } = await resolveIdentity(run.api);
  await recordAwsIds(run, { region });
  const network = await ensureNetwork(run);
  run.ctx.signal.throwIfAborted();
  const groups = await ensureSecurityGroups(run, network.vpcId);
  run.ctx.signal.throwIfAborted();
  const keyName = await ensureKeyPair(run, key.publicKey, run.spec.ssh.keyPath);
  run.ctx.signal.throwIfAborted();
  return { network, groups, placement: { subnetId: network.subnetId, securityGroupId: groups.nodes, keyName } };
}

/** Why: the infra step's one call; its facts put public addresses and the NLB name into the inventory. */
export async function ensureCluster(run: AwsRun): Promise<EnsureResult> {
  const foundation = await ensureFoundation(run);
  const nodes: readonly Node[] = run.ctx.inventory.nodes;
  const wantsNlb = loadBalancerType(run.spec) === 'nlb';
  // allSettled: neither half may still be running when the clients close.
  const [instances, balancer] = await Promise.allSettled([
    // The pod routes need the workers' instance ids, so they follow the instances.
    ensureInstances(run, foundation.placement, nodes).then(async (records) => {
      await ensurePodRoutes(run, foundation.network.routeTableId, nodes, records);
      return records;
    }),
    wantsNlb && foundation.groups.lb ? ensureLoadBalancer(run, foundation.network, foundation.groups.lb) : Promise.resolve(undefined),
  ]);
  if (instances.status === 'rejected') throw instances.reason;
  if (balancer.status === 'rejected') throw balancer.reason;

  const sshAddresses: Record<string, string> = {};
  for (const [name, record] of Object.entries(instances.value)) sshAddresses[name] = record.publicIp ?? record.privateIp;
  return {
    created: run.created,
    found: run.found,
    facts: { sshAddresses, ...(balancer.value ? { loadBalancerDNSName: balancer.value.dnsName } : {}) },
  };
}
