// Connecting to machines that are still booting: refused connections and timeouts are retried with
// backoff for a bounded time, authentication failures for a shorter one (sshd starts before
// cloud-init writes authorized_keys), a host-key mismatch never (PITFALLS, ssh2).

/** How a failed connection attempt is treated. */
export type FailureKind = 'network' | 'auth' | 'fatal';

/** The bounds of one connection's retries. */
export interface RetryPolicy {
  /** Keep retrying network failures this long after the first attempt. */
  totalMs: number;
  /** Keep retrying authentication failures this long after the first attempt. */
  authMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Two minutes for a booting machine (EC2 takes 30-90 s to run sshd), one for cloud-init's authorized_keys. */
export const DEFAULT_RETRY: RetryPolicy = { totalMs: 120_000, authMs: 60_000, initialDelayMs: 500, maxDelayMs: 5_000 };

/** The value and how many attempts it took (logged when more than one). */
export interface RetryOutcome<T> {
  value: T;
  attempts: number;
}

/** Why: the pool turns the last failure and the time spent into an Unreachable/Authentication error. */
export class RetryExhausted extends Error {
  readonly attempts: number;
  readonly elapsedMs: number;
  readonly kind: FailureKind;
  readonly last: unknown;

  constructor(last: unknown, kind: FailureKind, attempts: number, elapsedMs: number) {
    super(last instanceof Error ? last.message : String(last), { cause: last });
    this.last = last;
    this.kind = kind;
    this.attempts = attempts;
    this.elapsedMs = elapsedMs;
  }
}

/**
 * Why: one loop for every connection (nodes and bastion), so the bounds are the same everywhere.
 * Fatal failures are rethrown as they are; retryable ones end in RetryExhausted.
 */
export async function retryWithBackoff<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  classify: (error: unknown) => FailureKind,
  policy: RetryPolicy,
  options: { signal?: AbortSignal; onRetry?: (error: unknown, delayMs: number, attemptNumber: number) => void; now?: () => number } = {},
): Promise<RetryOutcome<T>> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  let delay = policy.initialDelayMs;
  for (let attemptNumber = 1; ; attemptNumber++) {
    options.signal?.throwIfAborted();
    try {
      return { value: await attempt(attemptNumber), attempts: attemptNumber };
    } catch (error) {
      options.signal?.throwIfAborted();
      const kind = classify(error);
      if (kind === 'fatal') throw error;
      const elapsed = now() - started;
      const bound = kind === 'auth' ? policy.authMs : policy.totalMs;
      if (elapsed + delay > bound) throw new RetryExhausted(error, kind, attemptNumber, elapsed);
      options.onRetry?.(error, delay, attemptNumber);
      await sleep(delay, options.signal);
      delay = Math.min(delay * 2, policy.maxDelayMs);
    }
  }
}

/** A timer that an AbortSignal ends early (rejecting with the signal's reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED']);

/** Why: ssh2 reports failures as plain Errors with `level`/`code`; this maps them to a retry rule. */
export function classifySshError(error: unknown): FailureKind {
  if (!(error instanceof Error)) return 'fatal';
  const { code, level } = error as Error & { code?: unknown; level?: unknown };
  if (level === 'client-authentication') return 'auth';
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'network';
  if (level === 'client-timeout') return 'network';
  // A bastion that refuses to forward at all (reason 1, administratively prohibited) will not change its mind.
  if (/Channel open failure/.test(error.message)) return (error as { reason?: unknown }).reason === 1 ? 'fatal' : 'network';
  if (/Connection lost before handshake|Timed out while waiting for handshake/.test(error.message)) return 'network';
  return 'fatal';
}
