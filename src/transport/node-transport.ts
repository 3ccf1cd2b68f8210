// A node's Transport over one SshSession: channels kept under the server's MaxSessions, commands
// run as root (sudo -n when the user is not root), uploads atomic and skipped when unchanged.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Node } from '../inventory/node.ts';
import { RemoteCommandError, TransportError } from './errors.ts';
import { fileFactsCommand, finalizeUploadCommand, metadataCommand, parseFileFacts, planUpload, sudoWrap, uploadTempPath, type WantedFile } from './remote-file.ts';
import { Semaphore } from './semaphore.ts';
import { shellQuote } from './shell.ts';
import { ChannelOpenFailure, type RawExecOptions, type RawExecResult } from './session-types.ts';
import type { SshSession } from './ssh.ts';
import type { ExecOptions, ExecResult, Transport, UploadOptions, UploadResult } from './transport.ts';
import { sha256Buffer, sha256File } from '../artifacts/checksum.ts';

/** Below OpenSSH's default MaxSessions of 10, leaving room for a person's own `ssh` session. */
export const DEFAULT_CHANNEL_LIMIT = 8;

/** readFile's exit code for "no such file", distinct from cat's own failures. */
const MISSING_EXIT = 44;

/** How the channel limit behaved, for tests and the verbose log. */
export interface ChannelStats {
  /** The current limit (lowered when the server refused a channel). */
  limit: number;
  /** Channels the server refused; each lowered the limit and was retried. */
  refused: number;
  /** The most channels that were open at once. */
  peak: number;
}

/** Set by the pool from its options. */
export interface SshTransportOptions {
  channelLimit?: number;
  log?: (line: string) => void;
}

/** Why: the engine's view of a node (Transport), with the rules of DESIGN §4 and §11 built in. */
export class SshTransport implements Transport {
  readonly node: Node;
  readonly session: SshSession;
  readonly #channels: Semaphore;
  readonly #log: (line: string) => void;
  #refused = 0;
  #peak = 0;
  #execs = 0;
  #sftp = 0;

  constructor(node: Node, session: SshSession, options: SshTransportOptions = {}) {
    this.node = node;
    this.session = session;
    this.#channels = new Semaphore(options.channelLimit ?? DEFAULT_CHANNEL_LIMIT);
    this.#log = options.log ?? (() => undefined);
  }

  get alive(): boolean {
    return this.session.alive;
  }

