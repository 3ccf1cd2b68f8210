// Probes made *by a node*: an attempt retried until it answers or a timeout names what was
// awaited (pollUntil), and one HTTP(S) client over a socket the node opened through its SSH
// connection (direct-tcpip), so ports only the node can reach work with no curl on it. The wait
// task, the health checks, smoke and drain share them.
import { request } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { TaskError } from '../errors.ts';
import { CommandTimeoutError, formatMs, RemoteCommandError, TransportError } from '../transport/errors.ts';
import type { Transport } from '../transport/transport.ts';
import { pollOr } from '../util/poll.ts';

/** One attempt; resolves when ready, rejects with the reason it is not (yet). */
export type Probe = (signal: AbortSignal) => Promise<void>;

export const ATTEMPT_MS = 10_000;

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
export function failureText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const reason = (error as Error & { reason?: unknown }).reason;
  if (typeof reason === 'string' && (error as Error & { library?: unknown }).library) return `TLS: ${reason}`;
  return error.message.trim();
}

export function openFromNode(transport: Transport, host: string, port: number): Promise<Duplex> {
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
