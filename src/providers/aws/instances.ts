// One EC2 instance per node: found by its `hardway:node` tag, launched when missing, started
// when stopped, and converged (source/dest check off on workers only, IMDSv2 required). Waits
// are bounded and say which nodes they wait for.
import {
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  ModifyInstanceAttributeCommand,
  ModifyInstanceMetadataOptionsCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { TaskError } from '../../errors.ts';
import type { Node } from '../../inventory/node.ts';
import { resolveImage, type MachineImage } from './ami.ts';
import { awsErrorCode, isCapacity } from './errors.ts';
import { instanceTypeFor, nodeGroupOf, runInstancesInput, sourceDestCheckFor } from './launch.ts';
import { noteCreated, noteFound, retryWhile, waitBounded, type AwsRun } from './run.ts';
import { recordAws, type AwsInstanceRecord } from './state.ts';
import { clusterFilters, tagValue, TAG_NODE } from './tags.ts';

/** States in which an instance still holds its node's name and private IP. */
const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

export interface InstancePlacement {
  subnetId: string;
  securityGroupId: string;
  keyName: string;
}

/** The cluster's live instances by node name. */
export async function findInstances(run: AwsRun): Promise<Map<string, Instance>> {
  const out = await run.api.ec2(
    new DescribeInstancesCommand({ Filters: [...clusterFilters(run.cluster, 'instance'), { Name: 'instance-state-name', Values: LIVE_STATES }] }),
  );
  const byNode = new Map<string, Instance>();
  for (const instance of (out.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? [])) {
    const node = tagValue(instance.Tags, TAG_NODE);
    if (!node) continue;
    // A node shutting down is on its way out: a live twin (after a rebuild) wins.
    const current = byNode.get(node);
    if (current && current.State?.Name !== 'shutting-down') {
      run.ctx.log(`warning: node ${node} has two instances (${current.InstanceId}, ${instance.InstanceId}); using ${current.InstanceId}`);
      continue;
    }
    byNode.set(node, instance);
  }
  return byNode;
}

/** Why: the machines are the point of the infra step; everything else exists for them. */
export async function ensureInstances(run: AwsRun, placement: InstancePlacement, nodes: readonly Node[]): Promise<Record<string, AwsInstanceRecord>> {
  const existing = await findInstances(run);
  const ids = new Map<string, string>();
  const toStart: string[] = [];
  const missing: Node[] = [];
  for (const node of nodes) {
    const instance = existing.get(node.name);
    if (!instance?.InstanceId || instance.State?.Name === 'shutting-down') {
      missing.push(node);
      continue;
    }
    checkFound(run, node, instance);
    noteFound(run, 'instance', `${instance.InstanceId} (${node.name})`);
    ids.set(node.name, instance.InstanceId);
    if (instance.State?.Name === 'stopped' || instance.State?.Name === 'stopping') toStart.push(instance.InstanceId);
  }

  if (missing.length) {
    const image = await resolveImage(run);
    await recordAws(run.ctx, (aws) => {
      aws.amiId = image.imageId;
    });
    run.ctx.log(`launching ${missing.map((node) => node.name).join(', ')} from ${image.imageId} (${image.name})`);
    const launched = await Promise.all(missing.map((node) => launchInstance(run, placement, node, image)));
    for (const [index, node] of missing.entries()) ids.set(node.name, launched[index] as string);
  }
  if (toStart.length) {
    await waitForStates(run, nodes, ids, ['stopped', 'running']);
    await run.api.ec2(new StartInstancesCommand({ InstanceIds: toStart }));
    run.ctx.log(`started stopped instances ${toStart.join(', ')}`);
  }

  await waitForStates(run, nodes, ids, ['running']);
  await waitForStatusChecks(run, nodes, ids);
  return converge(run, nodes, ids);
}

/** A found instance must still be the machine the spec describes. */
function checkFound(run: AwsRun, node: Node, instance: Instance): void {
  if (instance.PrivateIpAddress && instance.PrivateIpAddress !== node.internalIP) {
    throw new TaskError(`node ${node.name} is ${instance.InstanceId} with private IP ${instance.PrivateIpAddress}, but the spec gives it ${node.internalIP}`, { node: node.name }, {
      hint: `Put the old address back in the spec, or run \`hardway rebuild ${node.name}\` to replace the machine.`,
    });
  }
  const wanted = instanceTypeFor(run.spec, node);
  if (instance.InstanceType && instance.InstanceType !== wanted) {
    run.ctx.log(`note: ${node.name} runs as ${instance.InstanceType}, the spec now asks for ${wanted}; \`hardway rebuild ${node.name}\` applies it`);
  }
}

/** Launch one node; its private IP may still be held by a just-terminated instance for a while. */
export async function launchInstance(run: AwsRun, placement: InstancePlacement, node: Node, image: MachineImage): Promise<string> {
  const input = runInstancesInput({ spec: run.spec, node, image, ...placement });
  let out;
  try {
    out = await retryWhile(run, `private IP ${node.internalIP} to be released for ${node.name}`, (code) => code === 'InvalidIPAddress.InUse', 'instanceTerminatedMs', () =>
      run.api.ec2(new RunInstancesCommand(input)),
    );
  } catch (error) {
    if (isCapacity(error)) {
      throw new TaskError(`AWS has no ${input.InstanceType} capacity for ${node.name} in this availability zone (${awsErrorCode(error)})`, { node: node.name }, {
        hint: `Set nodes.${nodeGroupOf(node) ?? 'controllers'}.instanceType to another type, or aws.availabilityZone to another zone (after \`hardway destroy\`), or re-run later.`,
        cause: error,
      });
    }
    throw error;
  }
  const instance = out.Instances?.[0];
  if (!instance?.InstanceId) throw new TaskError(`RunInstances returned no instance for ${node.name}`, { node: node.name });
  const instanceId = instance.InstanceId;
  noteCreated(run, 'instance', `${instanceId} (${node.name}, ${node.internalIP}, ${input.InstanceType})`);
  await recordAws(run.ctx, (aws) => {
    aws.instances = { ...aws.instances, [node.name]: { instanceId, privateIp: node.internalIP, instanceType: String(input.InstanceType) } };
  });
  return instanceId;
}

async function describeByIds(run: AwsRun, ids: string[]): Promise<Instance[]> {
  try {
    const out = await run.api.ec2(new DescribeInstancesCommand({ InstanceIds: ids }));
    return (out.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? []);
  } catch (error) {
    // Just launched instances can be unknown to DescribeInstances for a few seconds.
    if (awsErrorCode(error) === 'InvalidInstanceID.NotFound') return [];
    throw error;
  }
}

function nameOf(nodes: readonly Node[], ids: Map<string, string>, instanceId: string | undefined): string {
  for (const node of nodes) if (ids.get(node.name) === instanceId) return node.name;
  return instanceId ?? '?';
}

async function waitForStates(run: AwsRun, nodes: readonly Node[], ids: Map<string, string>, states: string[]): Promise<void> {
  const wanted = [...ids.values()];
  if (!wanted.length) return;
  await waitBounded(run, `instances ${[...ids.keys()].join(', ')} to be ${states.join(' or ')}`, 'instanceRunningMs', async () => {
    const instances = await describeByIds(run, wanted);
    const seen = new Map(instances.map((instance) => [instance.InstanceId, instance.State?.Name ?? 'unknown']));
    const terminated = instances.find((instance) => instance.State?.Name === 'terminated');
    if (terminated) {
      throw new TaskError(`instance ${terminated.InstanceId} of ${nameOf(nodes, ids, terminated.InstanceId)} terminated while starting (${terminated.StateReason?.Message ?? 'no reason given'})`, {
        node: nameOf(nodes, ids, terminated.InstanceId),
      }, { hint: 'Check the instance type, the AMI and the account limits; re-run to launch it again.' });
    }
    const pending = wanted.filter((id) => !states.includes(seen.get(id) ?? 'not visible yet'));
    return { done: pending.length === 0, status: pending.map((id) => `${nameOf(nodes, ids, id)} ${seen.get(id) ?? 'not visible yet'}`).join(', ') || 'ready' };
  });
}

async function waitForStatusChecks(run: AwsRun, nodes: readonly Node[], ids: Map<string, string>): Promise<void> {
  const wanted = [...ids.values()];
  if (!wanted.length) return;
  await waitBounded(
    run,
    `EC2 status checks of ${[...ids.keys()].join(', ')} to pass`,
    'statusChecksMs',
    async () => {
      const out = await run.api.ec2(new DescribeInstanceStatusCommand({ InstanceIds: wanted, IncludeAllInstances: true }));
      const byId = new Map((out.InstanceStatuses ?? []).map((status) => [status.InstanceId, status]));
      const waiting = wanted.flatMap((id) => {
        const status = byId.get(id);
        const system = status?.SystemStatus?.Status ?? 'initializing';
        const instance = status?.InstanceStatus?.Status ?? 'initializing';
        return system === 'ok' && instance === 'ok' ? [] : [`${nameOf(nodes, ids, id)} system ${system}, instance ${instance}`];
      });
      return { done: waiting.length === 0, status: waiting.join('; ') || 'ok' };
    },
    'An instance whose status checks stay impaired is broken: `hardway rebuild NODE` replaces it.',
  );
}

/** Settings that must hold on every instance, also ones found from an earlier run or made by hand. */
async function converge(run: AwsRun, nodes: readonly Node[], ids: Map<string, string>): Promise<Record<string, AwsInstanceRecord>> {
  const instances = await describeByIds(run, [...ids.values()]);
  const records: Record<string, AwsInstanceRecord> = {};
  for (const instance of instances) {
    const name = nameOf(nodes, ids, instance.InstanceId);
    const instanceId = instance.InstanceId as string;
    const node = nodes.find((candidate) => candidate.name === name);
    // Read back first, so a converged instance gets no call; EC2's default (unset) is on.
    const wanted = node ? sourceDestCheckFor(node) : undefined;
    if (wanted !== undefined && (instance.SourceDestCheck ?? true) !== wanted) {
      await run.api.ec2(new ModifyInstanceAttributeCommand({ InstanceId: instanceId, SourceDestCheck: { Value: wanted } }));
      run.ctx.log(`turned ${wanted ? 'on' : 'off'} source/dest check on ${name} (${instanceId})${wanted ? '' : ": it forwards its pods' traffic"}`);
    }
    if (instance.MetadataOptions?.HttpTokens === 'optional') {
      await run.api.ec2(new ModifyInstanceMetadataOptionsCommand({ InstanceId: instanceId, HttpTokens: 'required', HttpEndpoint: 'enabled' }));
      run.ctx.log(`required IMDSv2 on ${name} (${instanceId})`);
    }
    records[name] = {
      instanceId,
      privateIp: instance.PrivateIpAddress ?? '',
      ...(instance.PublicIpAddress ? { publicIp: instance.PublicIpAddress } : {}),
      ...(instance.InstanceType ? { instanceType: instance.InstanceType } : {}),
    };
  }
  await recordAws(run.ctx, (aws) => {
    aws.instances = { ...aws.instances, ...records };
  });
  return records;
}

/** Terminate instances and wait until they are gone, so their private IPs are free again. */
export async function terminateInstances(run: AwsRun, byNode: Map<string, string>): Promise<void> {
  const ids = [...byNode.values()];
  if (!ids.length) return;
  await run.api.ec2(new TerminateInstancesCommand({ InstanceIds: ids }));
  run.ctx.log(`terminating ${[...byNode.keys()].join(', ')} (${ids.join(', ')})`);
  const names = new Map([...byNode].map(([name, id]) => [id, name]));
  await waitBounded(run, `instances ${[...byNode.keys()].join(', ')} to terminate`, 'instanceTerminatedMs', async () => {
    const instances = await describeByIds(run, ids);
    const alive = instances.filter((instance) => instance.State?.Name !== 'terminated');
    return { done: alive.length === 0, status: alive.map((instance) => `${names.get(instance.InstanceId ?? '') ?? instance.InstanceId} ${instance.State?.Name}`).join(', ') || 'terminated' };
  });
}
