// The one polling loop: an answer ends it, the bound ends it with PollTimeout (or the caller's own
// outcome), an attempt that throws ends it, and an interruption ends it during a pause.
import { describe, expect, it } from 'vitest';
import { poll, pollOr, PollTimeout } from '../../src/util/poll.ts';

describe('poll', () => {
  it('asks until an answer comes, and says after how many attempts', async () => {
    const result = await poll(async (count) => (count === 3 ? 'ready' : undefined), { timeoutMs: 5_000, intervalMs: 5 });
    expect(result).toMatchObject({ value: 'ready', attempts: 3 });
  });

  it('gives up after the bound, having asked once more at the bound itself', async () => {
    const asked: number[] = [];
    const started = performance.now();
    const error = await poll(async (count) => void asked.push(count), { timeoutMs: 120, intervalMs: 10, maxIntervalMs: 40 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PollTimeout);
    expect((error as PollTimeout).attempts).toBe(asked.length);
    expect((error as PollTimeout).elapsedMs).toBeGreaterThanOrEqual(120);
    expect(performance.now() - started).toBeGreaterThanOrEqual(120);
    // Pauses of 10, 20, 40, 40 ... ms within 120 ms: the first attempt and the one at the bound at
    // least, and far fewer than 12 steady 10 ms pauses would give.
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(asked.length).toBeLessThan(12);
  });

  it('stops at once when an attempt throws, or when the signal aborts during a pause', async () => {
    await expect(poll(async () => Promise.reject(new Error('node gone')), { timeoutMs: 5_000, intervalMs: 5 })).rejects.toThrow('node gone');
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('interrupted')), 30);
    const started = performance.now();
    await expect(poll(async () => undefined, { timeoutMs: 60_000, intervalMs: 10_000, signal: controller.signal })).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('pollOr', () => {
  it('turns the bound into the caller\'s value or error', async () => {
    expect(await pollOr(async () => undefined, { timeoutMs: 20, intervalMs: 5 }, () => 'last answer')).toBe('last answer');
    await expect(pollOr(async () => undefined, { timeoutMs: 20, intervalMs: 5 }, (timeout) => new Error(`not healthy after ${timeout.attempts} attempts`))).rejects.toThrow(/not healthy after \d+ attempts/);
  });
});
