// The contract of one SSH session (ssh.ts): where it connects, how it authenticates, and what
// exec takes and gives back. Kept apart so the policy layers (pool, node transport) need no ssh2.
import type { Duplex, Readable } from 'node:stream';
import type { KnownHosts } from './known-hosts.ts';

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

/** The server refused to open another channel (MaxSessions reached, or forwarding refused). */
export class ChannelOpenFailure extends Error {
  readonly reason: unknown;

  constructor(cause: Error) {
    super(cause.message, { cause });
    this.reason = (cause as Error & { reason?: unknown }).reason;
  }
}

