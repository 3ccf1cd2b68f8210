// `nlb-targets: {}` (workstation): on AWS, the controllers registered as IP targets of the NLB the
// infra step made, then awaited until the NLB's health checks report them healthy. The provider
// owns the calls (src/providers/aws/targets.ts); registering a target already there changes nothing.
import { z } from 'zod';
import { TaskError } from '../errors.ts';
import { loadBalancerType } from '../spec/schema.ts';
import { providerContext } from './infra.ts';
import { defineModule } from './module.ts';

/** Why: the API's address on AWS is the NLB; it answers only once the controllers are its healthy targets. */
export const nlbTargetsModule = defineModule({
  name: 'nlb-targets',
  where: 'local',
  summary: 'Register the controllers as targets of the AWS NLB and wait until they are healthy',
  args: z.strictObject({}),
  async check(ctx) {
    if (loadBalancerType(ctx.run.spec) !== 'nlb') return { changed: false, reason: 'no NLB in this cluster' };
    // Registration is idempotent and the wait only observes: counted as changed only when the provider registered someone.
    return { changed: true, probe: true, reason: 'register the controllers as NLB targets and wait until healthy' };
  },
  async apply(ctx) {
    const provider = await ctx.run.provider();
    if (!provider.registerTargets) throw new TaskError(`the ${provider.name} provider cannot register load balancer targets`, { step: ctx.step, task: ctx.task });
    return provider.registerTargets(providerContext(ctx), ctx.run.inventory.nodes.controllers());
  },
  describe(ctx) {
    return ctx.run.inventory.nodes.controllers().map((node) => `aws elbv2 register-targets --target-group-arn "$TARGET_GROUP_ARN" --targets Id=${node.internalIP},Port=6443`);
  },
});
