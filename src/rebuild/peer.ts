// The etcd node rebuild acts through: another member that answers and whose own etcd is healthy.
// The node being rebuilt is never asked, so a dead machine can be replaced.
import { TaskError } from '../errors.ts';
import type { Node } from '../inventory/node.ts';
import type { TransportPool } from '../transport/transport.ts';
import { parseEndpointHealth } from './endpoint-health.ts';
import { etcdctlError, LOCAL_ENDPOINT, runEtcdctl, type EtcdPeer } from './etcdctl.ts';

/** Why: membership changes must go through a member that is part of the quorum. */
export async function findHealthyPeer(candidates: readonly Node[], pool: TransportPool, signal: AbortSignal, log: (line: string) => void): Promise<EtcdPeer> {
  const tried: string[] = [];
  for (const node of candidates) {
    let peer: EtcdPeer;
    try {
      peer = { node, transport: await pool.get(node, signal) };
    } catch (error) {
      signal.throwIfAborted();
      tried.push(`${node.name} is unreachable (${(error as Error).message.split('\n')[0]})`);
      continue;
    }
    const result = await runEtcdctl(peer, ['endpoint', 'health'], { signal, check: false, attempts: 1, commandTimeoutSeconds: 4 });
    const health = parseEndpointHealth(`${result.stdout}\n${result.stderr}`).get(LOCAL_ENDPOINT);
    if (result.code === 0 && health?.healthy) {
      log(`acting through etcd member ${node.name}`);
      return peer;
    }
    tried.push(`etcd on ${node.name} is unhealthy (${health?.detail || etcdctlError(result)})`);
  }
  throw new TaskError(`no healthy etcd member to act through: ${tried.join('; ') || 'the cluster has no other etcd node'}`, {}, {
    hint: 'Start etcd on another member (hardway ssh NODE -- systemctl start etcd) or check `hardway status`; a cluster without a healthy member needs a snapshot restore.',
  });
}
