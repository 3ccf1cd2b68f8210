// The SSH transport pool for a cluster: the cluster's key, user, bastion and known_hosts.
import type { TransportPool } from '../transport/transport.ts';
import type { LoadedCluster } from './common.ts';

export function createTransportPool(_cluster: LoadedCluster, _log: (line: string) => void): TransportPool {
  return {
    get: async (node) => {
      throw new Error(`no SSH transport yet (asked for ${node.name})`);
    },
    closeAll: async () => undefined,
  };
}
