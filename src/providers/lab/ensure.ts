// Bring the lab to what the spec asks: image, bridge, and every node running and answering SSH.
// Running nodes are left alone; anything half there (a crash, a reboot of this machine) is
// cleaned up and booted again on the node's own disk.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TaskError } from '../../errors.ts';
import { ensureSshKey } from '../../transport/keys.ts';
import type { EnsureResult, ProviderContext } from '../provider.ts';
import { checkClusterOwner, nodeDirs, recordClusterOwner } from './claim.ts';
import { ensureImage, type Image } from './image.ts';
import { clusterRuntimeDir, machineName, macAddress, netnsName, vethName } from './names.ts';
import { assertSubnetFree, bridgeAddress, ensureBridge } from './network.ts';
import { cleanupNode, pathsOf, probeNodes, startNode, type LabNodeIdentity, type LabSite } from './node.ts';
import { isProcessAlive } from '../../util/lock-file.ts';
import { imageCacheRoot, imageInputs, labNodes, labSite, type LabProviderOptions } from './site.ts';
import { checkInotifyRoom } from './inotify.ts';
import { isWorker } from './worker.ts';
import { recordLab, type LabNodeRecord } from './state.ts';
import { waitForSsh } from './wait-ssh.ts';

interface Prepared {
  site: LabSite;
  image: Image;
  publicKey: string;
  bridgeCreated: boolean;
}

/** What every node operation needs first: the cluster key, the image, the bridge. */
async function prepare(ctx: ProviderContext, options: LabProviderOptions): Promise<Prepared> {
  const site = labSite(ctx, options);
  // Refusals first, before anything is built or written.
  await assertSubnetFree(ctx.spec.network.nodeSubnet, site.bridge, ctx.signal);
  await checkClusterOwner(site, ctx.clusterDir);
  const key = await ensureSshKey(resolve(ctx.clusterDir, ctx.spec.ssh.keyPath), `hardway-lab-${ctx.spec.name}`);
  const image = await ensureImage({ cacheRoot: imageCacheRoot(ctx, options), inputs: await imageInputs(ctx, options), log: ctx.log, signal: ctx.signal });
  await recordClusterOwner(site, ctx.clusterDir);
  const bridgeCreated = await ensureBridge(site.bridge, ctx.spec.network.nodeSubnet, macAddress(site.cluster, 'bridge'), ctx.signal);
  return { site, image, publicKey: key.publicKey, bridgeCreated };
}

/** Why: `infra` must be re-runnable: it finds running nodes and creates only what is missing. */
export async function ensureLab(ctx: ProviderContext, options: LabProviderOptions): Promise<EnsureResult> {
  const prepared = await prepare(ctx, options);
  const { site, image } = prepared;
  const created: string[] = [];
  const found: string[] = [];
  (image.built ? created : found).push(`image ${image.name}`);
  (prepared.bridgeCreated ? created : found).push(`bridge ${site.bridge} (${bridgeAddress(ctx.spec.network.nodeSubnet)})`);

  const nodes = labNodes(ctx);
  for (const name of await nodeDirs(site)) {
    if (!nodes.some((node) => node.name === name)) ctx.log(`node ${name} is no longer in the spec; it is left as it is until \`hardway destroy\``);
  }
  const probes = (await probeNodes(site, nodes)).map((probe, index) => [nodes[index]!, probe] as const);
  await checkInotifyRoom(bootCounts(probes.filter(([, probe]) => !probe.running).map(([node]) => node)));
  const records = await Promise.all(
    probes.map(async ([node, probe]): Promise<[LabNodeIdentity, number, boolean]> => {
      if (probe.running) return [node, probe.pids[0]!, false];
      if (probe.reason !== 'no nspawn process') ctx.log(`node ${node.name}: ${probe.reason}; cleaning up and booting it again (its disk is kept)`);
      await cleanupNode(site, node.name);
      return [node, await startNode(site, node, image.path, prepared.publicKey), true];
    }),
  );
  for (const [node, , wasCreated] of records) (wasCreated ? created : found).push(`node ${node.name} (${node.ip})`);
  await recordNodes(ctx, site, image, records.map(([node, pid]) => [node, pid]));
  await waitUntilReachable(ctx, site, nodes, options);
  return { created, found, facts: { sshAddresses: Object.fromEntries(nodes.map((node) => [node.name, node.ip])) } };
}

