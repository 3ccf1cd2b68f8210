// The SSH transport pool for a cluster: the cluster's key, user, bastion and known_hosts.
import { createSshPool } from '../transport/pool.ts';
import type { TransportPool } from '../transport/transport.ts';
import type { LoadedCluster } from './common.ts';

/** Why: every command that connects uses the same key, bastion and pinned host keys. */
export function createTransportPool(cluster: LoadedCluster, log: (line: string) => void): TransportPool {
  return createSshPool({ clusterDir: cluster.clusterDir, ssh: cluster.spec.ssh, log });
}
