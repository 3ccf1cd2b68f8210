// What ensure would do, read from the system without changing it.
import { existsSync } from 'node:fs';
import type { ProviderContext } from '../provider.ts';
import { findImage, imageName } from './image.ts';
import { bridgeAddress, linkExists } from './network.ts';
import { pathsOf, probeNodes } from './node.ts';
import { imageCacheRoot, imageInputs, labNodes, labSite, type LabProviderOptions } from './site.ts';
import { isWorker, workerPlan } from './worker.ts';

/** Why: `hardway plan` shows a learner what the lab will create before anything is touched. */
export async function planLab(ctx: ProviderContext, options: LabProviderOptions): Promise<string[]> {
  const site = labSite(ctx, options);
  const inputs = await imageInputs(ctx, options);
  const lines: string[] = [];
  const image = await findImage(imageCacheRoot(ctx, options), inputs);
  lines.push(
    image
      ? `found image ${imageName(inputs)} (${image})`
      : `create image ${imageName(inputs)}: debootstrap ${inputs.suite} from ${inputs.mirror} into ${imageCacheRoot(ctx, options)}, once (about a minute)`,
  );
  lines.push(`${linkExists(site.bridge) ? 'found' : 'create'} bridge ${site.bridge} (${bridgeAddress(ctx.spec.network.nodeSubnet)})`);
  const nodes = labNodes(ctx);
  const probes = await probeNodes(site, nodes);
  for (const [index, node] of nodes.entries()) {
    const probe = probes[index]!;
    if (probe.running) lines.push(`found node ${node.name} (${node.ip}, running, pid ${probe.pids[0]})`);
    else if (existsSync(pathsOf(site, node.name).upper)) lines.push(`start node ${node.name} (${node.ip}) again on its existing disk (${probe.reason})`);
    else lines.push(`create node ${node.name} (${node.ip})`);
    if (!probe.running && isWorker(node)) lines.push(`  ${workerPlan(pathsOf(site, node.name).workerState, site.serviceCIDR)}`);
  }
  return lines;
}
