// Everything the lab derives from a provider context once: where its dirs are, its bridge, its
// image inputs, its nodes.
import { parseCidr } from '../../inventory/ipv4.ts';
import type { Node } from '../../inventory/node.ts';
import type { ProviderContext } from '../provider.ts';
import { IMAGE_PACKAGES, type ImageInputs } from './image.ts';
import { resolveMirror } from './mirror.ts';
import { bridgeName, cacheRoot, labRoot } from './names.ts';
import type { LabNodeIdentity, LabSite } from './node.ts';

export interface LabProviderOptions {
  /** Environment read for HARDWAY_CACHE_DIR and HARDWAY_LAB_DIR (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** How long a booting node may take to answer SSH (default 120 s). */
  sshTimeoutMs?: number;
  /** How long a node may take to power off before it is killed (default 20 s). */
  stopTimeoutMs?: number;
  /** Where apt's sources are read for the mirror (default /etc/apt). */
  aptDir?: string;
}

export function labSite(ctx: ProviderContext, options: LabProviderOptions): LabSite {
  return {
    root: labRoot(options.env ?? process.env),
    cluster: ctx.spec.name,
    bridge: bridgeName(ctx.spec.name),
    prefixLength: parseCidr(ctx.spec.network.nodeSubnet).bits,
    serviceCIDR: ctx.spec.network.serviceCIDR,
    signal: ctx.signal,
    log: ctx.log,
  };
}

export function labNodes(ctx: ProviderContext): LabNodeIdentity[] {
  return ctx.inventory.nodes.map(labNodeIdentity);
}

/** What the lab needs of an inventory node: its name, address and roles (a worker boots differently). */
export function labNodeIdentity(node: Node): LabNodeIdentity {
  return { name: node.name, ip: node.internalIP, roles: node.roles };
}

export function labSettings(ctx: ProviderContext): { suite: string; mirror: string | undefined; cacheDir: string | undefined } {
  return { suite: ctx.spec.lab?.suite ?? 'bookworm', mirror: ctx.spec.lab?.mirror, cacheDir: ctx.spec.lab?.cacheDir };
}

export async function imageInputs(ctx: ProviderContext, options: LabProviderOptions): Promise<ImageInputs> {
  const { suite, mirror } = labSettings(ctx);
  return { suite, mirror: await resolveMirror(mirror, suite, options.aptDir), packages: IMAGE_PACKAGES, arch: process.arch };
}

export function imageCacheRoot(ctx: ProviderContext, options: LabProviderOptions): string {
  return cacheRoot(options.env ?? process.env, labSettings(ctx).cacheDir);
}
