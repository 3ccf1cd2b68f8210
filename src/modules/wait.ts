// `wait`: poll until something on or near the node answers, with a timeout that names what it
// waited for. Three forms:
//   wait: { tcp: "127.0.0.1:2379", timeout: 90s }
//   wait: { url: "https://127.0.0.1:6443/healthz", ca: pki/ca.pem, cert: pki/admin.pem, key: pki/admin-key.pem }
//   wait: { command: "etcdctl ... endpoint health" }
// TCP and URL probes are made *by the node* through its SSH connection (direct-tcpip), so ports
// only the node can reach (127.0.0.1, private subnets behind a bastion) work with no curl on the
// node; the CA and client certificate are read on the workstation (paths relative to the cluster
// directory) and never copied anywhere.
import { readFile } from 'node:fs/promises';
import { setTimeout } from 'node:timers/promises';
import { request } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { z } from 'zod';
import { TaskError } from '../errors.ts';
import { parseDuration } from '../pki/duration.ts';
import { duration } from '../spec/schema.ts';
import { CommandTimeoutError, formatMs, RemoteCommandError, tailLines, TransportError } from '../transport/errors.ts';
import { pollOr } from '../util/poll.ts';
import { shellQuote } from '../transport/shell.ts';
import type { Transport } from '../transport/transport.ts';
import { localSource } from './copy.ts';
import { type TaskContext, defineModule } from './module.ts';
import { upload, type DescribedLine } from './described.ts';
import { requireNode } from './remote-support.ts';

const common = {
  timeout: duration.default('90s'),
  /**
   * Passes in a row, 1 s apart, before the wait is over (a failure starts the count again): a
   * server a load balancer checks is back in its rotation only after that balancer's own passes
   * (haproxy: rise 2, inter 1s).
   */
  passes: z.number().int().min(1).max(60).default(1),
};

/** Between two passes of a `passes:` wait. */
const PASS_INTERVAL_MS = 1_000;

const tcpWait = z.strictObject({
  tcp: z.string().regex(/^[^\s:/]+:\d{1,5}$/, { message: 'must be host:port, like 127.0.0.1:2379' }),
  ...common,
});
const urlWait = z.strictObject({
  url: z.string().regex(/^https?:\/\/[^\s/]+/, { message: 'must be an http(s) URL, like https://127.0.0.1:6443/healthz' }),
  /** Workstation paths, relative to the cluster directory. */
  ca: z.string().min(1).optional(),
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  expectStatus: z.number().int().min(100).max(599).default(200),
  ...common,
});
const commandWait = z.strictObject({ command: z.string().min(1), ...common });

/** Playbook arguments: one of the three forms, each with a timeout. */
export const waitArgs = z.union([tcpWait, urlWait, commandWait]);
/** The arguments after defaults. */
export type WaitArgs = z.output<typeof waitArgs>;

/** What a timeout error and the task line say it waited for. */
export function waitTarget(args: WaitArgs): string {
  if ('tcp' in args) return `TCP ${args.tcp}`;
  if ('url' in args) return `${args.url} to answer ${args.expectStatus}`;
  return `\`${args.command}\` to succeed`;
}

/** One attempt; resolves when ready, rejects with the reason it is not (yet). */
type Probe = (signal: AbortSignal) => Promise<void>;

const ATTEMPT_MS = 10_000;

/** Why: every wait task polls the same way (util/poll.ts); errors name the target and the last failure. */
export async function pollUntil(probe: Probe, options: { timeoutMs: number; what: string; signal: AbortSignal; log?: (line: string) => void; where: { node?: string; step?: string; task?: string } }): Promise<number> {
  const started = performance.now();
  let last = 'no attempt finished';
  const ready = await pollOr(
    async (attempts) => {
      // An attempt may run a little past the deadline rather than be cut off before it can answer.
      const remaining = options.timeoutMs - (performance.now() - started);
      const attemptMs = Math.ceil(Math.min(ATTEMPT_MS, Math.max(remaining, 1_000)));
      const attempt = AbortSignal.any([options.signal, AbortSignal.timeout(attemptMs)]);
      try {
        await probe(attempt);
        return performance.now() - started;
      } catch (error) {
        options.signal.throwIfAborted();
        // The node itself is gone: waiting longer cannot help.
        if (error instanceof TransportError && !(error instanceof CommandTimeoutError) && !(error instanceof RemoteCommandError)) throw error;
        // An attempt cut off by its own time limit says less than the failure before it.
        const cutOff = attempt.aborted && attempts > 1;
        const message = cutOff ? last : failureText(error);
        if (message !== last && attempts > 1) options.log?.(`still waiting for ${options.what}: ${message}`);
        last = attempt.aborted && attempts === 1 ? `no answer within ${formatMs(attemptMs)}` : message;
        return undefined;
      }
    },
    { timeoutMs: options.timeoutMs, intervalMs: 250, maxIntervalMs: 2_000, signal: options.signal },
    () => new TaskError(`timed out after ${formatMs(options.timeoutMs)} waiting for ${options.what} (last: ${last})`, options.where),
  );
  return ready;
}

