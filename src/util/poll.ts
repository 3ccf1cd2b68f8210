// The one polling loop: ask until the answer is there, pausing between attempts (growing up to a
// cap), within a bound, stopping at once when the run is interrupted. Waits for health, for
// processes to exit, for a lock, for etcd to promote a learner all go through it; what differs is
// the attempt and the message when the bound passes.
import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions {
  /** The bound, from the first attempt. */
  timeoutMs: number;
  /** The first pause between attempts. */
  intervalMs: number;
  /** Pauses double up to this (default: intervalMs, a steady pace). */
  maxIntervalMs?: number;
  signal?: AbortSignal;
}

export interface Polled<T> {
  value: T;
  attempts: number;
  elapsedMs: number;
}

/** The bound passed: what the caller says about it is built from these. */
export class PollTimeout extends Error {
  readonly attempts: number;
  readonly elapsedMs: number;

  constructor(attempts: number, elapsedMs: number) {
    super(`no answer after ${attempts} attempts in ${Math.round(elapsedMs)} ms`);
    this.attempts = attempts;
    this.elapsedMs = elapsedMs;
  }
}

/**
 * Why: every wait of hardway has the same shape and the same edge cases (the last attempt right at
 * the bound, an abort during a pause); they are handled once here. `attempt` returns undefined for
 * "not yet"; it may throw to stop waiting. Throws PollTimeout when the bound passed.
 */
export async function poll<T>(attempt: (count: number) => Promise<T | undefined>, options: PollOptions): Promise<Polled<T>> {
  const started = performance.now();
  let pause = options.intervalMs;
  for (let count = 1; ; count++) {
    options.signal?.throwIfAborted();
    const value = await attempt(count);
    const elapsedMs = performance.now() - started;
    if (value !== undefined) return { value, attempts: count, elapsedMs };
    if (elapsedMs >= options.timeoutMs) throw new PollTimeout(count, elapsedMs);
    await sleep(Math.min(pause, options.timeoutMs - elapsedMs), undefined, { signal: options.signal });
    pause = Math.min(pause * 2, options.maxIntervalMs ?? options.intervalMs);
  }
}

/** poll, with the bound's passing turned into the caller's own error (or value). */
export async function pollOr<T>(attempt: (count: number) => Promise<T | undefined>, options: PollOptions, onTimeout: (timeout: PollTimeout) => T | Error): Promise<T> {
  try {
    return (await poll(attempt, options)).value;
  } catch (error) {
    if (!(error instanceof PollTimeout)) throw error;
    const outcome = onTimeout(error);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }
}
