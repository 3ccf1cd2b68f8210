// The infra step's module: the provider creates or finds every machine (and the NLB), then the
// run's inventory is re-derived with what only the provider knows (addresses, the NLB's name).
import { z } from 'zod';
import { deriveInventory } from '../inventory/derive.ts';
import { planText, type PlannedResource, type ProviderContext } from '../providers/provider.ts';
import { type TaskContext, defineModule, type CheckResult } from './module.ts';
import { newMachinesOf } from './new-machines.ts';
import { planNewAwsCluster } from './new-aws-cluster.ts';
import { comment } from './described.ts';

export function providerContext(ctx: TaskContext): ProviderContext {
  return {
    spec: ctx.run.spec,
    clusterDir: ctx.run.clusterDir,
    state: ctx.run.state,
    inventory: deriveInventory(ctx.run.spec, ctx.run.state.data.providerFacts),
    log: ctx.log,
    signal: ctx.signal,
  };
}

/** How `plan --diff` marks a resource: + what ensure makes or alters, ! what only the user can make. */
const DIFF_MARK = { found: ' ', create: '+', change: '+', missing: '!' } as const;

/** A provider plan as the task's result; the whole list (found and to create) is the diff `plan --diff` shows. */
export function summarizePlan(plan: readonly PlannedResource[]): CheckResult {
  // A route re-pointed or a setting changed counts as much as a new resource.
  const changes = plan.filter((resource) => resource.action === 'create' || resource.action === 'change');
  const creates = changes.filter((resource) => resource.action === 'create');
  const what = creates.length === changes.length ? `${creates.length} to create` : `${changes.length} to create or change`;
  const diff = plan.flatMap((resource) => planText([resource]).map((line) => `${DIFF_MARK[resource.action]} ${line}`)).join('\n');
  const missing = plan.filter((resource) => resource.action === 'missing').map((resource) => resource.text);
  if (changes.length) return { changed: true, reason: `${what}: ${[...changes.map((resource) => planText([resource]).join(' ')), ...missing].join('; ')}`, diff };
  if (missing.length) return { changed: true, reason: missing.join('; '), diff };
  return { changed: false, reason: `found all: ${plan.length} resources` };
}

/** Why: one local task wraps the provider, so `infra` is a step like any other. */
export const infraModule = defineModule({
  name: 'infra',
  where: 'local',
  summary: 'create or find the machines (and the load balancer) with the cluster provider',
  args: z.strictObject({}),
  async check(ctx) {
    const newMachines = newMachinesOf(ctx.run);
    // A never-built aws cluster: the provider's plan with nothing found, without asking AWS.
    if (ctx.run.options.dryRun && newMachines && ctx.run.spec.provider === 'aws') {
      const plan = await planNewAwsCluster(providerContext(ctx));
      // Later steps of the dry run name the NLB as its DNS name will look (the run's copy only).
      ctx.run.inventory = deriveInventory(ctx.run.spec, plan.facts);
      if (plan.facts.loadBalancerDNSName) ctx.log(`the NLB's DNS name is known once it exists; shown as ${plan.facts.loadBalancerDNSName}`);
      return summarizePlan(plan.plan);
    }
    const provider = await ctx.run.provider();
    await provider.preflight(providerContext(ctx));
    if (ctx.run.options.dryRun) {
      const plan = await provider.plan(providerContext(ctx));
      // A machine the provider finds (a lab node left running) is not new: later steps look at it.
      for (const resource of plan) if (resource.existingNode) newMachines?.delete(resource.existingNode);
      return summarizePlan(plan);
    }
    // The provider decides per resource; ensure reports what it created.
    return { changed: true, probe: true, reason: `ensure the ${ctx.run.spec.provider} machines` };
  },
  async apply(ctx) {
    const provider = await ctx.run.provider();
    const result = await provider.ensure(providerContext(ctx));
    const inventory = deriveInventory(ctx.run.spec, result.facts);
    await ctx.run.state.update((draft) => {
      draft.providerFacts = result.facts;
      draft.inventory = inventory;
    });
    ctx.run.inventory = inventory;
    for (const line of result.created) ctx.log(`created ${line}`);
    return result.created.length
      ? { changed: true, reason: `created ${result.created.length}: ${result.created.join(', ')}` }
      : { changed: false, reason: `found all ${result.found.length} resources` };
  },
  describe(ctx) {
    return [comment(`the ${ctx.run.spec.provider} provider creates or finds: ${ctx.run.inventory.nodes.map((node) => `${node.name} (${node.internalIP})`).join(', ')}`)];
  },
});
