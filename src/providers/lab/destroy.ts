// Tear the lab down: every node powered off (killed after a bound), overlays unmounted,
// namespaces, veths and the bridge deleted, runtime dirs removed. The image cache stays.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { ProviderContext } from '../provider.ts';
import { checkClusterOwner, nodeDirs } from './claim.ts';
import { removeTree } from './mounts.ts';
import { clusterRuntimeDir, linkPrefix } from './names.ts';
import { deleteBridge } from './network.ts';
import { cleanupNode, stopNodeProcesses, type LabSite } from './node.ts';
import { labNodes, labSite, type LabProviderOptions } from './site.ts';
import { runCommand } from './exec.ts';
import { readLabState, recordLab } from './state.ts';

/** Lab node names are `<role>-<index>`; this keeps a namespace scan from matching another cluster's. */
export function clusterNetnsPattern(cluster: string): RegExp {
  return new RegExp(`^hw-${cluster.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-((controller|etcd|lb|worker)-\\d+)$`);
}

/** Why: destroy must leave nothing of the cluster behind, including leftovers no record mentions. */
export async function destroyLab(ctx: ProviderContext, options: LabProviderOptions): Promise<string[]> {
  const site = labSite(ctx, options);
  await checkClusterOwner(site, ctx.clusterDir);
  const names = new Set<string>([...labNodes(ctx).map((node) => node.name), ...Object.keys(readLabState(ctx.state)?.nodes ?? {}), ...(await nodeDirs(site)), ...(await strayNetnsNodes(ctx.spec.name))]);
  const removed: string[] = [];
  // Power off in parallel (each bounded), then remove what is left of each node.
  const stopped = await Promise.all([...names].map(async (name) => [name, await stopNodeProcesses(site, name, { timeoutMs: options.stopTimeoutMs ?? 20_000 })] as const));
  for (const [name, wasRunning] of stopped) {
    if (wasRunning) removed.push(`running node ${name} (powered off)`);
    removed.push(...(await cleanupNode(site, name, { removeDir: true })));
  }
  removed.push(...(await deleteStrayLinks(site)));
  if (await deleteBridge(site.bridge, ctx.signal)) removed.push(`bridge ${site.bridge}`);
  const runtimeDir = clusterRuntimeDir(site.root, site.cluster);
  if (existsSync(runtimeDir)) {
    await removeTree(runtimeDir, ctx.signal);
    removed.push(`directory ${runtimeDir}`);
  }
  await recordLab(ctx.state, () => undefined);
  return removed;
}

/** Why: a node the spec no longer lists goes for good once it left the cluster: process, disk, network, cgroups. */
export async function removeLabNode(ctx: ProviderContext, options: LabProviderOptions, name: string): Promise<string> {
  const site = labSite(ctx, options);
  const wasRunning = await stopNodeProcesses(site, name, { timeoutMs: options.stopTimeoutMs ?? 20_000 });
  const removed = await cleanupNode(site, name, { removeDir: true });
  await recordLab(ctx.state, (lab) => {
    if (!lab) return lab;
    const { [name]: _gone, ...nodes } = lab.nodes;
    return { ...lab, nodes };
  });
  return `removed lab node ${name}${wasRunning ? ' (powered off)' : ''}: ${removed.length} leftovers cleaned up`;
}

async function strayNetnsNodes(cluster: string): Promise<string[]> {
  const pattern = clusterNetnsPattern(cluster);
  const entries = await readdir('/run/netns').catch(() => [] as string[]);
  return entries.map((entry) => pattern.exec(entry)?.[1]).filter((name): name is string => name !== undefined);
}

/** Veths of nodes that no longer exist anywhere else, found by the cluster's link prefix. */
async function deleteStrayLinks(site: LabSite): Promise<string[]> {
  const prefix = `${linkPrefix(site.cluster)}-`;
  const removed: string[] = [];
  for (const link of await readdir('/sys/class/net').catch(() => [] as string[])) {
    if (!link.startsWith(prefix) || link === site.bridge) continue;
    await runCommand('ip', ['link', 'delete', link], { signal: site.signal, allowFailure: true });
    removed.push(`link ${link}`);
  }
  return removed;
}
