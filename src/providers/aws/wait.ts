// Bounded waiting with backoff for things AWS does in its own time (instances booting, an NLB
// turning active, targets turning healthy). Every wait says what it awaits and what it last saw.
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskError } from '../../errors.ts';
import { isThrottle } from './errors.ts';

export interface Probe<T> {
  done: boolean;
  /** What was seen, for the log and the timeout message: "controller-0 pending". */
  status: string;
  value?: T;
}

export interface WaitOptions {
  /** Give up after this long. */
  timeoutMs: number;
  log: (line: string) => void;
  signal: AbortSignal;
  /** First pause between probes; grows by half each time up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** What to tell the user when the bound is reached. */
  hint?: string;
}

/** Why: AWS is eventually consistent and slow to converge; an unbounded or silent wait hangs a run. */
export async function waitFor<T>(what: string, probe: () => Promise<Probe<T>>, options: WaitOptions): Promise<T | undefined> {
  const started = Date.now();
  let delay = options.initialDelayMs ?? 2_000;
  const maxDelay = options.maxDelayMs ?? 20_000;
  let lastStatus = '';
  let announced = false;
  for (;;) {
    options.signal.throwIfAborted();
    let result: Probe<T>;
    try {
      result = await probe();
    } catch (error) {
      // Throttled polls are not failures of the thing awaited: poll again, more slowly.
      if (!isThrottle(error)) throw error;
      result = { done: false, status: 'throttled by AWS, polling more slowly' };
      delay = Math.min(maxDelay, delay * 2);
    }
    const elapsed = Date.now() - started;
    if (result.done) {
      if (announced) options.log(`${what}: done after ${(elapsed / 1000).toFixed(1)}s`);
      return result.value;
    }
    if (!announced || result.status !== lastStatus) {
      options.log(`waiting for ${what} (${result.status}; up to ${Math.round(options.timeoutMs / 1000)}s)`);
      announced = true;
      lastStatus = result.status;
    }
    if (elapsed + delay > options.timeoutMs) {
      throw new TaskError(`gave up waiting for ${what} after ${(elapsed / 1000).toFixed(0)}s; last seen: ${result.status}`, {}, {
        hint: options.hint ?? 'Re-run the same command: it finds what exists and waits again.',
      });
    }
    // On abort, surface the run's own reason rather than a generic AbortError.
    await sleep(delay, undefined, { signal: options.signal }).catch((error: unknown) => {
      options.signal.throwIfAborted();
      throw error;
    });
    delay = Math.min(maxDelay, Math.ceil(delay * 1.5));
  }
}
