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
