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
import { z } from 'zod';
import { TaskError } from '../errors.ts';
import { parseDuration } from '../pki/duration.ts';
import { duration } from '../spec/schema.ts';
import { formatMs, tailLines } from '../transport/errors.ts';
import { ATTEMPT_MS, failureText, httpGet, openFromNode, pollUntil, type Probe } from './node-probe.ts';
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

function splitHostPort(text: string): { host: string; port: number } {
  const index = text.lastIndexOf(':');
  return { host: text.slice(0, index), port: Number(text.slice(index + 1)) };
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
