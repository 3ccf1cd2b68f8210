// What a caller may tune: how long each wait may take, and the SDK's retry behaviour.
// Defaults fit real AWS; tests shorten the bounds.
import { DEFAULT_RETRY, type AwsRetryOptions } from './api.ts';

export interface AwsWaitBounds {
  /** Launched or started instances reaching `running`. */
  instanceRunningMs: number;
  /** EC2 system and instance status checks reaching `ok` (about 2-5 minutes on AWS). */
  statusChecksMs: number;
  /** A new NLB turning `active` (minutes on AWS). */
  loadBalancerActiveMs: number;
  /** Registered targets turning `healthy` (minutes: interval x threshold plus registration). */
  targetsHealthyMs: number;
  /** Deregistered targets finishing their drain (the deregistration delay). */
  targetsDrainedMs: number;
  /** Terminated instances reaching `terminated` (their private IP is free only then). */
  instanceTerminatedMs: number;
  /** Deletes refused with DependencyViolation while AWS releases interfaces. */
  dependencyMs: number;
  /** A resource just created not yet visible to the next call (eventual consistency). */
  consistencyMs: number;
  /** First pause between polls. */
  pollInitialMs: number;
  /** Longest pause between polls. */
  pollMaxMs: number;
}

export const DEFAULT_WAITS: AwsWaitBounds = {
  instanceRunningMs: 10 * 60_000,
  statusChecksMs: 15 * 60_000,
  loadBalancerActiveMs: 15 * 60_000,
  targetsHealthyMs: 15 * 60_000,
  targetsDrainedMs: 10 * 60_000,
  instanceTerminatedMs: 10 * 60_000,
  dependencyMs: 10 * 60_000,
  consistencyMs: 2 * 60_000,
  pollInitialMs: 2_000,
  pollMaxMs: 20_000,
};

export interface AwsProviderOptions {
  waits?: Partial<AwsWaitBounds>;
  retry?: Partial<AwsRetryOptions>;
}

export interface ResolvedAwsOptions {
  waits: AwsWaitBounds;
  retry: AwsRetryOptions;
}

export function resolveOptions(options: AwsProviderOptions = {}): ResolvedAwsOptions {
  return { waits: { ...DEFAULT_WAITS, ...options.waits }, retry: { ...DEFAULT_RETRY, ...options.retry } };
}
