// The SSH client (ssh2). One SshSession is one SSH connection to one host: pinned host key,
// keepalive, TCP no-delay, key-file or agent auth, optional jump through a bastion's forwarded
// socket. It runs commands, writes files over SFTP and opens TCP tunnels; policy (channel limits,
// sudo, atomic uploads, retries) lives in node-transport.ts and pool.ts.
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
import { ssh2Library } from './ssh2-library.ts';
import { CommandTimeoutError, TransportError, UnreachableError } from './errors.ts';
import { hostKeyAlgorithms, pinnedHostVerifier } from './host-key-check.ts';
import { attachExecStream } from './exec-stream.ts';
import { pidReportingCommand } from './pid-header.ts';
import { ChannelOpenFailure, type RawExecOptions, type RawExecResult, type SessionOptions, type SessionTarget } from './session-types.ts';

/** Why: every task of a node shares this one connection for the whole run (DESIGN §11). */
export class SshSession {
  readonly target: SessionTarget;
  readonly #client: ssh2.Client;
  readonly #keepalive: { intervalMs: number; countMax: number };
  #lost: Error | undefined;
  #closing = false;
  readonly #onLost = new Set<(error: Error) => void>();

  private constructor(target: SessionTarget, client: ssh2.Client, keepalive: { intervalMs: number; countMax: number }) {
    this.target = target;
    this.#client = client;
    this.#keepalive = keepalive;
  }

  /** One connection attempt (retries are the pool's); rejects with ssh2's error or a HostKeyMismatchError. */
  static async open(options: SessionOptions): Promise<SshSession> {
    const { target, knownHosts } = options;
    options.signal?.throwIfAborted();
    const algorithms = hostKeyAlgorithms(await knownHosts.keysFor(target.host, target.port));
    const client = new (ssh2Library().Client)();
    let hostKeyError: Error | undefined;

    const hostVerifier = pinnedHostVerifier(knownHosts, target, (error) => {
      hostKeyError = error;
    });

    const methods: ('agent' | 'publickey')[] = [];
    if (options.auth.agent) methods.push('agent');
    if (options.auth.privateKey) methods.push('publickey');
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      privateKey: options.auth.privateKey,
      agent: options.auth.agent,
      authHandler: methods,
      hostVerifier: hostVerifier as ConnectConfig['hostVerifier'],
      keepaliveInterval: options.keepaliveIntervalMs,
      keepaliveCountMax: options.keepaliveCountMax,
      readyTimeout: options.readyTimeoutMs,
      ...(algorithms ? { algorithms } : {}),
      ...(options.sock ? { sock: options.sock } : {}),
    };

