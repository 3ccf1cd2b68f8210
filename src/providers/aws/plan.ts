// `hardway plan` for aws: what ensure would find and what it would create, from Describe calls
// only. Nothing is created, modified or tagged.
import type { Instance } from '@aws-sdk/client-ec2';
import type { Node } from '../../inventory/node.ts';
import { loadBalancerType } from '../../spec/schema.ts';
import { resolveImage } from './ami.ts';
import { findInstances } from './instances.ts';
import { keyPairName, findKeyPair } from './key-pair.ts';
import { instanceTypeFor, sourceDestCheckFor } from './launch.ts';
import { findListener, findLoadBalancer, findTargetGroup, loadBalancerName, targetGroupName } from './load-balancer.ts';
import { findInternetGateway, findRouteTable, findSubnet, findVpc } from './network.ts';
import { planPodRoutes } from './routes.ts';
import { APISERVER_PORT, diffRules, rulesFromPermissions } from './rules.ts';
import type { AwsRun } from './run.ts';
import type { PlannedResource } from '../provider.ts';
import { describeRule, findSecurityGroup, wantedRules } from './security-groups.ts';
import { resourceName } from './tags.ts';

/** Why: a user should see what AWS resources (and costs) a run makes before it makes them. */
export async function planCluster(run: AwsRun, keyPath: string): Promise<PlannedResource[]> {
  const plan: PlannedResource[] = [];
  const line = (found: string | undefined, what: string, detail: string) => plan.push(found ? { action: 'found', text: `found ${what} ${found}` } : { action: 'create', text: `create ${what} ${detail}` });

  const [vpc, gateway, subnet, table, key, instances] = await Promise.all([
    findVpc(run),
    findInternetGateway(run),
    findSubnet(run),
    findRouteTable(run),
    findKeyPair(run),
    findInstances(run),
  ]);
  const name = (suffix: string) => resourceName(run.cluster, suffix);
  line(vpc?.VpcId, 'vpc', `${name('vpc')} (${run.aws.vpcCIDR}, DNS hostnames on)`);
  line(gateway?.InternetGatewayId, 'internet-gateway', `${name('igw')} (attached to the VPC)`);
  line(subnet?.SubnetId, 'subnet', `${name('nodes')} (${run.spec.network.nodeSubnet} in ${run.aws.availabilityZone ?? "the region's first availability zone"})`);
  line(table?.RouteTableId, 'route-table', `${name('public')} (default route via the internet gateway${run.ctx.inventory.nodes.some((node) => node.podCIDR) ? ", a route to each worker's pods" : ''})`);

  const kinds = loadBalancerType(run.spec) === 'nlb' ? (['sg-nodes', 'sg-lb'] as const) : (['sg-nodes'] as const);
  for (const kind of kinds) {
    const group = await findSecurityGroup(run, kind);
    const wanted = wantedRules(run, kind);
    const { add, remove } = diffRules(wanted, rulesFromPermissions(group?.IpPermissions));
    if (group?.GroupId) {
      // A group ensure finds but whose rules it changes is a change, with the rules under it.
      const details = [...add.map((rule) => `allow ${describeRule(rule)}`), ...remove.map((rule) => `revoke ${describeRule(rule)}`)];
      plan.push({ action: details.length ? 'change' : 'found', text: `found security-group ${group.GroupId} (${kind})`, ...(details.length ? { details } : {}) });
    } else {
      plan.push({ action: 'create', text: `create security-group ${kind}: ${wanted.map(describeRule).join('; ')}` });
    }
  }
  line(key?.KeyName, 'key-pair', `${keyPairName(run.cluster)} (from ${keyPath}.pub)`);

  // An instance shutting down is as good as gone: ensure launches a new one.
  const live = (name: string) => {
    const instance = instances.get(name);
    return instance?.State?.Name === 'shutting-down' ? undefined : instance;
  };
  const missing = run.ctx.inventory.nodes.filter((node) => !live(node.name)?.InstanceId);
  const image = missing.length ? await resolveImage(run) : undefined;
  for (const node of run.ctx.inventory.nodes) {
    const instance = live(node.name);
    line(
      instance?.InstanceId && `${instance.InstanceId} (${node.name}, ${instance.State?.Name})`,
      'instance',
      `${node.name} (${node.internalIP}, ${instanceTypeFor(run.spec, node)}, ${image?.imageId} ${image?.name}, ${run.aws.rootVolumeGiB} GiB encrypted gp3, IMDSv2 required)`,
    );
    const change = sourceDestCheckChange(node, instance);
    if (change) plan.push({ action: 'change', text: change });
  }
  plan.push(...planPodRoutes(run, table, (node) => live(node)?.InstanceId));

  if (loadBalancerType(run.spec) === 'nlb') {
    const balancer = await findLoadBalancer(run);
    const group = await findTargetGroup(run);
    line(balancer?.LoadBalancerArn && `${loadBalancerName(run.cluster)} (${balancer.DNSName})`, 'load-balancer', `${loadBalancerName(run.cluster)} (network, internet-facing)`);
    line(group?.TargetGroupArn && targetGroupName(run.cluster), 'target-group', `${targetGroupName(run.cluster)} (ip targets, TCP ${APISERVER_PORT}, health check HTTPS /healthz)`);
    const listener = balancer?.LoadBalancerArn ? await findListener(run, balancer.LoadBalancerArn) : undefined;
    line(listener && `TCP ${listener.Port}`, 'listener', `TCP ${run.spec.loadBalancer.port} -> ${targetGroupName(run.cluster)}`);
  }
  return plan;
}

/** A new instance starts with the check on (EC2's default); ensure turns it off on workers only. */
function sourceDestCheckChange(node: Node, instance: Instance | undefined): string | undefined {
  const wanted = sourceDestCheckFor(node);
  const reason = wanted ? 'it forwards no traffic' : "it forwards its pods' traffic";
  if (!instance) return wanted ? undefined : `change instance ${node.name} once launched: source/dest check off (${reason})`;
  if ((instance.SourceDestCheck ?? true) === wanted) return undefined;
  return `change instance ${instance.InstanceId} (${node.name}): source/dest check ${wanted ? 'on' : 'off'} (${reason})`;
}
