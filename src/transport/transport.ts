// What remote task modules need from a connection to a node. The ssh2 implementation lives in
// ssh.ts (the only importer of ssh2); tests of the engine can supply their own.
import type { Duplex } from 'node:stream';
import type { Node } from '../inventory/node.ts';
import type { FileChange } from './remote-file.ts';

export interface ExecOptions {
  /** Run through `sudo -n` when the SSH user is not root (default: true). */
  sudo?: boolean;
  stdin?: string | Buffer;
  /** Kill the command and fail after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Streamed output, for the task's live log. */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Throw a RemoteCommandError on a non-zero exit (default: true). */
  check?: boolean;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface UploadOptions {
  /** Octal mode like "0644" (default "0644"). */
  mode?: string;
  owner?: string;
  group?: string;
  signal?: AbortSignal;
  /** Called as bytes go out (large files over SFTP), for a progress line. */
  onProgress?: (sentBytes: number, totalBytes: number) => void;
  /**
   * What the caller's check already decided from the node's facts (planUpload): the upload then
   * carries it out without reading the remote file again.
   */
  planned?: FileChange;
  /**
   * A command that checks the new content before it replaces the file (`haproxy -c -f`), given the
   * quoted path of the staged copy; a non-zero exit leaves the old file and fails the upload.
   */
  validate?: (stagedPath: string) => string;
  /** Report the written file's stamp (remote-file.ts FileFacts.stamp), read in the same round trip. */
  stamp?: boolean;
}

export interface UploadResult {
  /** False when the remote file already had the same content, mode and owner. */
  changed: boolean;
  reason: string;
  /** With UploadOptions.stamp, after a change: the file's stamp as written. */
  stamp?: string;
}

/** One node's connection, reused by every task of a run. */
export interface Transport {
  readonly node: Node;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Atomic upload (temp file, mode and owner, rename), skipped when the remote sha256 matches. */
  upload(source: Buffer | { path: string }, dest: string, options?: UploadOptions): Promise<UploadResult>;
  /** The remote file's content, or undefined when it does not exist. */
  readFile(path: string): Promise<Buffer | undefined>;
  /** A TCP connection opened by the node itself (SSH direct-tcpip), for probes of ports only it can reach. */
  openTcp?(host: string, port: number): Promise<Duplex>;
  close(): Promise<void>;
}

/** What a run cost one node in SSH terms: each exec and each SFTP transfer is one channel opened and answered. */
export interface RoundTrips {
  connections: number;
  execs: number;
  sftp: number;
}

/** Hands out one Transport per node, connecting on first use. */
export interface TransportPool {
  get(node: Node, signal?: AbortSignal): Promise<Transport>;
  /** Per node, since the pool was made: for the recap and the benchmarks. */
  roundTrips?(): Record<string, RoundTrips>;
  /** Drop a node's connection and its pinned host key (a rebuilt machine). */
  forget?(node: Node): Promise<void>;
  closeAll(): Promise<void>;
}
