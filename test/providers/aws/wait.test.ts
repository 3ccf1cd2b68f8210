import { describe, expect, it } from 'vitest';
import { TaskError } from '../../../src/errors.ts';
import { waitFor } from '../../../src/providers/aws/wait.ts';

function options(lines: string[], timeoutMs: number, signal = new AbortController().signal) {
  return { timeoutMs, log: (line: string) => lines.push(line), signal, initialDelayMs: 1, maxDelayMs: 2 };
}

describe('waitFor', () => {
  it('says what it waits for when it has to wait, and returns the value when done', async () => {
    const lines: string[] = [];
    const seen = ['pending', 'pending', 'running'];
    const value = await waitFor('controller-0 to run', async () => {
      const status = seen.shift() ?? 'running';
      return { done: status === 'running', status, value: 'i-1' };
    }, options(lines, 10_000));
    expect(value).toBe('i-1');
    expect(lines[0]).toMatch(/^waiting for controller-0 to run \(pending; up to 10s\)$/);
    expect(lines.filter((line) => line.startsWith('waiting'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^controller-0 to run: done after/);
  });

  it('gives up at its bound with what it last saw', async () => {
    const lines: string[] = [];
    const error = await waitFor('targets to be healthy', async () => ({ done: false, status: 'controller-0 initial' }), options(lines, 30)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).message).toMatch(/^gave up waiting for targets to be healthy after \d+s; last seen: controller-0 initial$/);
  });

  it('polls on through throttling but not through other errors', async () => {
    const lines: string[] = [];
    let calls = 0;
    const throttle = Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' });
    await waitFor('x', async () => {
      calls += 1;
      if (calls < 3) throw throttle;
      return { done: true, status: 'ok' };
    }, options(lines, 10_000));
    expect(calls).toBe(3);
    expect(lines[0]).toContain('throttled');
    await expect(waitFor('y', async () => {
      throw Object.assign(new Error('no'), { name: 'InvalidParameterValue' });
    }, options([], 10_000))).rejects.toThrow('no');
  });

  it('stops when the run is aborted', async () => {
    const controller = new AbortController();
    const waiting = waitFor('z', async () => ({ done: false, status: 'pending' }), { ...options([], 60_000, controller.signal), initialDelayMs: 50 });
    controller.abort(new Error('interrupted'));
    await expect(waiting).rejects.toThrow('interrupted');
  });
});