  /** Execs and SFTP transfers so far on this connection (a kill of a timed-out command counts too). */
  roundTrips(): { execs: number; sftp: number } {
    return { execs: this.#execs, sftp: this.#sftp };
  }

  channelStats(): ChannelStats {
    return { limit: this.#channels.limit, refused: this.#refused, peak: this.#peak };
  }

  /**
   * Hold a channel slot while `work` runs. A server with a MaxSessions below our limit refuses a
   * channel: lower the limit to what it accepted and try again, instead of failing the task.
   */
  async #withChannel<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    for (;;) {
      const release = await this.#channels.acquire(signal);
      this.#peak = Math.max(this.#peak, this.#channels.active);
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof ChannelOpenFailure)) throw error;
        const others = this.#channels.active - 1;
        if (others < 1) {
          throw new TransportError(`${this.node.name} refused to open an SSH channel (${error.message})`, {
            node: this.node.name,
            hint: "Check the node's sshd: MaxSessions must be at least 1, and no other client may hold all of its sessions.",
            cause: error,
          });
        }
        this.#refused++;
        this.#channels.lower(others);
        this.#log(`${this.node.name}: the server refused a channel with ${others} open; using at most ${this.#channels.limit} channels`);
      } finally {
        release();
      }
    }
  }

  #execRaw(command: string, options: RawExecOptions & { sudo?: boolean }): Promise<RawExecResult> {
    const sudo = options.sudo ?? true;
    const wrapped = sudoWrap(command, this.node.user, sudo);
    // The whole process group, so a timed-out `sudo sh -c ...` and its children all go.
    const kill = (pid: number) => this.#withChannel(undefined, () => this.session.exec(sudoWrap(`kill -KILL -- -${pid} 2>/dev/null || kill -KILL ${pid}`, this.node.user, sudo)));
    this.#execs++;
    return this.#withChannel(options.signal, () => this.session.exec(wrapped, { ...options, kill }));
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const decoders = { out: new StringDecoder('utf8'), err: new StringDecoder('utf8') };
    const result = await this.#execRaw(command, {
      sudo: options.sudo,
      stdin: options.stdin,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      onStdout: options.onStdout && ((chunk) => options.onStdout!(decoders.out.write(chunk))),
      onStderr: options.onStderr && ((chunk) => options.onStderr!(decoders.err.write(chunk))),
    });
    const stdout = result.stdout.toString('utf8');
    const stderr = result.stderr.toString('utf8');
    if (result.code !== 0 && (options.check ?? true)) {
      throw new RemoteCommandError({ node: this.node.name, command, code: result.code, stderr: stderr || stdout });
    }
    return { code: result.code, stdout, stderr };
  }

  async upload(source: Buffer | { path: string }, dest: string, options: UploadOptions = {}): Promise<UploadResult> {
    const wanted: WantedFile = { mode: options.mode ?? '0644', owner: options.owner, group: options.group };
    const plan = options.planned ?? (await this.#planUpload(source, dest, wanted, options.signal));
    // The stamp is read in the round trip that finishes the change.
    const stamp = options.stamp ? ` && stat -c '%i|%z' -- ${shellQuote(dest)}` : '';
    const stampOf = (stdout: string) => (options.stamp ? { stamp: stdout.trim().split('\n').at(-1) ?? '' } : {});
    if (plan.action === 'skip') return { changed: false, reason: plan.reason };
    if (plan.action === 'metadata') {
      const done = await this.exec(`${metadataCommand(dest, wanted)}${stamp}`, { signal: options.signal });
      return { changed: true, reason: plan.reason, ...stampOf(done.stdout) };
    }

    const temp = uploadTempPath(dest, randomBytes(6).toString('hex'));
    try {
      if (this.node.user === 'root') {
        this.#sftp++;
        await this.#withChannel(options.signal, () => this.session.putFile(source, temp, { signal: options.signal, mode: 0o600, onProgress: options.onProgress }));
      } else {
        // SFTP writes as the SSH user, who cannot write /etc: stream the bytes into a root-owned temp file.
        const stdin = Buffer.isBuffer(source) ? source : createReadStream(source.path, { highWaterMark: 1024 * 1024 });
        const command = `umask 077 && cat > ${shellQuote(temp)}`;
        const written = await this.#execRaw(command, { stdin, signal: options.signal });
        if (written.code !== 0) throw new RemoteCommandError({ node: this.node.name, command, code: written.code, stderr: written.stderr.toString('utf8') });
      }
      // The staged copy is checked first; a failed check throws, and the catch below removes it.
      if (options.validate) await this.exec(options.validate(shellQuote(temp)), { signal: options.signal });
      const done = await this.exec(`${finalizeUploadCommand(temp, dest, wanted)}${stamp}`, { signal: options.signal });
      return { changed: true, reason: plan.reason, ...stampOf(done.stdout) };
    } catch (error) {
      // Best effort: a dropped connection leaves the hidden temp file, and the next upload of the same target removes it.
      if (this.alive) await this.exec(`rm -f -- ${shellQuote(temp)}`, { check: false }).catch(() => undefined);
      throw error;
    }
  }

  /** The node's facts of dest against the source: what an upload nobody planned has to do. */
  async #planUpload(source: Buffer | { path: string }, dest: string, wanted: WantedFile, signal: AbortSignal | undefined) {
    const size = Buffer.isBuffer(source) ? source.length : (await stat(source.path)).size;
    const probe = await this.exec(fileFactsCommand(dest, { hashIfSize: size }), { signal });
    const facts = parseFileFacts(probe.stdout);
    try {
      return planUpload(dest, facts, { size, sha256: facts.sha256 ? await sha256Of(source) : undefined }, wanted);
    } catch (error) {
      throw new TransportError(`cannot upload to ${dest} on ${this.node.name}: ${(error as Error).message}`, { node: this.node.name, cause: error });
    }
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const command = `[ -e ${shellQuote(path)} ] || exit ${MISSING_EXIT}; cat -- ${shellQuote(path)}`;
    const result = await this.#execRaw(command, {});
    if (result.code === MISSING_EXIT) return undefined;
    if (result.code !== 0) throw new RemoteCommandError({ node: this.node.name, command, code: result.code, stderr: result.stderr.toString('utf8') });
    return result.stdout;
  }

  /** A TCP connection opened by the node (for waits on ports only the node can reach). */
  openTcp(host: string, port: number): Promise<Duplex> {
    return this.session.openTcp(host, port);
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

function sha256Of(source: Buffer | { path: string }): Promise<string> {
  return Buffer.isBuffer(source) ? Promise.resolve(sha256Buffer(source)) : sha256File(source.path);
}
