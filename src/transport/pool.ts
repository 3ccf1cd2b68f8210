// One SSH connection per node for the whole run, made on first use with retries for hosts still
// booting, through the bastion when the spec has one, with host keys pinned in the cluster's
// known_hosts. The run's RunContext holds the pool; nothing here is module-level state.
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { HardwayError } from '../errors.ts';
import type { Node } from '../inventory/node.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import { loadAuth, resolveKeyPath, type AuthOptions } from './auth.ts';
import { AuthenticationError, formatMs, TransportError, UnreachableError } from './errors.ts';
import { KnownHosts } from './known-hosts.ts';
import { DEFAULT_CHANNEL_LIMIT, SshTransport } from './node-transport.ts';
import { classifySshError, DEFAULT_RETRY, retryWithBackoff, RetryExhausted, type RetryPolicy } from './retry.ts';
import type { SessionAuth, SessionTarget } from './session-types.ts';
import { nativeCryptoAvailable, SshSession } from './ssh.ts';
import type { RoundTrips, TransportPool } from './transport.ts';

/** What the pool is built from: the spec's ssh section plus tunables tests shorten. */
export interface SshPoolOptions extends AuthOptions {
  /** The spec's `ssh` section: key, agent, bastion (user and port per node come from the Node). */
  ssh: Pick<ClusterSpec['ssh'], 'keyPath' | 'agent' | 'bastion'>;
  /** Default `<clusterDir>/known_hosts`. */
  knownHostsPath?: string;
  /** Keepalive every 10 s, 3 unanswered ones drop the connection: a dead host shows in ~40 s. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** How long one SSH handshake may take (default 20 s). */
  readyTimeoutMs?: number;
  channelLimit?: number;
  retry?: Partial<RetryPolicy>;
  /** Progress lines (retries, lowered channel limits). */
  log?: (line: string) => void;
}

interface Entry {
  /** user@host:port: a node whose address changed (rebuilt, infra re-run) gets a new connection. */
  address: string;
  transport: Promise<SshTransport>;
}

/** Why: the engine asks for a node's transport from many tasks at once; they must share one connection. */
export class SshPool implements TransportPool {
  readonly knownHosts: KnownHosts;
  readonly #options: SshPoolOptions;
  readonly #policy: RetryPolicy;
  readonly #entries = new Map<string, Entry>();
  /** Every connection made, per node, closed ones included: what the run cost. */
  readonly #made = new Map<string, SshTransport[]>();
  #auth: Promise<SessionAuth> | undefined;
  #bastion: Promise<SshSession> | undefined;
  #warnedCrypto = false;
  readonly #log: (line: string) => void;

  constructor(options: SshPoolOptions) {
    this.#options = options;
    this.#policy = { ...DEFAULT_RETRY, ...options.retry };
    this.knownHosts = new KnownHosts(options.knownHostsPath ?? join(options.clusterDir, 'known_hosts'));
    this.#log = options.log ?? (() => undefined);
  }

  async get(node: Node, signal?: AbortSignal): Promise<SshTransport> {
    if (!node.sshAddress) {
      throw new TransportError(`${node.name} has no SSH address yet`, { node: node.name, hint: 'The infra step records it: run `hardway provision --step infra`.' });
    }
    const address = `${node.user}@${node.sshAddress}:${node.sshPort}`;
    const existing = this.#entries.get(node.name);
    if (existing) {
      const transport = existing.address === address ? await existing.transport : undefined;
      if (transport?.alive) return transport;
      // Another caller replaced the entry while this one waited: share its connection.
      if (this.#entries.get(node.name) !== existing) return this.get(node, signal);
      this.#entries.delete(node.name);
      void existing.transport.then((old) => old.close()).catch(() => undefined);
    }
    // From here to set() nothing awaits, so concurrent callers cannot both connect.
    const entry: Entry = { address, transport: this.#connect(node, signal) };
    this.#entries.set(node.name, entry);
    entry.transport.catch(() => {
      if (this.#entries.get(node.name) === entry) this.#entries.delete(node.name);
    });
    return entry.transport;
  }

  /** Drop the node's connection and its pinned host key (the machine was replaced). */
  async forget(node: Node): Promise<void> {
    const entry = this.#entries.get(node.name);
    this.#entries.delete(node.name);
    if (entry) await entry.transport.then((transport) => transport.close()).catch(() => undefined);
    if (node.sshAddress) await this.knownHosts.forget(node.sshAddress, node.sshPort);
  }

  roundTrips(): Record<string, RoundTrips> {
    return Object.fromEntries(
      [...this.#made].map(([name, transports]) => {
        const counts = transports.map((transport) => transport.roundTrips());
        return [name, { connections: transports.length, execs: counts.reduce((sum, count) => sum + count.execs, 0), sftp: counts.reduce((sum, count) => sum + count.sftp, 0) }];
      }),
    );
  }

  async closeAll(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map((entry) => entry.transport.then((transport) => transport.close()).catch(() => undefined)));
    const bastion = this.#bastion;
    this.#bastion = undefined;
    if (bastion) await bastion.then((session) => session.close()).catch(() => undefined);
  }

  async #connect(node: Node, signal?: AbortSignal): Promise<SshTransport> {
    if (!this.#warnedCrypto && !nativeCryptoAvailable()) {
      this.#warnedCrypto = true;
      this.#log("ssh2's native crypto addon is not built for this Node version; uploads will be slower (fix: npm rebuild ssh2)");
    }
    const target: SessionTarget = { node: node.name, host: node.sshAddress, port: node.sshPort, user: node.user };
    const auth = await this.#authentication();
    const via = this.#options.ssh.bastion ? ` via bastion ${this.#options.ssh.bastion.host}` : '';
    try {
      const { value: session, attempts } = await retryWithBackoff(
        async () => {
          const sock = this.#options.ssh.bastion ? await this.#tunnel(node.sshAddress, node.sshPort, signal) : undefined;
          return SshSession.open({ ...this.#sessionOptions(auth, signal), target, sock });
        },
        classifySshError,
        this.#policy,
        {
          signal,
          onRetry: (error, delay) => this.#log(`${node.name}: ${target.host}:${target.port}${via} not ready (${(error as Error).message}); retrying in ${formatMs(delay)}`),
        },
      );
      if (attempts > 1) this.#log(`${node.name}: connected after ${attempts} attempts`);
      const transport = new SshTransport(node, session, { channelLimit: this.#options.channelLimit ?? DEFAULT_CHANNEL_LIMIT, log: this.#log });
      this.#made.set(node.name, [...(this.#made.get(node.name) ?? []), transport]);
      return transport;
    } catch (error) {
      throw this.#explain(error, target, via);
    }
  }

  #sessionOptions(auth: SessionAuth, signal?: AbortSignal) {
    return {
      auth,
      knownHosts: this.knownHosts,
      keepaliveIntervalMs: this.#options.keepaliveIntervalMs ?? 10_000,
      keepaliveCountMax: this.#options.keepaliveCountMax ?? 3,
      readyTimeoutMs: this.#options.readyTimeoutMs ?? 20_000,
      signal,
    };
  }

  /** A socket to host:port opened by the bastion; the bastion connection is shared by every node. */
  async #tunnel(host: string, port: number, signal?: AbortSignal): Promise<Duplex> {
    const bastion = this.#options.ssh.bastion!;
    const session = await this.#bastionSession(signal).catch((error: unknown) => {
      throw annotate(error, `bastion ${bastion.user}@${bastion.host}:${bastion.port}`);
    });
    return session.openTcp(host, port).catch((error: unknown) => {
      throw annotate(error, `bastion ${bastion.host} cannot open ${host}:${port}`);
    });
  }

