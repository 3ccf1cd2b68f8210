// A machine of the cluster as hardway addresses it. Facts read from the machine (arch, OS) are
// kept apart, in the state, so the inventory stays a pure function of the spec plus the provider.

export type Role = 'controller' | 'etcd' | 'lb' | 'worker';
export const ROLES: readonly Role[] = ['controller', 'etcd', 'lb', 'worker'];

export interface Node {
  name: string;
  roles: Role[];
  /** The address other nodes and certificates use. */
  internalIP: string;
  /** Where SSH connects; empty until the provider has created the machine (aws). */
  sshAddress: string;
  sshPort: number;
  user: string;
  /** Workers: the /24 of network.clusterCIDR its pods take addresses from (bridge CNI, routes). */
  podCIDR?: string;
}

export interface Endpoint {
  /** DNS name or IP clients use for the API (the LB when there is one). */
  host: string;
  port: number;
}

export interface Inventory {
  cluster: string;
  provider: 'lab' | 'aws' | 'static';
  nodes: Nodes;
  /** The API endpoint for kubeconfigs outside the controllers. */
  endpoint: Endpoint;
  /** Every name and address of the load balancer, for the apiserver certificate. */
  loadBalancerNames: string[];
}

/**
 * Why: steps select hosts by role and by --nodes; the inventory's nodes are this one collection
 * (k0sctl's hosts), an array with the queries on it, so nothing wraps or re-filters them by hand.
 * What map, filter and slice return are plain arrays.
 */
export class Nodes extends Array<Node> {
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  /** The collection of these nodes, in their order. */
  static collect(nodes: Iterable<Node>): Nodes {
    const collection = new Nodes();
    for (const node of nodes) collection.push(node);
    return collection;
  }

  byRole(role: Role): Node[] {
    return this.filter((node) => node.roles.includes(role));
  }

  controllers(): Node[] {
    return this.byRole('controller');
  }

  etcd(): Node[] {
    return this.byRole('etcd');
  }

  lb(): Node[] {
    return this.byRole('lb');
  }

  workers(): Node[] {
    return this.byRole('worker');
  }

  byName(name: string): Node | undefined {
    return this.find((node) => node.name === name);
  }

  names(): string[] {
    return this.map((node) => node.name);
  }

  /** The nodes whose names are listed, in inventory order. */
  named(names: readonly string[]): Node[] {
    return this.filter((node) => names.includes(node.name));
  }
}