/** Why: `hardway rebuild` needs the same machine (name, address) with an empty disk. */
export async function replaceLabNode(ctx: ProviderContext, options: LabProviderOptions, node: LabNodeIdentity): Promise<void> {
  const prepared = await prepare(ctx, options);
  await cleanupNode(prepared.site, node.name, { discardUpper: true });
  await checkInotifyRoom(bootCounts([node]));
  const pid = await startNode(prepared.site, node, prepared.image.path, prepared.publicKey);
  await recordNodes(ctx, prepared.site, prepared.image, [[node, pid]]);
  await waitUntilReachable(ctx, prepared.site, [node], options);
}

/** Nodes about to boot, by what they cost in inotify instances. */
function bootCounts(nodes: readonly LabNodeIdentity[]): { plain: number; workers: number } {
  const workers = nodes.filter(isWorker).length;
  return { plain: nodes.length - workers, workers };
}

async function recordNodes(ctx: ProviderContext, site: LabSite, image: Image, started: [LabNodeIdentity, number][]): Promise<void> {
  const startedAt = new Date().toISOString();
  await recordLab(ctx.state, (lab) => {
    const nodes: Record<string, LabNodeRecord> = { ...lab?.nodes };
    for (const [node, pid] of started) {
      const previous = nodes[node.name];
      nodes[node.name] = {
        ip: node.ip,
        pid,
        machine: machineName(site.cluster, node.name),
        netns: netnsName(site.cluster, node.name),
        veth: vethName(site.cluster, node.name),
        root: pathsOf(site, node.name).merged,
        startedAt: previous?.pid === pid ? previous.startedAt : startedAt,
      };
    }
    return { bridge: site.bridge, subnet: ctx.spec.network.nodeSubnet, image: image.path, runtimeDir: clusterRuntimeDir(site.root, site.cluster), nodes };
  });
}

/** Wait, in parallel and bounded, for every node's sshd; a node whose container died fails at once. */
async function waitUntilReachable(ctx: ProviderContext, site: LabSite, nodes: LabNodeIdentity[], options: LabProviderOptions): Promise<void> {
  const timeoutMs = options.sshTimeoutMs ?? 120_000;
  ctx.log(`waiting for sshd on ${nodes.map((node) => `${node.name} (${node.ip}:22)`).join(', ')}`);
  const results = await Promise.all(
    nodes.map(async (node) => {
      const pid = Number((await readFile(pathsOf(site, node.name).pidFile, 'utf8').catch(() => '0')).trim());
      const result = await waitForSsh({
        host: node.ip,
        port: 22,
        timeoutMs,
        signal: ctx.signal,
        stillBooting: async () => (pid && !isProcessAlive(pid) ? 'its systemd-nspawn process exited' : undefined),
      });
      return { node, result };
    }),
  );
  const failed = results.filter(({ result }) => !result.ok);
  if (!failed.length) return;
  const first = failed[0]!;
  const paths = pathsOf(site, first.node.name);
  const consoleTail = await tailOf(paths.consoleLog, 12);
  throw new TaskError(
    `lab node${failed.length > 1 ? 's' : ''} ${failed.map(({ node }) => node.name).join(', ')} did not come up: ${first.node.name} (${first.node.ip}): ${first.result.ok ? '' : first.result.reason}${consoleTail ? `\nlast console lines of ${first.node.name}:\n${consoleTail}` : ''}`,
    { step: 'infra', node: first.node.name },
    { hint: `The node's console is in ${paths.consoleLog}. Run the infra step again to retry; \`hardway destroy\` removes the lab.` },
  );
}

async function tailOf(file: string, lines: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');
  return plain.trim().split('\n').slice(-lines).join('\n');
}
