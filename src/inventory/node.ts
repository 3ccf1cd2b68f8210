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
  nodes: Node[];
  /** The API endpoint for kubeconfigs outside the controllers. */
  endpoint: Endpoint;
  /** Every name and address of the load balancer, for the apiserver certificate. */
  loadBalancerNames: string[];
}

/** Why: steps select hosts by role and by --nodes; one collection keeps those rules in one place. */
export class Nodes {
  readonly all: readonly Node[];

  constructor(nodes: readonly Node[]) {
    this.all = nodes;
  }

  byRole(role: Role): Node[] {
    return this.all.filter((node) => node.roles.includes(role));
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

  find(name: string): Node | undefined {
    return this.all.find((node) => node.name === name);
  }

  names(): string[] {
    return this.all.map((node) => node.name);
  }

  /** The nodes whose names are listed, in inventory order. */
  named(names: readonly string[]): Node[] {
    return this.all.filter((node) => names.includes(node.name));
  }
}