/** OpenSSL errors carry a readable `reason` ("tlsv13 alert certificate required") behind a long message. */
function failureText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const reason = (error as Error & { reason?: unknown }).reason;
  if (typeof reason === 'string' && (error as Error & { library?: unknown }).library) return `TLS: ${reason}`;
  return error.message.trim();
}

function splitHostPort(text: string): { host: string; port: number } {
  const index = text.lastIndexOf(':');
  return { host: text.slice(0, index), port: Number(text.slice(index + 1)) };
}

function openFromNode(transport: Transport, host: string, port: number): Promise<Duplex> {
  if (!transport.openTcp) throw new Error('this transport cannot open TCP connections from the node');
  return transport.openTcp(host, port).catch((error: unknown) => {
    if (error instanceof TransportError) throw error;
    throw new Error(`${host}:${port}: ${(error as Error).message.replace('(SSH) Channel open failure: ', '')}`);
  });
}

/** GET a URL over a socket the node opened; resolves with the status and the start of the body. */
export function httpGet(socket: Duplex, url: URL, tls: { ca?: Buffer; cert?: Buffer; key?: Buffer }, signal: AbortSignal): Promise<{ status: number; body: string }> {
  return httpRequest(socket, url, tls, signal);
}

/** A request's method and JSON body, and how much of the answer to keep (bounded). */
export interface HttpRequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  json?: unknown;
  /** The body's media type (default application/json): a PATCH names its kind of patch. */
  contentType?: string;
  /** Bytes of the body kept (default 200): probes need the start, API reads the whole object. */
  maxBody?: number;
}

/** Why: one HTTP(S) client over a socket the caller opened (through a node, or direct), for probes and API checks. */
export function httpRequest(socket: Duplex, url: URL, tls: { ca?: Buffer; cert?: Buffer; key?: Buffer }, signal: AbortSignal, options: HttpRequestOptions = {}): Promise<{ status: number; body: string }> {
  const maxBody = options.maxBody ?? 200;
  const payload = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json));
  return new Promise((resolve, reject) => {
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const connection =
      url.protocol === 'https:'
        ? tlsConnect({ socket, host: hostname, servername: isIP(hostname) ? undefined : hostname, ca: tls.ca, cert: tls.cert, key: tls.key })
        : socket;
    const fail = (error: Error) => {
      connection.destroy();
      reject(error);
    };
    connection.once('error', fail);
    const headers: Record<string, string | number> = { host: url.host, connection: 'close' };
    if (payload) Object.assign(headers, { 'content-type': options.contentType ?? 'application/json', 'content-length': payload.length, accept: 'application/json' });
    const req = request({ host: hostname, path: `${url.pathname}${url.search}`, method: options.method ?? 'GET', headers, createConnection: () => connection as never, signal }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        if (size < maxBody + 512) chunks.push(chunk);
        size += chunk.length;
      });
      response.on('end', () => {
        connection.destroy();
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, maxBody) });
      });
      response.on('error', fail);
    });
    req.once('error', fail);
    req.end(payload);
  });
}

