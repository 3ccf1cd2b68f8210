// Small pieces the remote modules share: reading file facts through a transport, streaming a
// command's output into the task log line by line, and noting systemd units written this run.
import { posix } from 'node:path';
import type { NodeScratch, TaskContext } from './module.ts';
import { TaskError } from '../errors.ts';
import { fileFactsCommand, parseFileFacts, type FileFacts, type FileFactsOptions } from '../transport/remote-file.ts';

/** What a check reads: the answer read ahead for its phase (engine/read-ahead.ts), else the command run now. */
export async function readFact(ctx: TaskContext, command: string): Promise<string> {
  const known = ctx.scratch.readAhead?.get(command);
  if (known !== undefined) return known;
  const transport = await ctx.connect();
  return (await transport.exec(command, { signal: ctx.signal })).stdout;
}

/** Why: the same facts the transport's upload decides on, read ahead with the phase's other checks when possible. */
export async function readFileFacts(ctx: TaskContext, path: string, options: FileFactsOptions = {}): Promise<FileFacts> {
  return parseFileFacts(await readFact(ctx, fileFactsCommand(path, options)));
}

const NEXT_FILE = '::hardway-next-file';

/** The one command that reads the facts of several files (readManyFileFacts). */
export function manyFileFactsCommand(files: readonly ({ path: string } & FileFactsOptions)[]): string {
  return files.map((file) => fileFactsCommand(file.path, file)).join(`; echo ${NEXT_FILE}; `);
}

/** Why: a task that installs several files reads all their facts in one round trip, not one each. */
export async function readManyFileFacts(ctx: TaskContext, files: readonly ({ path: string } & FileFactsOptions)[]): Promise<FileFacts[]> {
  if (!files.length) return [];
  const parts = (await readFact(ctx, manyFileFactsCommand(files))).split(`${NEXT_FILE}\n`);
  if (parts.length !== files.length) throw new Error(`unexpected file facts: ${files.length} files asked, ${parts.length} answered`);
  return parts.map(parseFileFacts);
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

