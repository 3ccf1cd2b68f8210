// How health checks reach the cluster: TCP opened by a node over its SSH connection (ports only
// the node can reach), or directly from the workstation (the load balancer), with the cluster's
// TLS files read on the workstation.
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RunContext } from '../modules/module.ts';
import { HardwayError } from '../errors.ts';
import type { Node } from '../inventory/node.ts';
import { localSource } from '../modules/copy.ts';

/** What the probes need: connections through nodes, the cluster files, a signal. */
export interface HealthContext {
  run: RunContext;
  signal: AbortSignal;
}

export interface HealthResult {
  what: string;
  ok: boolean;
  /** "healthy", "v1.32.3", or what is wrong. */
  detail: string;
}

export interface Tls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** The certificate the server should present, to name it in errors. */
  serverCert: string;
}

/** Why: the load balancer is reached as clients reach it, from the workstation. */
export function directTcp(host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error(`no TCP answer from ${host}:${port} within 10s`)), 10_000);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Why: a node's own view (127.0.0.1, private subnets behind a bastion), through its SSH connection. */
export async function viaNode(ctx: HealthContext, node: Node, host: string, port: number): Promise<Duplex> {
  const transport = await ctx.run.transports.get(node, ctx.signal);
  if (!transport.openTcp) throw new Error(`the transport to ${node.name} cannot open TCP connections`);
  return transport.openTcp(host, port).catch((error: Error) => {
    throw new Error(`${host}:${port}: ${error.message.replace('(SSH) Channel open failure: ', '')}`);
  });
}

/** Why: the CA and client certificate a check presents, read once, with a hint when missing. */
export async function files(ctx: HealthContext, names: { ca: string; cert?: string; key?: string }, serverCert: string): Promise<Tls> {
  const read = (name: string) =>
    readFile(localSource(ctx.run.clusterDir, name)).catch((error: NodeJS.ErrnoException) => {
      throw new HardwayError(`cannot read ${name} (${error.code ?? error.message})`, { hint: 'The pki step makes it: hardway provision --step pki.' });
    });
  return { ca: await read(names.ca), cert: names.cert ? await read(names.cert) : undefined, key: names.key ? await read(names.key) : undefined, serverCert };
}

