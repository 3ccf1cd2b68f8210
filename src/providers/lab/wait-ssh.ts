// Waiting for a booted node: its sshd answering with an SSH banner on port 22 means systemd came
// up far enough for every step to connect.
import { connect } from 'node:net';
import { pollOr } from '../../util/poll.ts';

/** One attempt: resolves true when the peer sends a line starting with "SSH-". */
export function probeSshBanner(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let received = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(received.startsWith('SSH-')));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.includes('\n') || received.length >= 4) finish(received.startsWith('SSH-'));
    });
  });
}

export interface WaitSshOptions {
  host: string;
  port: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called between attempts; return a reason to stop waiting (the node's process died). */
  stillBooting?: () => Promise<string | undefined>;
}

export type WaitSshResult = { ok: true; elapsedMs: number } | { ok: false; reason: string };

/** Why: steps connect right after infra; they need sshd up, not merely the container started. */
export async function waitForSsh(options: WaitSshOptions): Promise<WaitSshResult> {
  const start = Date.now();
  return pollOr<WaitSshResult>(
    async () => {
      if (await probeSshBanner(options.host, options.port, 1000)) return { ok: true, elapsedMs: Date.now() - start };
      const stop = await options.stillBooting?.();
      return stop ? { ok: false, reason: stop } : undefined;
    },
    { timeoutMs: options.timeoutMs, intervalMs: 100, signal: options.signal },
    () => ({ ok: false, reason: `no SSH banner from ${options.host}:${options.port} within ${Math.round(options.timeoutMs / 1000)} s` }),
  );
}
