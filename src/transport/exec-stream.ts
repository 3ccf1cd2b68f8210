// Reads one exec channel to its end: both output streams always consumed (an unread stdout means
// `close` never comes, PITFALLS ssh2), the PID line split off stderr, stdin fed, and the result
// handed over when the channel closes.
import type { ClientChannel } from 'ssh2';
import { splitPidHeader } from './pid-header.ts';
import type { RawExecOptions, RawExecResult } from './session-types.ts';

export interface ExecStreamHandlers {
  stdin: RawExecOptions['stdin'];
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** The command's login shell PID, from the wrapper's first stderr line. */
  onPid: (pid: number | undefined) => void;
  onError: (error: Error) => void;
  onStdinError: (error: Error) => void;
  /** The result, or undefined when the channel closed without an exit status. */
  onClose: (result: RawExecResult | undefined) => void;
}

/** Why: the byte-level bookkeeping of a command, apart from the session's timeouts and aborts. */
export function attachExecStream(stream: ClientChannel, handlers: ExecStreamHandlers): void {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let exit: { code: number | null; signal?: string } | undefined;
  stream.on('data', (chunk: Buffer) => {
    stdout.push(chunk);
    handlers.onStdout?.(chunk);
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
      handlers.onPid(parsed.pid);
      chunk = parsed.rest;
      if (!chunk.length) return;
    }
    stderr.push(chunk);
    handlers.onStderr?.(chunk);
  });
  stream.on('exit', (code: number | null, signal?: string) => {
    exit = { code, signal: signal ?? undefined };
  });
  stream.on('error', (error: Error) => handlers.onError(error));
  stream.on('close', () => {
    if (header?.length) stderr.push(header);
    handlers.onClose(exit ? { code: exit.code ?? -1, signal: exit.signal, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) } : undefined);
  });
  const { stdin } = handlers;
  if (stdin === undefined) stream.end();
  else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) stream.end(stdin);
  else {
    stdin.on('error', (error) => handlers.onStdinError(error));
    stdin.pipe(stream);
  }
}
