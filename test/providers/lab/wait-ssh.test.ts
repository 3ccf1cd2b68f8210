import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeSshBanner, waitForSsh } from '../../../src/providers/lab/wait-ssh.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function serve(greeting: string, delayMs = 0): Promise<number> {
  const server = createServer((socket) => {
    setTimeout(() => socket.end(greeting), delayMs);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('waiting for sshd', () => {
  it('accepts an SSH banner and nothing else', async () => {
    expect(await probeSshBanner('127.0.0.1', await serve('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u5\r\n'), 1000)).toBe(true);
    expect(await probeSshBanner('127.0.0.1', await serve('HTTP/1.1 400 Bad Request\r\n'), 1000)).toBe(false);
    expect(await probeSshBanner('127.0.0.1', await closedPort(), 1000)).toBe(false);
  });

  it('stops waiting as soon as the node is known dead, saying why', async () => {
    const result = await waitForSsh({ host: '127.0.0.1', port: await closedPort(), timeoutMs: 60_000, stillBooting: async () => 'its systemd-nspawn process exited' });
    expect(result).toEqual({ ok: false, reason: 'its systemd-nspawn process exited' });
  });

  it('gives up after its bound and names the address', async () => {
    const port = await closedPort();
    const result = await waitForSsh({ host: '127.0.0.1', port, timeoutMs: 300 });
    expect(result).toEqual({ ok: false, reason: `no SSH banner from 127.0.0.1:${port} within 0 s` });
  });

  it('returns once sshd answers', async () => {
    const result = await waitForSsh({ host: '127.0.0.1', port: await serve('SSH-2.0-test\r\n', 50), timeoutMs: 5000 });
    expect(result.ok).toBe(true);
  });
});
