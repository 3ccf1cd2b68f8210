// The two SDK clients the provider uses, configured once per call from the spec: region and
// credentials from the SDK's default chain (or aws.region), endpoint from aws.endpoint or
// AWS_ENDPOINT_URL (which the SDK reads itself), adaptive retries for throttling.
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { PrerequisiteError } from '../../errors.ts';
import type { ClusterSpec } from '../../spec/schema.ts';
import { actionName, translateAwsError } from './errors.ts';

export interface AwsRetryOptions {
  /** The SDK's retry strategy; adaptive also slows the client down when AWS throttles. */
  mode: 'standard' | 'adaptive';
  /** Attempts per request, the first included. */
  maxAttempts: number;
}

export const DEFAULT_RETRY: AwsRetryOptions = { mode: 'adaptive', maxAttempts: 8 };

/** Why: every call goes through one place that names the IAM action when AWS refuses it. */
export interface AwsApi {
  readonly ec2: EC2Client['send'];
  readonly elb: ElasticLoadBalancingV2Client['send'];
  readonly clients: { readonly ec2: EC2Client; readonly elb: ElasticLoadBalancingV2Client };
  close(): void;
}

export function createAwsApi(spec: ClusterSpec, retry: AwsRetryOptions = DEFAULT_RETRY, signal?: AbortSignal): AwsApi {
  const config = {
    retryMode: retry.mode,
    maxAttempts: retry.maxAttempts,
    // Left out when unset, so the SDK's default chain (AWS_REGION, profile) and AWS_ENDPOINT_URL apply.
    ...(spec.aws?.region ? { region: spec.aws.region } : {}),
    ...(spec.aws?.endpoint ? { endpoint: spec.aws.endpoint } : {}),
  };
  const ec2 = new EC2Client(config);
  const elb = new ElasticLoadBalancingV2Client(config);
  return {
    ec2: guard('ec2', ec2, signal) as EC2Client['send'],
    elb: guard('elasticloadbalancing', elb, signal) as ElasticLoadBalancingV2Client['send'],
    clients: { ec2, elb },
    close: () => {
      ec2.destroy();
      elb.destroy();
    },
  };
}

function guard(service: 'ec2' | 'elasticloadbalancing', client: { send(command: never, options?: { abortSignal?: AbortSignal }): Promise<unknown> }, signal?: AbortSignal): (command: object) => Promise<unknown> {
  return async (command) => {
    try {
      // The run's signal also cancels a request in flight (Ctrl-C during a slow call).
      return await client.send(command as never, signal ? { abortSignal: signal } : undefined);
    } catch (error) {
      throw translateAwsError(error, actionName(service, command));
    }
  };
}

/** The region and credentials the default chain resolves to; a PrerequisiteError when either is missing. */
export async function resolveIdentity(api: AwsApi): Promise<{ region: string }> {
  let region: string;
  try {
    region = await api.clients.ec2.config.region();
  } catch (error) {
    throw new PrerequisiteError('no AWS region configured', {
      hint: 'Set aws.region in cluster.yaml, or AWS_REGION, or a region in your AWS profile.',
      cause: error,
    });
  }
  if (!region) throw new PrerequisiteError('no AWS region configured', { hint: 'Set aws.region in cluster.yaml, or AWS_REGION, or a region in your AWS profile.' });
  try {
    await api.clients.ec2.config.credentials();
    return { region };
  } catch (error) {
    throw new PrerequisiteError(`no AWS credentials found (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`, {
      hint: 'Set AWS_PROFILE (then `aws sso login` for an SSO profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run on an instance with a role.',
      cause: error,
    });
  }
}
