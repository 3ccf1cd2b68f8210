// etcdctl as a person would run it on an etcd node: the node's own server certificate (it has
// client auth) against the etcd CA, bounded timeouts, and retries for the transient errors a
// cluster changing its membership answers with (a removed leader: "leader changed").
import type { Node } from '../inventory/node.ts';
import { sleep } from '../transport/retry.ts';
import { shellJoin } from '../transport/shell.ts';
import type { ExecResult, Transport } from '../transport/transport.ts';

/** Where the binaries step installs etcdctl (non-login shells may lack /usr/local/bin in PATH). */
export const ETCDCTL = '/usr/local/bin/etcdctl';
const TLS = ['--cacert=/etc/etcd/ca.pem', '--cert=/etc/etcd/server.pem', '--key=/etc/etcd/server-key.pem'];

/** A member's data directory (the etcd unit's --data-dir). */
export const ETCD_DATA_DIR = '/var/lib/etcd';

/** A member's own endpoint, reached on the node itself (the server certificate lists 127.0.0.1). */
export const LOCAL_ENDPOINT = 'https://127.0.0.1:2379';

/** An etcd node whose etcdctl talks to the cluster. */
export interface EtcdPeer {
  node: Node;
  transport: Transport;
}

/** Why: the exact command line, also what the progress log and docs show. */
export function etcdctlCommand(endpoints: readonly string[], args: readonly string[], commandTimeoutSeconds = 10): string {
  return shellJoin(['env', 'ETCDCTL_API=3', ETCDCTL, `--endpoints=${endpoints.join(',')}`, ...TLS, '--dial-timeout=3s', `--command-timeout=${commandTimeoutSeconds}s`, ...args]);
}

// "unhealthy cluster": etcd refuses a membership change until every member it counts was connected
// for a few seconds (strict reconfig check), e.g. right after a member restarted.
const TRANSIENT = /unhealthy cluster|leader changed|no leader|context deadline exceeded|code = Unavailable|request timed out|too many requests|transport is closing|connection refused|i\/o timeout/i;

/** Why: etcd's client logs JSON lines on stderr; an error message is the plain lines around them. */
export function etcdctlError(result: Pick<ExecResult, 'stdout' | 'stderr' | 'code'>): string {
  const plain = `${result.stderr}\n${result.stdout}`
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('{'));
  return plain.slice(-3).join('; ') || `exit code ${result.code}`;
}

/** How one etcdctl call runs. */
export interface EtcdctlOptions {
  signal: AbortSignal;
  /** Endpoints for this call (default: the peer's own member). */
  endpoints?: readonly string[];
  /** Attempts for transient errors (default 5, one second apart). */
  attempts?: number;
  /** etcdctl's --command-timeout in seconds (default 10). */
  commandTimeoutSeconds?: number;
  /** Return the result instead of throwing when etcdctl exits non-zero (after retries). */
  check?: boolean;
}

/** Run etcdctl on the peer; retries transient failures, throws with etcdctl's own message. */
export async function runEtcdctl(peer: EtcdPeer, args: readonly string[], options: EtcdctlOptions): Promise<ExecResult> {
  const command = etcdctlCommand(options.endpoints ?? [LOCAL_ENDPOINT], args, options.commandTimeoutSeconds);
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const result = await peer.transport.exec(command, { check: false, signal: options.signal, timeoutMs: 30_000 });
    if (result.code === 0 || options.check === false) return result;
    const message = etcdctlError(result);
    if (attempt >= attempts || !TRANSIENT.test(`${result.stderr}\n${result.stdout}`)) {
      throw new Error(`etcdctl ${args.join(' ')} on ${peer.node.name} failed: ${message}`);
    }
    await sleep(1000, options.signal);
  }
}
