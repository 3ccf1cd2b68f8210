// The lab's network: one bridge per cluster holding the subnet's .1 on the host, and per node a
// network namespace with one end of a veth pair as eth0 and its fixed address. No default route
// and no NAT: node traffic stays on the bridge, and the host reaches nodes directly.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { SpecError } from '../../errors.ts';
import { cidrsOverlap, cidrContains, parseCidr, addressInCidr } from '../../inventory/ipv4.ts';
import { runCommand } from './exec.ts';

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

/** The bridge's address: the subnet's first host, with the subnet's prefix length. */
export function bridgeAddress(subnet: string): string {
  return `${addressInCidr(subnet, 1)}/${parseCidr(subnet).bits}`;
}

interface IpAddressInfo {
  ifname: string;
  master?: string;
  operstate?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

async function ipJson<T>(args: string[], signal?: AbortSignal): Promise<T> {
  const { stdout } = await runCommand('ip', ['-j', ...args], { signal });
  return (stdout.trim() ? JSON.parse(stdout) : []) as T;
}

/**
 * Why: a subnet already on another interface (another lab cluster, a VPN) would make the host
 * route node traffic the wrong way; refuse with the interface named instead.
 */
export async function assertSubnetFree(subnet: string, bridge: string, signal?: AbortSignal): Promise<void> {
  const interfaces = await ipJson<IpAddressInfo[]>(['-4', 'addr', 'show'], signal);
  for (const info of interfaces) {
    if (info.ifname === bridge) continue;
    for (const address of info.addr_info ?? []) {
      if (address.family !== 'inet') continue;
      const theirs = `${address.local}/${address.prefixlen}`;
      if (cidrContains(subnet, address.local) || cidrsOverlap(subnet, networkOf(theirs))) {
        throw new SpecError(`network.nodeSubnet ${subnet} overlaps ${theirs} on this machine's interface ${info.ifname}`, { field: 'network.nodeSubnet' }, {
          hint: 'Choose another network.nodeSubnet for this lab cluster, or destroy the cluster that uses that interface.',
        });
      }
    }
  }
  const routes = await ipJson<{ dst: string; dev?: string }[]>(['-4', 'route', 'show'], signal);
  for (const route of routes) {
    if (route.dst === 'default' || route.dev === bridge) continue;
    const dst = route.dst.includes('/') ? route.dst : `${route.dst}/32`;
    if (cidrsOverlap(subnet, dst)) {
      throw new SpecError(`network.nodeSubnet ${subnet} overlaps the route ${route.dst}${route.dev ? ` via ${route.dev}` : ''} on this machine`, { field: 'network.nodeSubnet' }, {
        hint: 'Choose another network.nodeSubnet for this lab cluster.',
      });
    }
  }
}

function networkOf(cidr: string): string {
  const { network, bits } = parseCidr(cidr);
  return `${[24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join('.')}/${bits}`;
}

/** Create the bridge (or repair a found one): address, up, and no forwarding off it. Returns true when created. */
export async function ensureBridge(name: string, subnet: string, mac: string, signal?: AbortSignal): Promise<boolean> {
  const created = !linkExists(name);
  // A fixed MAC: by default a bridge takes the lowest of its ports' MACs, which changes as nodes come and go.
  if (created) await runCommand('ip', ['link', 'add', name, 'address', mac, 'type', 'bridge'], { signal, purpose: `create the lab bridge ${name}` });
  const address = bridgeAddress(subnet);
  const [info] = await ipJson<IpAddressInfo[]>(['-4', 'addr', 'show', 'dev', name], signal);
  const has = (info?.addr_info ?? []).some((entry) => `${entry.local}/${entry.prefixlen}` === address);
  if (!has) await runCommand('ip', ['addr', 'add', address, 'dev', name], { signal, purpose: `give the lab bridge ${name} the address ${address}` });
  await isolateInterface(name);
  await runCommand('ip', ['link', 'set', name, 'up'], { signal, purpose: `bring up the lab bridge ${name}` });
  return created;
}

/**
 * Why: whatever this machine's global forwarding setting, packets arriving from the lab must never
 * be routed off the machine; per-interface IPv4 forwarding off on our own links does that without
 * touching the machine's configuration. IPv6 is off on them too (the lab is IPv4 only).
 */
async function isolateInterface(name: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv4/conf/${name}/forwarding`, '0').catch(() => undefined);
  await writeFile(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, '1').catch(() => undefined);
}

export interface NodeLink {
  netns: string;
  veth: string;
  bridge: string;
  ip: string;
  prefixLength: number;
  /** The MAC of the node's eth0. */
  mac: string;
}

/** The namespace and veth pair of a node, from nothing (any leftover must be removed first). */
export async function createNodeNetwork(link: NodeLink, signal?: AbortSignal): Promise<void> {
  const purpose = `set up the network of ${link.netns}`;
  await runCommand('ip', ['netns', 'add', link.netns], { signal, purpose });
  await runCommand('ip', ['link', 'add', link.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'address', link.mac, 'netns', link.netns], { signal, purpose });
  await isolateInterface(link.veth);
  await runCommand('ip', ['link', 'set', link.veth, 'master', link.bridge, 'up'], { signal, purpose });
  await runCommand('ip', ['-n', link.netns, 'addr', 'add', `${link.ip}/${link.prefixLength}`, 'dev', 'eth0'], { signal, purpose });
  await runCommand('ip', ['-n', link.netns, 'link', 'set', 'eth0', 'up'], { signal, purpose });
  await runCommand('ip', ['-n', link.netns, 'link', 'set', 'lo', 'up'], { signal, purpose });
}

/** Every link of this machine's own namespace, with the bridge it is enslaved to ('' for none): one `ip` for all nodes. */
export async function hostLinkMasters(signal?: AbortSignal): Promise<Map<string, string>> {
  const links = await ipJson<IpAddressInfo[]>(['link', 'show'], signal);
  return new Map(links.map((link) => [link.ifname, link.master ?? '']));
}

/** True when the namespace, veth (on the bridge) and eth0 address are all in place. */
export async function nodeNetworkIntact(link: NodeLink, masters: ReadonlyMap<string, string>, signal?: AbortSignal): Promise<boolean> {
  if (!netnsExists(link.netns) || masters.get(link.veth) !== link.bridge) return false;
  const [inside] = await ipJson<IpAddressInfo[]>(['-n', link.netns, '-4', 'addr', 'show', 'dev', 'eth0'], signal).catch(() => [] as IpAddressInfo[]);
  return (inside?.addr_info ?? []).some((entry) => entry.local === link.ip && entry.prefixlen === link.prefixLength);
}

/**
 * Remove a node's veth and namespace. The host end goes first: deleting it removes the pair at
 * once, while a deleted namespace takes its eth0 (and so the pair) down asynchronously.
 */
export async function deleteNodeNetwork(netns: string, veth: string, signal?: AbortSignal): Promise<string[]> {
  const removed: string[] = [];
  if (linkExists(veth)) {
    const result = await runCommand('ip', ['link', 'delete', veth], { signal, allowFailure: true });
    if (result.exitCode !== 0 && linkExists(veth)) throw new Error(`could not delete the link ${veth}: ${result.stderr.trim()}`);
    removed.push(`link ${veth}`);
  }
  if (netnsExists(netns)) {
    await runCommand('ip', ['netns', 'delete', netns], { signal, purpose: `delete the network namespace ${netns}` });
    removed.push(`netns ${netns}`);
  }
  return removed;
}

export async function deleteBridge(name: string, signal?: AbortSignal): Promise<boolean> {
  if (!linkExists(name)) return false;
  await runCommand('ip', ['link', 'delete', name, 'type', 'bridge'], { signal, purpose: `delete the lab bridge ${name}` });
  return true;
}
