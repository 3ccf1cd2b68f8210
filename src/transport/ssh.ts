// The only importer of ssh2. One SshSession is one SSH connection to one host: pinned host key,
// keepalive, TCP no-delay, key-file or agent auth, optional jump through a bastion's forwarded
// socket. It runs commands, writes files over SFTP and opens TCP tunnels; policy (channel limits,
// sudo, atomic uploads, retries) lives in node-transport.ts and pool.ts.
import { createRequire } from 'node:module';
import type { Duplex, Readable } from 'node:stream';
import ssh2 from 'ssh2';
import type { Algorithms, ClientChannel, ConnectConfig, ServerHostKeyAlgorithm, SFTPWrapper } from 'ssh2';
import { CommandTimeoutError, HostKeyMismatchError, TransportError, UnreachableError } from './errors.ts';
import { fingerprint, forgetCommand, hostKeyFromWire, type HostKey, type KnownHosts } from './known-hosts.ts';

/** The host one session connects to, and the name errors use for it. */
export interface SessionTarget {
  /** The node's name (or `bastion`), for errors. */
  node: string;
  host: string;
  port: number;
  user: string;
}

/** Key file and/or agent: tried agent first when both are given (ssh.agent: true). */
export interface SessionAuth {
  /** An unencrypted OpenSSH private key. */
  privateKey?: Buffer;
  /** ssh-agent socket path ($SSH_AUTH_SOCK). */
  agent?: string;
}

/** Everything one connection attempt needs. */
export interface SessionOptions {
  target: SessionTarget;
  auth: SessionAuth;
  knownHosts: KnownHosts;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  readyTimeoutMs: number;
  /** A stream to the host's SSH port (a bastion's forwardOut) instead of a TCP connection. */
  sock?: Duplex;
  signal?: AbortSignal;
}

/** exec's options at the session level: bytes, not strings; no sudo, no channel limit. */
export interface RawExecOptions {
  stdin?: string | Buffer | Readable;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Kill the command's process group (its PID is the login shell's, reported by the wrapper) on
   * timeout or abort; the caller runs it as root or through sudo. Closing the channel alone leaves
   * the command running, and OpenSSH refuses `signal` requests in many setups.
   */
  kill?: (pid: number) => Promise<unknown>;
}

/** A finished command, its output as bytes (readFile needs them unchanged). */
export interface RawExecResult {
  /** Exit code; -1 when the command died from a signal. */
  code: number;
  signal?: string;
  stdout: Buffer;
  stderr: Buffer;
}

const PID_HEADER = '@hardway-pid ';

/** The wrapper's first stderr line, `@hardway-pid 1234`; undefined while the line is incomplete. */
export function splitPidHeader(data: Buffer): { pid: number | undefined; rest: Buffer } | undefined {
  const newline = data.indexOf(10);
  if (newline < 0) return data.length < 64 ? undefined : { pid: undefined, rest: data };
  const match = /^@hardway-pid (\d+)$/.exec(data.subarray(0, newline).toString('latin1'));
  return match ? { pid: Number(match[1]), rest: data.subarray(newline + 1) } : { pid: undefined, rest: data };
}

/** The server refused to open another channel (MaxSessions reached, or forwarding refused). */
export class ChannelOpenFailure extends Error {
  readonly reason: unknown;

  constructor(cause: Error) {
    super(cause.message, { cause });
    this.reason = (cause as Error & { reason?: unknown }).reason;
  }
}

const HOST_KEY_ALGORITHMS: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
};

/** Why: when a key is pinned, negotiate its algorithm, so another key type is never mistaken for a change. */
function hostKeyAlgorithms(known: HostKey[]): Algorithms | undefined {
  const algorithms = [...new Set(known.flatMap((key) => HOST_KEY_ALGORITHMS[key.type] ?? []))];
  return algorithms.length ? { serverHostKey: algorithms } : undefined;
}

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
    const client = new ssh2.Client();
    let hostKeyError: Error | undefined;

    const hostVerifier = (blob: Buffer, verify: (valid: boolean) => void): void => {
      const offered = hostKeyFromWire(blob);
      knownHosts.verifyOrPin(target.host, target.port, offered).then(
        (verdict) => {
          if (verdict.status === 'match' || verdict.status === 'pinned') return verify(true);
          hostKeyError =
            verdict.status === 'mismatch'
              ? new HostKeyMismatchError({
                  node: target.node,
                  host: target.host,
                  port: target.port,
                  knownFingerprints: verdict.known.map(fingerprint),
                  offeredFingerprint: fingerprint(offered),
                  forgetCommand: forgetCommand(knownHosts.path, target.host, target.port),
                  knownHostsPath: knownHosts.path,
                })
              : new TransportError(`the host key ${fingerprint(offered)} of ${target.node} (${target.host}:${target.port}) is marked @revoked in ${knownHosts.path}`, { node: target.node });
          verify(false);
        },
        (error: unknown) => {
          hostKeyError = new TransportError(`cannot read or write ${knownHosts.path}: ${(error as Error).message}`, { node: target.node, cause: error });
          verify(false);
        },
      );
    };

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
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let exit: { code: number | null; signal?: string } | undefined;

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
      this.#client.exec(`printf '${PID_HEADER}%s\\n' "$$" >&2; ${command}`, (error, stream) => {
        if (error) return fail(/Channel open failure/.test(error.message) ? new ChannelOpenFailure(error) : this.#lost ?? error);
        channel = stream;
        if (settled) return stop();
        // Always consume both streams: an unread stdout means `close` never comes (PITFALLS, ssh2).
        stream.on('data', (chunk: Buffer) => {
          stdout.push(chunk);
          options.onStdout?.(chunk);
        });
        let header: Buffer | undefined = Buffer.alloc(0);
        stream.stderr.on('data', (chunk: Buffer) => {
          if (header) {
            const parsed = splitPidHeader(Buffer.concat([header, chunk]));
            if (!parsed) {
              header = Buffer.concat([header, chunk]);
              return;
            }
            header = undefined;
            pid = parsed.pid;
            chunk = parsed.rest;
            if (!chunk.length) return;
          }
          stderr.push(chunk);
          options.onStderr?.(chunk);
        });
        stream.on('exit', (code: number | null, signal?: string) => {
          exit = { code, signal: signal ?? undefined };
        });
        stream.on('error', (streamError: Error) => fail(this.#lost ?? streamError));
        stream.on('close', () => {
          if (header?.length) stderr.push(header);
          if (settled) return;
          if (!exit) {
            // The channel closed without an exit status: the connection went away under it.
            return setImmediate(() => fail(this.#lost ?? new UnreachableError(`the SSH channel to ${this.target.node} closed before \`${command.slice(0, 80)}\` finished`, { ...this.target })));
          }
          cleanup();
          resolve({ code: exit.code ?? -1, signal: exit.signal, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) });
        });
        const { stdin } = options;
        if (stdin === undefined) stream.end();
        else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) stream.end(stdin);
        else {
          stdin.on('error', (readError) => {
            stop();
            fail(readError);
          });
          stdin.pipe(stream);
        }
      });
    });
  }

  /** Write a file over SFTP (one channel while it runs); large files go through fastPut's parallel writes. */
  async putFile(source: Buffer | { path: string }, remotePath: string, options: { signal?: AbortSignal; mode?: number; chunkSize?: number; concurrency?: number } = {}): Promise<void> {
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
        else sftp.fastPut(source.path, remotePath, { mode, concurrency: options.concurrency ?? 64, chunkSize: options.chunkSize ?? 32_768 }, done);
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
  const parsed = ssh2.utils.parseKey(key);
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
