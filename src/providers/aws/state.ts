// The provider's record in .hardway/state.json (`provider.aws`): every resource id it made or
// found, so a person can see what exists and destroy knows what to expect. Tags stay the
// source of truth; the record is written after each resource, so a crash leaves it current.
import type { ProviderContext } from '../provider.ts';

export interface AwsInstanceRecord {
  instanceId: string;
  privateIp: string;
  publicIp?: string;
  instanceType?: string;
}

export interface AwsState {
  region?: string;
  availabilityZone?: string;
  vpcId?: string;
  internetGatewayId?: string;
  subnetId?: string;
  routeTableId?: string;
  securityGroups?: { nodes?: string; lb?: string };
  keyPairName?: string;
  amiId?: string;
  instances?: Record<string, AwsInstanceRecord>;
  /** Per worker: its pod range and the instance the route table sends it to. */
  podRoutes?: Record<string, { cidr: string; instanceId: string }>;
  loadBalancer?: { arn?: string; dnsName?: string; targetGroupArn?: string; listenerArn?: string };
}

/** Why: one writer of provider.aws, so concurrent launches never lose each other's ids. */
export function recordAws(ctx: ProviderContext, mutate: (aws: AwsState) => void): Promise<void> {
  return ctx.state.update((draft) => {
    const aws = (draft.provider.aws ?? {}) as AwsState;
    mutate(aws);
    draft.provider.aws = aws;
  });
}
