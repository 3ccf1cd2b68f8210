// Security groups: one for the nodes, one for the NLB. Their ingress rules are converged to
// exactly what rules.ts wants, so a CIDR removed from aws.adminCidrs is also revoked.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { TaskError } from '../../errors.ts';
import { loadBalancerType } from '../../spec/schema.ts';
import { diffRules, loadBalancerIngressRules, nodeIngressRules, permissionsFromRules, rulesFromPermissions, type IngressRule } from './rules.ts';
import { isNotFoundYet, noteCreated, noteFound, recordAwsIds, retryWhile, single, type AwsRun } from './run.ts';
import { clusterFilters, resourceName, resourceTags, tagSpecifications } from './tags.ts';

export interface SecurityGroupIds {
  nodes: string;
  /** Only with an NLB. */
  lb?: string;
}

type GroupKind = 'sg-nodes' | 'sg-lb';

/** The wanted rules of each group. */
export function wantedRules(run: AwsRun, kind: GroupKind): IngressRule[] {
  return kind === 'sg-nodes' ? nodeIngressRules(run.spec) : loadBalancerIngressRules(run.spec);
}

/** Why: instances and the NLB reference the groups; the rules are the cluster's firewall. */
export async function ensureSecurityGroups(run: AwsRun, vpcId: string): Promise<SecurityGroupIds> {
  const nodes = await ensureGroup(run, vpcId, 'sg-nodes', 'nodes', 'hardway cluster nodes: all traffic between nodes, SSH and API from admin networks');
  let lb: string | undefined;
  if (loadBalancerType(run.spec) === 'nlb') {
    lb = await ensureGroup(run, vpcId, 'sg-lb', 'api-lb', 'hardway Kubernetes API load balancer: the listener from admin networks');
  }
  await recordAwsIds(run, { securityGroups: { nodes, ...(lb ? { lb } : {}) } });
  return { nodes, ...(lb ? { lb } : {}) };
}

export async function findSecurityGroup(run: AwsRun, kind: GroupKind): Promise<SecurityGroup | undefined> {
  const out = await run.api.ec2(new DescribeSecurityGroupsCommand({ Filters: clusterFilters(run.cluster, kind) }));
  return single(run, `${kind} security group`, out.SecurityGroups, (group) => group.GroupId);
}

async function ensureGroup(run: AwsRun, vpcId: string, kind: GroupKind, suffix: string, description: string): Promise<string> {
  const wanted = wantedRules(run, kind);
  let group = await findSecurityGroup(run, kind);
  let groupId: string;
  if (group?.GroupId) {
    if (group.VpcId !== vpcId) {
      throw new TaskError(`security group ${group.GroupId} of cluster ${run.cluster} is in ${group.VpcId}, not in the cluster's VPC ${vpcId}`, {}, {
        hint: 'Delete that group (it is left from an earlier VPC), then re-run.',
      });
    }
    groupId = group.GroupId;
    noteFound(run, 'security-group', `${groupId} (${suffix})`);
  } else {
    const name = resourceName(run.cluster, suffix);
    const out = await retryWhile(run, `VPC ${vpcId} to accept a security group`, isNotFoundYet, 'consistencyMs', () =>
      run.api.ec2(
        new CreateSecurityGroupCommand({
          VpcId: vpcId,
          GroupName: name,
          Description: description,
          TagSpecifications: tagSpecifications(['security-group'], resourceTags(run.cluster, kind, name)),
        }),
      ),
    );
    if (!out.GroupId) throw new TaskError('CreateSecurityGroup returned no id', {});
    groupId = out.GroupId;
    group = { GroupId: groupId, IpPermissions: [] };
    noteCreated(run, 'security-group', `${groupId} (${suffix})`);
  }

  const { add, remove } = diffRules(wanted, rulesFromPermissions(group.IpPermissions));
  if (add.length) {
    await retryWhile(run, `security group ${groupId} to be visible`, isNotFoundYet, 'consistencyMs', () =>
      run.api.ec2(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissionsFromRules(add) })),
    );
    run.ctx.log(`allowed on ${groupId}: ${add.map(describeRule).join('; ')}`);
  }
  if (remove.length) {
    await run.api.ec2(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissionsFromRules(remove) }));
    run.ctx.log(`revoked on ${groupId} (not in the spec): ${remove.map(describeRule).join('; ')}`);
  }
  return groupId;
}

/** "tcp/22 from 203.0.113.0/24" */
export function describeRule(rule: IngressRule): string {
  const what = rule.protocol === '-1' ? 'all traffic' : rule.fromPort === rule.toPort ? `${rule.protocol}/${rule.fromPort}` : `${rule.protocol}/${rule.fromPort}-${rule.toPort}`;
  return `${what} from ${rule.cidr ?? rule.sourceGroupId}`;
}