    const session = new SshSession(target, client, { intervalMs: options.keepaliveIntervalMs, countMax: options.keepaliveCountMax });
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        client.destroy();
        reject(options.signal!.reason);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        if (error) {
          client.destroy();
          reject(hostKeyError ?? error);
        } else resolve();
      };
      client.once('ready', () => settle());
      client.on('error', (error: Error) => {
        if (!settled) return settle(error);
        session.#markLost(error);
      });
      client.on('close', () => {
        if (!settled) return settle(new Error('Connection lost before handshake'));
        session.#markLost(undefined);
      });
      client.connect(config);
      // Without no-delay, stream writes crawl at ~2 MB/s (PITFALLS, ssh2).
      client.setNoDelay(true);
    });
    return session;
  }

  get alive(): boolean {
    return !this.#lost && !this.#closing;
  }

  /** Called once when the connection drops (keepalive timeout, reset, host gone). */
  onLost(listener: (error: Error) => void): () => void {
    if (this.#lost) {
      listener(this.#lost);
      return () => undefined;
    }
    this.#onLost.add(listener);
    return () => this.#onLost.delete(listener);
  }

  #markLost(error: Error | undefined): void {
    if (this.#lost) return;
    const { node, host, port } = this.target;
    let why = 'the connection closed';
    if (error?.message === 'Keepalive timeout') {
      why = `no answer to ${this.#keepalive.countMax} keepalives sent ${this.#keepalive.intervalMs / 1000} s apart`;
    } else if (error) why = error.message;
    this.#lost = this.#closing
      ? new TransportError(`the connection to ${node} was closed by hardway`, { node })
      : new UnreachableError(`lost the SSH connection to ${node} (${host}:${port}): ${why}`, { node, host, port, cause: error });
    for (const listener of this.#onLost) listener(this.#lost);
    this.#onLost.clear();
  }

  #assertAlive(): void {
    if (this.#lost) throw this.#lost;
    if (this.#closing) throw new TransportError(`the connection to ${this.target.node} is closing`, { node: this.target.node });
  }

  /** Run a command; resolves with its exit code and output once the channel closes. */
  exec(command: string, options: RawExecOptions = {}): Promise<RawExecResult> {
    this.#assertAlive();
    options.signal?.throwIfAborted();
    return new Promise<RawExecResult>((resolve, reject) => {
      let settled = false;
      let channel: ClientChannel | undefined;
      let timer: NodeJS.Timeout | undefined;

      const cleanup = () => {
        settled = true;
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        unsubscribe();
      };
      const fail = (error: unknown) => {
        if (settled) return;
        cleanup();
        reject(error);
      };
      let pid: number | undefined;
      const stop = () => {
        if (pid !== undefined) void options.kill?.(pid).catch(() => undefined);
        channel?.close();
      };
      const onAbort = () => {
        stop();
        fail(options.signal!.reason);
      };
      const unsubscribe = this.onLost((error) => fail(error));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs) {
        timer = setTimeout(() => {
          stop();
          fail(new CommandTimeoutError({ node: this.target.node, command, timeoutMs: options.timeoutMs! }));
        }, options.timeoutMs);
      }

      // The login shell reports its PID (the process group of everything the command starts) first.
      this.#client.exec(pidReportingCommand(command), (error, stream) => {
        if (error) return fail(/Channel open failure/.test(error.message) ? new ChannelOpenFailure(error) : this.#lost ?? error);
        channel = stream;
        if (settled) return stop();
        attachExecStream(stream, {
          stdin: options.stdin,
          onStdout: options.onStdout,
          onStderr: options.onStderr,
          onPid: (value) => {
            pid = value;
          },
          onError: (streamError) => fail(this.#lost ?? streamError),
          onStdinError: (readError) => {
            stop();
            fail(readError);
          },
          onClose: (result) => {
            if (settled) return;
            if (!result) {
              // The channel closed without an exit status: the connection went away under it.
              setImmediate(() => fail(this.#lost ?? new UnreachableError(`the SSH channel to ${this.target.node} closed before \`${command.slice(0, 80)}\` finished`, { ...this.target })));
              return;
            }
            cleanup();
            resolve(result);
          },
        });
      });
    });
  }

  /** Write a file over SFTP (one channel while it runs); large files go through fastPut's parallel writes. */
  async putFile(source: Buffer | { path: string }, remotePath: string, options: { signal?: AbortSignal; mode?: number; chunkSize?: number; concurrency?: number; onProgress?: (sentBytes: number, totalBytes: number) => void } = {}): Promise<void> {
    this.#assertAlive();
    options.signal?.throwIfAborted();
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
      this.#client.sftp((error, wrapper) => (error ? reject(/Channel open failure/.test(error.message) ? new ChannelOpenFailure(error) : (this.#lost ?? error)) : resolve(wrapper)));
    });
    const closed = new Promise<void>((resolve) => sftp.once('close', () => resolve()));
    const onAbort = () => sftp.end();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        const unsubscribe = this.onLost((error) => reject(error));
        const done = (error?: Error | null) => {
          unsubscribe();
          if (options.signal?.aborted) reject(options.signal.reason);
          else if (error) reject(this.#lost ?? error);
          else resolve();
        };
        const mode = options.mode ?? 0o600;
        if (Buffer.isBuffer(source)) sftp.writeFile(remotePath, source, { mode }, done);
        else {
          const step = options.onProgress ? (sent: number, _chunk: number, total: number) => options.onProgress!(sent, total) : undefined;
          sftp.fastPut(source.path, remotePath, { mode, concurrency: options.concurrency ?? 64, chunkSize: options.chunkSize ?? 32_768, step }, done);
        }
      });
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      sftp.end();
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    }
  }

  /** A TCP connection made by the remote host (direct-tcpip): a jump to the next host, or a probe of a port. */
  openTcp(host: string, port: number): Promise<Duplex> {
    this.#assertAlive();
    return new Promise((resolve, reject) => {
      this.#client.forwardOut('127.0.0.1', 0, host, port, (error, stream) => {
        if (error) return reject(/Channel open failure/.test(error.message) ? new ChannelOpenFailure(error) : (this.#lost ?? error));
        resolve(stream);
      });
    });
  }

  /** Close the connection and wait until the socket is gone. */
  async close(): Promise<void> {
    if (this.#lost) return;
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#client.once('close', () => resolve()));
    this.#client.end();
    const timer = setTimeout(() => this.#client.destroy(), 2_000);
    await closed;
    clearTimeout(timer);
  }
}

/** Why: an unusable key (encrypted, not a key) is a prerequisite problem, found before any connection. */
export function privateKeyProblem(key: Buffer): string | undefined {
  const parsed = ssh2Library().utils.parseKey(key);
  if (parsed instanceof Error) return parsed.message;
  return undefined;
}

/**
 * Why: ssh2 encrypts through a native addon when it is built for the running Node; without it (an
 * addon compiled for another Node ABI fails to load silently) uploads run at about half of scp's
 * speed. Reported so a slow run has a stated cause and fix (`npm rebuild ssh2`).
 */
export function nativeCryptoAvailable(): boolean {
  try {
    return Boolean((createRequire(import.meta.url)('ssh2/lib/protocol/crypto.js') as { bindingAvailable?: boolean }).bindingAvailable);
  } catch {
    return false;
  }
}
