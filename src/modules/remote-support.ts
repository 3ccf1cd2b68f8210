// Small pieces the remote modules share: reading file facts through a transport, streaming a
// command's output into the task log line by line, and noting systemd units written this run.
import { posix } from 'node:path';
import type { NodeScratch, TaskContext } from '../engine/context.ts';
import { TaskError } from '../errors.ts';
import { fileFactsCommand, parseFileFacts, type FileFacts } from '../transport/remote-file.ts';
import type { Transport } from '../transport/transport.ts';

/** Why: one round trip per file for check(); the same facts the transport's upload decides on. */
export async function readFileFacts(transport: Transport, path: string, options: { hash?: boolean; hashIfSize?: number; signal?: AbortSignal } = {}): Promise<FileFacts> {
  const result = await transport.exec(fileFactsCommand(path, options), { signal: options.signal });
  return parseFileFacts(result.stdout);
}

/** A sink for streamed output that logs whole lines and keeps partial ones until the next chunk. */
export function lineLogger(log: (line: string) => void, prefix = ''): { write: (chunk: string) => void; flush: () => void } {
  let pending = '';
  return {
    write(chunk) {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) log(`${prefix}${line}`);
    },
    flush() {
      if (pending) log(`${prefix}${pending}`);
      pending = '';
    },
  };
}

const UNIT_FILE = /^\/etc\/systemd\/system\/([^/]+\.(?:service|socket|timer|target|mount|path))(?:\.d\/[^/]+\.conf)?$/;

/** The unit a path defines or overrides (`/etc/systemd/system/etcd.service` -> `etcd.service`). */
export function unitOfPath(path: string): string | undefined {
  return UNIT_FILE.exec(posix.normalize(path))?.[1];
}

/** Why: the service module reloads systemd only when a unit file really changed in this run. */
export function noteUnitChange(scratch: NodeScratch, path: string): void {
  const unit = unitOfPath(path);
  if (unit) scratch.changedUnits.add(unit);
}

/** The node this remote task runs on; a remote module on a local step is a playbook error. */
export function requireNode(ctx: TaskContext) {
  if (!ctx.node) throw new TaskError('this module runs on nodes; use it in a step with hosts other than local', { step: ctx.step, task: ctx.task });
  return ctx.node;
}

/** `user@address` for the lines `describe` prints. */
export function sshTarget(ctx: { node: { user: string; sshAddress: string; name: string } | undefined }): { user: string; host: string } {
  return { user: ctx.node?.user ?? 'root', host: ctx.node?.sshAddress || ctx.node?.name || 'NODE' };
}
