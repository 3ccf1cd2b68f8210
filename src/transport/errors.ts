// Failures of the SSH layer. Each names the node (in `where`, printed by the CLI), keeps the
// underlying error as `cause`, and says what to do; none carries a key, password or file content.
import { HardwayError } from '../errors.ts';

/** Where a transport failure happened and what to do about it. */
export interface TransportErrorOptions {
  node: string;
  hint?: string;
  cause?: unknown;
}

/** Why: one base so callers can tell "the connection failed" from a failed task module. */
export class TransportError extends HardwayError {
  readonly node: string;

  constructor(message: string, options: TransportErrorOptions) {
    super(message, { exitCode: 1, where: { node: options.node }, hint: options.hint, cause: options.cause });
    this.node = options.node;
  }
}

/** Why: a machine that is down, unroutable, or stopped answering (keepalive) is one kind of problem. */
export class UnreachableError extends TransportError {
  readonly host: string;
  readonly port: number;

  constructor(message: string, options: TransportErrorOptions & { host: string; port: number }) {
    super(message, {
      hint: `Check that ${options.node} is running and that ${options.host}:${options.port} is reachable from here (firewall, security group, bastion); \`hardway status\` shows the inventory.`,
      ...options,
    });
    this.host = options.host;
    this.port = options.port;
  }
}

/** Why: the server answered but refused every key; retried for a while (cloud-init), then reported. */
export class AuthenticationError extends TransportError {
  readonly user: string;

  constructor(message: string, options: TransportErrorOptions & { user: string }) {
    super(message, options);
    this.user = options.user;
  }
}

/** Why: a changed host key stops the run and is never retried (DESIGN §9). */
export class HostKeyMismatchError extends TransportError {
  readonly host: string;
  readonly port: number;
  /** SHA256 fingerprints pinned in known_hosts. */
  readonly knownFingerprints: string[];
  /** SHA256 fingerprint the host offered now. */
  readonly offeredFingerprint: string;
  /** The command that forgets the pinned key. */
  readonly forgetCommand: string;

  constructor(options: { node: string; host: string; port: number; knownFingerprints: string[]; offeredFingerprint: string; forgetCommand: string; knownHostsPath: string }) {
    const known = options.knownFingerprints.join(', ');
    super(
      `the host key of ${options.node} (${options.host}:${options.port}) changed: ${options.knownHostsPath} pins ${known}, the host offered ${options.offeredFingerprint}. ` +
        'Someone may be intercepting the connection, or the machine was replaced.',
      {
        node: options.node,
        hint: `If ${options.node} was rebuilt on purpose, forget its old key and run again: ${options.forgetCommand}`,
      },
    );
    this.host = options.host;
    this.port = options.port;
    this.knownFingerprints = options.knownFingerprints;
    this.offeredFingerprint = options.offeredFingerprint;
    this.forgetCommand = options.forgetCommand;
  }
}

/** Why: a remote command's exit code and the end of its stderr are what a person needs to fix it. */
export class RemoteCommandError extends TransportError {
  readonly command: string;
  /** The remote exit code (-1 when the command was killed by a signal). */
  readonly code: number;
  readonly stderrTail: string;

  constructor(options: { node: string; command: string; code: number; stderr: string; hint?: string }) {
    const tail = tailLines(options.stderr, 15, 2000);
    super(`\`${abbreviate(options.command)}\` exited with code ${options.code}${tail ? `:\n${tail}` : ''}`, {
      node: options.node,
      hint: options.hint ?? sudoHint(options.stderr),
    });
    this.command = options.command;
    this.code = options.code;
    this.stderrTail = tail;
  }
}

/** Why: a command that outlives its timeout is killed and reported, not waited on forever. */
export class CommandTimeoutError extends TransportError {
  readonly command: string;
  readonly timeoutMs: number;

  constructor(options: { node: string; command: string; timeoutMs: number }) {
    super(`\`${abbreviate(options.command)}\` did not finish within ${formatMs(options.timeoutMs)} and was stopped`, { node: options.node });
    this.command = options.command;
    this.timeoutMs = options.timeoutMs;
  }
}

/** The last lines of a command's output, bounded, for error messages. */
export function tailLines(text: string, lines: number, maxChars: number): string {
  const tail = text.trimEnd().split('\n').slice(-lines).join('\n');
  return tail.length > maxChars ? `…${tail.slice(-maxChars)}` : tail;
}

/** Durations in messages: `500 ms`, `1.5 s`. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(1))} s` : `${Math.round(ms)} ms`;
}

function abbreviate(command: string): string {
  const oneLine = command.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}

function sudoHint(stderr: string): string | undefined {
  if (/sudo: (a password is required|a terminal is required)/.test(stderr)) {
    return 'The SSH user needs passwordless sudo on this node (a NOPASSWD rule in /etc/sudoers.d/), or connect as root (ssh.user).';
  }
  return undefined;
}
