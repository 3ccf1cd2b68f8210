import { describe, expect, it } from 'vitest';
import { HostKeyMismatchError } from '../../src/transport/errors.ts';
import { classifySshError, retryWithBackoff, RetryExhausted } from '../../src/transport/retry.ts';
import { Semaphore } from '../../src/transport/semaphore.ts';

const sshError = (message: string, fields: Record<string, unknown>) => Object.assign(new Error(message), fields);

describe('classifySshError', () => {
  it('retries network failures and handshake timeouts, auth separately, never a host key mismatch', () => {
    expect(classifySshError(sshError('connect ECONNREFUSED 10.0.0.5:22', { code: 'ECONNREFUSED', level: 'client-socket' }))).toBe('network');
    expect(classifySshError(sshError('Timed out while waiting for handshake', { level: 'client-timeout' }))).toBe('network');
    expect(classifySshError(sshError('All configured authentication methods failed', { level: 'client-authentication' }))).toBe('auth');
    expect(classifySshError(sshError('(SSH) Channel open failure: Connection refused', { reason: 2 }))).toBe('network');
    expect(classifySshError(sshError('(SSH) Channel open failure: administratively prohibited', { reason: 1 }))).toBe('fatal');
    const mismatch = new HostKeyMismatchError({ node: 'etcd-0', host: 'h', port: 22, knownFingerprints: ['SHA256:a'], offeredFingerprint: 'SHA256:b', forgetCommand: 'x', knownHostsPath: 'k' });
    expect(classifySshError(mismatch)).toBe('fatal');
  });
});

describe('retryWithBackoff', () => {
  const policy = { totalMs: 200, authMs: 50, initialDelayMs: 5, maxDelayMs: 20 };

  it('returns once an attempt succeeds, counting attempts', async () => {
    let calls = 0;
    const outcome = await retryWithBackoff(
      async () => {
        if (++calls < 3) throw sshError('refused', { code: 'ECONNREFUSED' });
        return 'connected';
      },
      classifySshError,
      policy,
    );
    expect(outcome).toEqual({ value: 'connected', attempts: 3 });
  });

  it('gives up on auth failures sooner than on network failures', async () => {
    const auth = await retryWithBackoff(async () => Promise.reject(sshError('denied', { level: 'client-authentication' })), classifySshError, policy).catch((error: unknown) => error);
    const network = await retryWithBackoff(async () => Promise.reject(sshError('refused', { code: 'ECONNREFUSED' })), classifySshError, policy).catch((error: unknown) => error);
    expect(auth).toBeInstanceOf(RetryExhausted);
    expect(network).toBeInstanceOf(RetryExhausted);
    expect((auth as RetryExhausted).kind).toBe('auth');
    expect((network as RetryExhausted).attempts).toBeGreaterThan((auth as RetryExhausted).attempts);
  });

  it('rethrows fatal errors at once and stops when aborted', async () => {
    let calls = 0;
    const fatal = new Error('bad key file');
    await expect(retryWithBackoff(async () => Promise.reject((calls++, fatal)), classifySshError, policy)).rejects.toBe(fatal);
    expect(calls).toBe(1);
    const controller = new AbortController();
    const pending = retryWithBackoff(async () => Promise.reject(sshError('refused', { code: 'ECONNREFUSED' })), classifySshError, { ...policy, totalMs: 60_000, initialDelayMs: 1_000 }, { signal: controller.signal });
    controller.abort(new Error('stopped by user'));
    await expect(pending).rejects.toThrow('stopped by user');
  });
});

describe('Semaphore', () => {
  it('never lets more than the limit in, and can be lowered', async () => {
    const semaphore = new Semaphore(3);
    let active = 0;
    let peak = 0;
    const work = async () => {
      const release = await semaphore.acquire();
      active++;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setTimeout(resolve, 2));
      active--;
      release();
    };
    await Promise.all(Array.from({ length: 20 }, work));
    expect(peak).toBe(3);
    semaphore.lower(1);
    peak = 0;
    await Promise.all(Array.from({ length: 5 }, work));
    expect(peak).toBe(1);
    expect(semaphore.active).toBe(0);
  });

  it('drops a waiter whose signal aborts', async () => {
    const semaphore = new Semaphore(1);
    const release = await semaphore.acquire();
    const controller = new AbortController();
    const waiting = semaphore.acquire(controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    release();
    const again = await semaphore.acquire();
    expect(semaphore.active).toBe(1);
    again();
  });
});
