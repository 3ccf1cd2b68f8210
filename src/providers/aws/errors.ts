// Turns AWS SDK failures into hardway's errors: missing credentials or permissions are a
// prerequisite (exit 3) naming the IAM action; capacity and throttling say what to do next.
// Errors callers handle themselves (NotFound, DependencyViolation) pass through unchanged.
import { HardwayError, PrerequisiteError, TaskError } from '../../errors.ts';

const PERMISSION_CODES = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException', 'UnauthorizedAccess', 'OptInRequired']);
const CREDENTIAL_CODES = new Set([
  'AuthFailure',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'CredentialsProviderError',
  'TokenProviderError',
]);
const THROTTLE_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'EC2ThrottledException',
  'SlowDown',
  'PriorRequestNotComplete',
  'BandwidthLimitExceeded',
]);
const CAPACITY_CODES = new Set(['InsufficientInstanceCapacity', 'InsufficientHostCapacity', 'InsufficientCapacity', 'InsufficientReservedInstanceCapacity']);

/** The AWS error code of an SDK error, also when it was wrapped by translateAwsError. */
export function awsErrorCode(error: unknown): string | undefined {
  if (error instanceof HardwayError) return awsErrorCode(error.cause);
  if (error && typeof error === 'object') {
    const record = error as { name?: unknown; Code?: unknown; code?: unknown };
    if (typeof record.Code === 'string') return record.Code;
    if (typeof record.name === 'string' && record.name !== 'Error') return record.name;
    if (typeof record.code === 'string') return record.code;
  }
  return undefined;
}

export function isThrottle(error: unknown): boolean {
  return THROTTLE_CODES.has(awsErrorCode(error) ?? '');
}

export function isCapacity(error: unknown): boolean {
  return CAPACITY_CODES.has(awsErrorCode(error) ?? '');
}

/** Why: a user seeing "UnauthorizedOperation" needs the IAM action to grant, not a stack trace. */
export function translateAwsError(error: unknown, action: string): unknown {
  const code = awsErrorCode(error);
  if (code === undefined || error instanceof HardwayError) return error;
  const detail = shortMessage(error);
  if (PERMISSION_CODES.has(code)) {
    return new PrerequisiteError(`AWS refused ${action}: the credentials in use lack the permission ${action} (${code}${detail ? `: ${detail}` : ''})`, {
      hint: `Grant ${action} to the IAM user or role hardway runs as, or pick another identity with AWS_PROFILE.`,
      cause: error,
    });
  }
  if (CREDENTIAL_CODES.has(code)) {
    return new PrerequisiteError(`no usable AWS credentials for ${action} (${code}${detail ? `: ${detail}` : ''})`, {
      hint: 'Set AWS_PROFILE (then `aws sso login` if it is an SSO profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run on an instance with a role.',
      cause: error,
    });
  }
  if (THROTTLE_CODES.has(code)) {
    return new TaskError(`AWS kept throttling ${action} (${code}) after the SDK's retries`, {}, {
      hint: 'Wait a minute and re-run: hardway finds what it already made. Other tools using the same account share its request rate.',
      cause: error,
    });
  }
  if (CAPACITY_CODES.has(code)) {
    return new TaskError(`AWS has no capacity for ${action} right now (${code}${detail ? `: ${detail}` : ''})`, {}, {
      hint: 'Choose another instance type (nodes.<group>.instanceType) or availability zone (aws.availabilityZone), or re-run later.',
      cause: error,
    });
  }
  return error;
}

/** AWS messages may end in a long encoded blob; the first sentence says enough. */
function shortMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  return message.split(/ Encoded authorization failure message:/)[0]?.trim().slice(0, 300) ?? '';
}

/** The IAM action name of an SDK command: `ec2:RunInstances` for a RunInstancesCommand. */
export function actionName(service: 'ec2' | 'elasticloadbalancing', command: object): string {
  return `${service}:${command.constructor.name.replace(/Command$/, '')}`;
}
