// What ensure would do, read from the system without changing it.
import { existsSync } from 'node:fs';
import type { PlannedResource, ProviderContext } from '../provider.ts';
import { findImage, imageName } from './image.ts';
import { bridgeAddress, linkExists } from './network.ts';
import { pathsOf, probeNodes } from './node.ts';
import { imageCacheRoot, imageInputs, labNodes, labSite, type LabProviderOptions } from './site.ts';
import { isWorker, workerPlan } from './worker.ts';

/** Why: `hardway plan` shows a learner what the lab will create before anything is touched. */
export async function planLab(ctx: ProviderContext, options: LabProviderOptions): Promise<PlannedResource[]> {
  const site = labSite(ctx, options);
  const inputs = await imageInputs(ctx, options);
  const plan: PlannedResource[] = [];
  const image = await findImage(imageCacheRoot(ctx, options), inputs);
  plan.push(
    image
      ? { action: 'found', text: `found image ${imageName(inputs)} (${image})` }
      : { action: 'create', text: `create image ${imageName(inputs)}: debootstrap ${inputs.suite} from ${inputs.mirror} into ${imageCacheRoot(ctx, options)}, once (about a minute)` },
  );
  const bridge = linkExists(site.bridge) ? 'found' : 'create';
  plan.push({ action: bridge, text: `${bridge} bridge ${site.bridge} (${bridgeAddress(ctx.spec.network.nodeSubnet)})` });
  const nodes = labNodes(ctx);
  const probes = await probeNodes(site, nodes);
  for (const [index, node] of nodes.entries()) {
    const probe = probes[index]!;
    const details = !probe.running && isWorker(node) ? { details: [workerPlan(pathsOf(site, node.name).workerState, site.serviceCIDR)] } : {};
    if (probe.running) plan.push({ action: 'found', text: `found node ${node.name} (${node.ip}, running, pid ${probe.pids[0]})`, existingNode: node.name });
    else if (existsSync(pathsOf(site, node.name).upper)) plan.push({ action: 'change', text: `start node ${node.name} (${node.ip}) again on its existing disk (${probe.reason})`, existingNode: node.name, ...details });
    else plan.push({ action: 'create', text: `create node ${node.name} (${node.ip})`, ...details });
  }
  return plan;
}