  /** The one bastion connection, opened once and reopened when it dropped. */
  async #bastionSession(signal?: AbortSignal): Promise<SshSession> {
    const current = this.#bastion;
    if (current) {
      const session = await current.catch(() => undefined);
      if (session?.alive) return session;
      if (this.#bastion !== current) return this.#bastionSession(signal);
    }
    const bastion = this.#options.ssh.bastion!;
    const opening = this.#authentication().then((auth) =>
      SshSession.open({ ...this.#sessionOptions(auth, signal), target: { node: 'bastion', host: bastion.host, port: bastion.port, user: bastion.user } }),
    );
    this.#bastion = opening;
    opening.catch(() => {
      if (this.#bastion === opening) this.#bastion = undefined;
    });
    return opening;
  }

  /** The key file and/or agent, read once per pool. */
  #authentication(): Promise<SessionAuth> {
    this.#auth ??= loadAuth(this.#options);
    return this.#auth;
  }

  #explain(error: unknown, target: SessionTarget, via: string): unknown {
    if (error instanceof HardwayError || (error instanceof Error && error.name === 'AbortError') || !(error instanceof Error)) return error;
    if (!(error instanceof RetryExhausted)) {
      const bastion = this.#options.ssh.bastion;
      const refused = bastion && (error as { reason?: unknown }).reason === 1;
      return new TransportError(`cannot connect to ${target.node} at ${target.host}:${target.port}${via}: ${error.message}`, {
        node: target.node,
        cause: error,
        hint: refused ? `Allow TCP forwarding for ${bastion.user} on the bastion (AllowTcpForwarding and PermitOpen in its sshd_config).` : undefined,
      });
    }
    const last = error.last as Error;
    const span = `after ${error.attempts} attempt${error.attempts === 1 ? '' : 's'} over ${formatMs(error.elapsedMs)}`;
    if (error.kind === 'auth') {
      const keyPath = this.#keyPath();
      return new AuthenticationError(`${target.user}@${target.host}:${target.port}${via} refused every key (${last.message}) ${span}`, {
        node: target.node,
        user: target.user,
        cause: last,
        hint: `Check that the public key ${keyPath}.pub${this.#options.ssh.agent ? ' (or a key in your ssh-agent)' : ''} is in ~${target.user}/.ssh/authorized_keys on ${target.node}, and that ssh.user is right.`,
      });
    }
    return new UnreachableError(`cannot reach ${target.node} at ${target.host}:${target.port}${via}: ${last.message} (${span})`, {
      node: target.node,
      host: target.host,
      port: target.port,
      cause: last,
    });
  }

  #keyPath(): string {
    return resolveKeyPath(this.#options.clusterDir, this.#options.ssh.keyPath);
  }
}

/** Why: the CLI and the engine build the pool the same way from the spec. */
export function createSshPool(options: SshPoolOptions): SshPool {
  return new SshPool(options);
}

/** Why: `~/.ssh/id_ed25519` in a spec means the user's home, as in ssh; other relative paths are the cluster dir's. */
/** Prefix an error's message while keeping the fields the retry rules read (code, level, reason). */
function annotate(error: unknown, prefix: string): unknown {
  if (!(error instanceof Error) || error instanceof TransportError) return error;
  const annotated = new Error(`${prefix}: ${error.message}`, { cause: error }) as Error & Record<string, unknown>;
  for (const field of ['code', 'level', 'reason']) {
    const value = (error as unknown as Record<string, unknown>)[field];
    if (value !== undefined) annotated[field] = value;
  }
  return annotated;
}
