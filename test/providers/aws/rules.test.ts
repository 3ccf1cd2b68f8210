import { describe, expect, it } from 'vitest';
import { SpecError } from '../../../src/errors.ts';
import { diffRules, loadBalancerIngressRules, nodeIngressRules, permissionsFromRules, ruleKey, rulesFromPermissions } from '../../../src/providers/aws/rules.ts';
import { awsSpec } from './spec.ts';

const summary = (rules: ReturnType<typeof nodeIngressRules>) => rules.map((rule) => `${rule.protocol}/${rule.fromPort ?? '*'} ${rule.cidr}`).sort();

describe('security group rules', () => {
  it('opens 22 and 6443 only to adminCidrs, everything only inside the cluster, and the subnet to 6443 for the NLB', () => {
    const spec = awsSpec({ aws: { region: 'eu-west-1', adminCidrs: ['203.0.113.0/24', '198.51.100.7/32'] } });
    expect(summary(nodeIngressRules(spec))).toEqual(
      ['-1/* 10.200.0.0/16', '-1/* 10.240.0.0/24', 'tcp/22 198.51.100.7/32', 'tcp/22 203.0.113.0/24', 'tcp/6443 10.240.0.0/24', 'tcp/6443 198.51.100.7/32', 'tcp/6443 203.0.113.0/24'].sort(),
    );
    expect(summary(loadBalancerIngressRules(spec))).toEqual(['tcp/6443 198.51.100.7/32', 'tcp/6443 203.0.113.0/24']);
  });

  it('has no NLB health-check rule without an NLB', () => {
    const spec = awsSpec({ loadBalancer: { type: 'none' } });
    expect(summary(nodeIngressRules(spec))).not.toContain('tcp/6443 10.240.0.0/24');
  });

  it('with workers, adds the kubelet API from each controller and NodePorts from adminCidrs only', () => {
    const spec = awsSpec({ nodes: { controllers: { count: 2 }, etcd: { count: 1 }, workers: { count: 2 } }, aws: { region: 'eu-west-1', adminCidrs: ['203.0.113.0/24', '198.51.100.7/32'] } });
    const added = nodeIngressRules(spec).filter((rule) => !nodeIngressRules(awsSpec({ aws: spec.aws! })).some((plain) => ruleKey(plain) === ruleKey(rule)));
    expect(added.map((rule) => `${ruleKey(rule)} ${rule.description}`).sort()).toEqual([
      'tcp|10250-10250|10.240.0.10/32| hardway: kubelet API from controller-0',
      'tcp|10250-10250|10.240.0.11/32| hardway: kubelet API from controller-1',
      'tcp|30000-32767|198.51.100.7/32| hardway: NodePort Services from an admin network',
      'tcp|30000-32767|203.0.113.0/24| hardway: NodePort Services from an admin network',
    ]);
    // Nothing reaches a NodePort or a kubelet from outside the cluster and adminCidrs.
    const outside = nodeIngressRules(spec).filter((rule) => rule.protocol === '-1' || (rule.fromPort! <= 30000 && 30000 <= rule.toPort!) || rule.fromPort === 10250);
    expect([...new Set(outside.map((rule) => rule.cidr))].sort()).toEqual(['10.200.0.0/16', '10.240.0.0/24', '10.240.0.10/32', '10.240.0.11/32', '198.51.100.7/32', '203.0.113.0/24']);
  });

  it('refuses 0.0.0.0/0 even if the spec let it through', () => {
    const spec = awsSpec();
    const open = { ...spec, aws: { ...spec.aws!, adminCidrs: ['0.0.0.0/0'] } };
    expect(() => nodeIngressRules(open)).toThrow(SpecError);
    expect(() => loadBalancerIngressRules(open)).toThrow(/never 0\.0\.0\.0\/0|0\.0\.0\.0\/0/);
  });

  it('reads AWS permissions back into the same rules it writes', () => {
    const wanted = nodeIngressRules(awsSpec());
    const readBack = rulesFromPermissions(permissionsFromRules(wanted));
    expect(readBack.map(ruleKey).sort()).toEqual(wanted.map(ruleKey).sort());
    expect(diffRules(wanted, readBack)).toEqual({ add: [], remove: [] });
  });

  it('adds what is missing and revokes what the spec no longer lists, also hand-made ranges and IPv6', () => {
    const wanted = nodeIngressRules(awsSpec());
    const existing = rulesFromPermissions([
      ...permissionsFromRules(wanted.filter((rule) => rule.fromPort !== 22)),
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '192.0.2.0/24' }] },
      { IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
    ]);
    const { add, remove } = diffRules(wanted, existing);
    expect(add.map(ruleKey)).toEqual(['tcp|22-22|203.0.113.0/24|']);
    expect(remove.map(ruleKey).sort()).toEqual(['tcp|0-65535|10.0.0.0/8|', 'tcp|22-22|192.0.2.0/24|', 'tcp|22-22|::/0|']);
    expect(permissionsFromRules(remove).find((permission) => permission.Ipv6Ranges)).toEqual({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, Ipv6Ranges: [{ CidrIpv6: '::/0', Description: '' }] });
  });
});