async function probeFor(ctx: TaskContext, args: WaitArgs, transport: Transport): Promise<Probe> {
  if ('tcp' in args) {
    const { host, port } = splitHostPort(args.tcp);
    return async () => {
      const socket = await openFromNode(transport, host, port);
      socket.destroy();
    };
  }
  if ('url' in args) {
    const url = new URL(args.url);
    const read = async (path: string | undefined, what: string) => {
      if (!path) return undefined;
      return readFile(localSource(ctx.run.clusterDir, path)).catch((error: NodeJS.ErrnoException) => {
        throw new TaskError(`the ${what} file ${path} cannot be read (${error.code ?? error.message})`, { node: ctx.node?.name, step: ctx.step, task: ctx.task }, { hint: 'It is made by the pki step; run it first.' });
      });
    };
    const tls = { ca: await read(args.ca, 'CA'), cert: await read(args.cert, 'client certificate'), key: await read(args.key, 'client key') };
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    return async (signal) => {
      const socket = await openFromNode(transport, url.hostname.replace(/^\[|\]$/g, ''), port);
      const { status, body } = await httpGet(socket, url, tls, signal);
      if (status !== args.expectStatus) throw new Error(`HTTP ${status}${body.trim() ? `: ${body.trim()}` : ''}`);
    };
  }
  return async (signal) => {
    const result = await transport.exec(args.command, { check: false, signal, timeoutMs: ATTEMPT_MS });
    if (result.code !== 0) throw new Error(`exit ${result.code}${result.stderr.trim() ? `: ${tailLines(result.stderr, 2, 300)}` : ''}`);
  };
}

/** Why: steps end by waiting for health, so the next step starts on a working cluster. */
export const waitModule = defineModule({
  name: 'wait',
  where: 'remote',
  summary: 'Wait until a TCP port, an HTTPS URL (CA and client cert) or a command answers on the node',
  args: waitArgs,
  async check(_ctx, args) {
    return { changed: true, probe: true, reason: `wait for ${waitTarget(args)}` };
  },
  async apply(ctx, args) {
    const node = requireNode(ctx);
    const transport = await ctx.connect();
    const what = waitTarget(args);
    const probe = await probeFor(ctx, args, transport);
    const timeoutMs = parseDuration(args.timeout);
    const where = { node: node.name, step: ctx.step, task: ctx.task };
    const started = performance.now();
    for (let passed = 0; passed < args.passes; ) {
      const remaining = timeoutMs - (performance.now() - started);
      if (passed === 0) {
        await pollUntil(probe, { timeoutMs: Math.max(remaining, 1_000), what, signal: ctx.signal, log: ctx.log, where });
        passed = 1;
        continue;
      }
      if (remaining <= 0) throw new TaskError(`timed out after ${formatMs(timeoutMs)} waiting for ${what} ${args.passes} times in a row (${passed} so far)`, where);
      await setTimeout(PASS_INTERVAL_MS, undefined, { signal: ctx.signal });
      try {
        await probe(AbortSignal.any([ctx.signal, AbortSignal.timeout(ATTEMPT_MS)]));
        passed++;
      } catch (error) {
        ctx.signal.throwIfAborted();
        ctx.log(`${what}: failed again after ${passed} pass${passed === 1 ? '' : 'es'} in a row (${failureText(error)}); waiting again`);
        passed = 0;
      }
    }
    const elapsed = performance.now() - started;
    const passes = args.passes > 1 ? ` (${args.passes} passes in a row)` : '';
    return { changed: false, reason: `${'tcp' in args ? args.tcp : 'url' in args ? args.url : 'command'} ready after ${formatMs(elapsed)}${passes}` };
  },
  describe(_ctx, args) {
    const seconds = Math.ceil(parseDuration(args.timeout) / 1000);
    let probe: string;
    const uploads: DescribedLine[] = [];
    const cleanup: string[] = [];
    if ('tcp' in args) {
      const { host, port } = splitHostPort(args.tcp);
      probe = `bash -c ${shellQuote(`</dev/tcp/${host}/${port}`)}`;
    } else if ('url' in args) {
      // hardway reads these files on the workstation and probes through the SSH connection; by
      // hand, curl runs on the node, so the files go there for the wait and are removed after it.
      const files = (['ca', 'cert', 'key'] as const).filter((name) => args[name]).map((name) => ({ flag: name === 'ca' ? '--cacert' : `--${name}`, source: args[name]!, temp: `/tmp/hardway-wait-${name}.pem` }));
      for (const file of files) uploads.push(upload(file.source, file.temp));
      if (files.length) cleanup.push(`rm -f ${files.map((file) => file.temp).join(' ')}`);
      probe = ['curl -fsS -o /dev/null', ...files.map((file) => `${file.flag} ${file.temp}`), shellQuote(args.url)].join(' ');
    } else probe = args.command;
    const loop = args.passes > 1 ? `passes=0; while :; do if ${probe}; then passes=$((passes + 1)); [ "$passes" -ge ${args.passes} ] && break; else passes=0; fi; sleep 1; done` : `until ${probe}; do sleep 1; done`;
    return [...uploads, `timeout ${seconds} sh -c ${shellQuote(loop)}`, ...cleanup];
  },
});
