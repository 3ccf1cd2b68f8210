// Error paths moto cannot produce (a refused permission, no capacity, throttling) with
// aws-sdk-client-mock; missing credentials and region with the SDK's real default chain.
import { EC2Client, EC2ServiceException, CreateVpcCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeInternetGatewaysCommand, DescribeKeyPairsCommand, DescribeRouteTablesCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcAttributeCommand, DescribeVpcsCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client, ElasticLoadBalancingV2ServiceException } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PrerequisiteError, TaskError } from '../../../src/errors.ts';
import { createAwsApi } from '../../../src/providers/aws/api.ts';
import { createAwsProvider } from '../../../src/providers/aws/index.ts';
import { nodeIngressRules, permissionsFromRules } from '../../../src/providers/aws/rules.ts';
import { awsContext, awsSpec } from './spec.ts';

const ec2 = mockClient(EC2Client);
const elb = mockClient(ElasticLoadBalancingV2Client);

function ec2Error(name: string, message: string) {
  return new EC2ServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

/** The SDK's default chain, hermetic: nothing from this machine's ~/.aws, no instance metadata. */
function hermeticEnv(credentials: boolean) {
  vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws-credentials');
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_ENDPOINT_URL']) {
    vi.stubEnv(name, undefined);
  }
  vi.stubEnv('AWS_ACCESS_KEY_ID', credentials ? 'AKIDEXAMPLE' : undefined);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', credentials ? 'secret-example' : undefined);
}

beforeEach(() => {
  ec2.reset();
  elb.reset();
  hermeticEnv(true);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** Everything of a one-controller cluster (no NLB) exists, except the instance. */
function networkExists(spec: ReturnType<typeof awsSpec>) {
  ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1', CidrBlock: '10.240.0.0/16' }] });
  ec2.on(DescribeVpcAttributeCommand).resolves({ EnableDnsHostnames: { Value: true } });
  ec2.on(DescribeInternetGatewaysCommand).resolves({ InternetGateways: [{ InternetGatewayId: 'igw-1', Attachments: [{ VpcId: 'vpc-1', State: 'attached' }] }] });
  ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: 'subnet-1', CidrBlock: '10.240.0.0/24', VpcId: 'vpc-1', AvailabilityZone: 'eu-west-1a' }] });
  ec2.on(DescribeRouteTablesCommand).resolves({
    RouteTables: [{ RouteTableId: 'rtb-1', Routes: [{ DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-1' }], Associations: [{ SubnetId: 'subnet-1' }] }],
  });
  ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: 'sg-1', VpcId: 'vpc-1', IpPermissions: permissionsFromRules(nodeIngressRules(spec)) }] });
  ec2.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [{ KeyName: 'hardway-unit' }] });
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-1', Name: 'debian-12-amd64-20250601-2100', CreationDate: '2025-06-01T21:00:00.000Z', RootDeviceName: '/dev/xvda' }] });
}

describe('aws provider errors', () => {
  it('UnauthorizedOperation is a prerequisite error (exit 3) naming the IAM action', async () => {
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [] });
    ec2.on(CreateVpcCommand).rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation. Encoded authorization failure message: AAAA-long-blob'));
    const ctx = await awsContext(awsSpec());
    const error = await createAwsProvider().ensure(ctx).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PrerequisiteError);
    expect((error as PrerequisiteError).exitCode).toBe(3);
    expect((error as PrerequisiteError).message).toContain('ec2:CreateVpc');
    expect((error as PrerequisiteError).message).not.toContain('AAAA-long-blob');
    expect((error as PrerequisiteError).hint).toContain('Grant ec2:CreateVpc');
  });

  it('AccessDenied from the load balancer API names the elasticloadbalancing action', async () => {
    elb.on(DescribeTargetGroupsCommand).rejects(new ElasticLoadBalancingV2ServiceException({ name: 'AccessDenied', message: 'User is not authorized', $fault: 'client', $metadata: {} }));
    const spec = awsSpec();
    const ctx = await awsContext(spec);
    const error = await createAwsProvider().registerTargets!(ctx, ctx.inventory.nodes.slice(0, 1)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PrerequisiteError);
    expect((error as Error).message).toContain('elasticloadbalancing:DescribeTargetGroups');
  });

  it('InsufficientInstanceCapacity names the node and instance type and says what to change', async () => {
    const spec = awsSpec({ nodes: { controllers: { count: 1 } }, loadBalancer: { type: 'none' } });
    networkExists(spec);
    ec2.on(RunInstancesCommand).rejects(ec2Error('InsufficientInstanceCapacity', 'We currently do not have sufficient t3.medium capacity in the Availability Zone you requested.'));
    const ctx = await awsContext(spec);
    const error = await createAwsProvider().ensure(ctx).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).exitCode).toBe(1);
    expect((error as TaskError).where.node).toBe('controller-0');
    expect((error as TaskError).message).toMatch(/no t3\.medium capacity for controller-0/);
    expect((error as TaskError).hint).toContain('nodes.controllers.instanceType');
    // Everything else was found, so the launch was the only thing attempted.
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(1);
    expect(ctx.state.data.provider.aws).toMatchObject({ vpcId: 'vpc-1', subnetId: 'subnet-1', securityGroups: { nodes: 'sg-1' }, keyPairName: 'hardway-unit' });
  });

  it('throttling that outlasts the SDK retries says so and what to do', async () => {
    ec2.on(DescribeVpcsCommand).rejects(ec2Error('RequestLimitExceeded', 'Request limit exceeded.'));
    const ctx = await awsContext(awsSpec());
    const error = await createAwsProvider().ensure(ctx).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).message).toBe('AWS kept throttling ec2:DescribeVpcs (RequestLimitExceeded) after the SDK\'s retries');
    expect((error as TaskError).hint).toContain('re-run');
  });

  it('configures the SDK with adaptive retries and a higher attempt count', async () => {
    const api = createAwsApi(awsSpec());
    try {
      expect(await api.clients.ec2.config.maxAttempts()).toBe(8);
      expect(await api.clients.elb.config.maxAttempts()).toBe(8);
      const strategy = (await api.clients.ec2.config.retryStrategy()) as { mode?: string };
      expect(strategy.mode).toBe('adaptive');
    } finally {
      api.close();
    }
  });

  it('missing credentials are a prerequisite error before any request', async () => {
    hermeticEnv(false);
    const ctx = await awsContext(awsSpec());
    const error = await createAwsProvider().preflight(ctx).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PrerequisiteError);
    expect((error as Error).message).toMatch(/^no AWS credentials found/);
    expect((error as PrerequisiteError).hint).toContain('AWS_PROFILE');
    expect(ec2.calls()).toHaveLength(0);
  });

  it('a missing SSH key outside the cluster directory is a prerequisite error, never generated there', async () => {
    const ctx = await awsContext(awsSpec({ ssh: { keyPath: '/nonexistent-hardway-keys/id_ed25519' } }));
    const error = await createAwsProvider().ensure(ctx).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PrerequisiteError);
    expect((error as Error).message).toBe('the SSH key /nonexistent-hardway-keys/id_ed25519 (ssh.keyPath) does not exist');
    expect(ec2.calls()).toHaveLength(0);
  });

  it('a missing region is a prerequisite error naming where to set it', async () => {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    const spec = awsSpec({ aws: { adminCidrs: ['203.0.113.0/24'] } });
    const error = await createAwsProvider().preflight(await awsContext(spec)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PrerequisiteError);
    expect((error as PrerequisiteError).message).toBe('no AWS region configured');
    expect((error as PrerequisiteError).hint).toContain('aws.region');
  });
});
