// NLB membership of the controllers, by private IP: registered in the loadbalancer step and
// awaited until healthy, taken out (and drained) before a rebuild. Both waits are bounded.
import { DeregisterTargetsCommand, DescribeTargetHealthCommand, RegisterTargetsCommand, type TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { TaskError } from '../../errors.ts';
import type { Node } from '../../inventory/node.ts';
import { findTargetGroup, targetGroupName } from './load-balancer.ts';
import { APISERVER_PORT } from './rules.ts';
import { waitBounded, type AwsRun } from './run.ts';

function describeHealth(description: TargetHealthDescription | undefined): string {
  const health = description?.TargetHealth;
  if (!health) return 'not registered';
  return health.Reason ? `${health.State} (${health.Reason})` : (health.State ?? 'unknown');
}

/** Registered in any state but "not registered" (AWS says unused, moto unavailable; both give the reason). */
function isRegistered(description: TargetHealthDescription | undefined): boolean {
  const health = description?.TargetHealth;
  if (!health?.State) return false;
  return health.State !== 'unused' && health.Reason !== 'Target.NotRegistered';
}

async function targetHealth(run: AwsRun, targetGroupArn: string, nodes: readonly Node[]): Promise<Map<string, TargetHealthDescription>> {
  const out = await run.api.elb(
    new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn, Targets: nodes.map((node) => ({ Id: node.internalIP, Port: APISERVER_PORT })) }),
  );
  return new Map((out.TargetHealthDescriptions ?? []).map((description) => [description.Target?.Id ?? '', description]));
}

async function requireTargetGroup(run: AwsRun): Promise<string> {
  const group = await findTargetGroup(run);
  if (!group?.TargetGroupArn) {
    throw new TaskError(`the NLB target group ${targetGroupName(run.cluster)} does not exist`, { step: 'loadbalancer' }, { hint: 'Run `hardway provision --step infra` first.' });
  }
  return group.TargetGroupArn;
}

/** Why: an apiserver takes API traffic only once the NLB's own health check says it serves. */
export async function registerTargets(run: AwsRun, nodes: readonly Node[]): Promise<{ changed: boolean; reason: string }> {
  const arn = await requireTargetGroup(run);
  const before = await targetHealth(run, arn, nodes);
  const missing = nodes.filter((node) => {
    const description = before.get(node.internalIP);
    return !isRegistered(description) || description?.TargetHealth?.State === 'draining';
  });
  if (missing.length) {
    await run.api.elb(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: missing.map((node) => ({ Id: node.internalIP, Port: APISERVER_PORT })) }));
    run.ctx.log(`registered ${missing.map((node) => `${node.name} (${node.internalIP})`).join(', ')} with ${targetGroupName(run.cluster)}`);
  }
  const names = nodes.map((node) => node.name).join(', ');
  await waitBounded(
    run,
    `NLB targets ${names} to be healthy`,
    'targetsHealthyMs',
    async () => {
      const health = await targetHealth(run, arn, nodes);
      const waiting = nodes.filter((node) => health.get(node.internalIP)?.TargetHealth?.State !== 'healthy');
      return { done: waiting.length === 0, status: waiting.map((node) => `${node.name} ${describeHealth(health.get(node.internalIP))}`).join(', ') || 'healthy' };
    },
    `The NLB checks HTTPS /healthz on port ${APISERVER_PORT} of each controller from the node subnet: check that kube-apiserver runs there (\`hardway status\`).`,
  );
  return missing.length
    ? { changed: true, reason: `registered ${missing.map((node) => node.name).join(', ')}; all healthy` }
    : { changed: false, reason: `${names} registered and healthy` };
}

/** Why: a node about to be rebuilt must stop receiving API traffic first. */
export async function deregisterTargets(run: AwsRun, nodes: readonly Node[]): Promise<void> {
  const group = await findTargetGroup(run);
  if (!group?.TargetGroupArn) return;
  const arn = group.TargetGroupArn;
  const before = await targetHealth(run, arn, nodes);
  const registered = nodes.filter((node) => isRegistered(before.get(node.internalIP)));
  if (!registered.length) return;
  const toDeregister = registered.filter((node) => before.get(node.internalIP)?.TargetHealth?.State !== 'draining');
  if (toDeregister.length) {
    await run.api.elb(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: toDeregister.map((node) => ({ Id: node.internalIP, Port: APISERVER_PORT })) }));
    run.ctx.log(`deregistered ${toDeregister.map((node) => node.name).join(', ')} from ${targetGroupName(run.cluster)}`);
  }
  await waitBounded(run, `NLB targets ${registered.map((node) => node.name).join(', ')} to drain`, 'targetsDrainedMs', async () => {
    const health = await targetHealth(run, arn, registered);
    const draining = registered.filter((node) => isRegistered(health.get(node.internalIP)));
    return { done: draining.length === 0, status: draining.map((node) => `${node.name} ${describeHealth(health.get(node.internalIP))}`).join(', ') || 'drained' };
  });
}
