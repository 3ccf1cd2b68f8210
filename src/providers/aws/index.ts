// The aws provider (DESIGN §7): EC2 instances with fixed private IPs in a VPC of their own and an
// optional NLB in front of the apiservers, all tagged with the cluster, found again on re-runs
// and deleted by destroy. The only part of hardway that imports the AWS SDK.
import { DescribeAvailabilityZonesCommand } from '@aws-sdk/client-ec2';
import { loadBalancerType } from '../../spec/schema.ts';
import type { Provider } from '../provider.ts';
import { resolveIdentity } from './api.ts';
import { destroyCluster } from './destroy.ts';
import { ensureCluster } from './ensure.ts';
import { resolveOptions, type AwsProviderOptions } from './options.ts';
import { planSshKey } from './key-pair.ts';
import { planCluster } from './plan.ts';
import { removeNode } from './remove.ts';
import { replaceNode } from './replace.ts';
import { podRoutes } from './routes.ts';
import { loadBalancerIngressRules, nodeIngressRules } from './rules.ts';
import { withRun } from './run.ts';
import { deregisterTargets, registerTargets } from './targets.ts';

export type { AwsProviderOptions, AwsWaitBounds } from './options.ts';

/** Why: the CLI and engine need only a ProviderContext; options exist for tests and tuning. */
export function createAwsProvider(options: AwsProviderOptions = {}): Provider {
  const resolved = resolveOptions(options);
  return {
    name: 'aws',

    preflight: (ctx) =>
      withRun(ctx, resolved, async (run) => {
        // A forbidden rule (a /0 source) stops the run before anything is made.
        nodeIngressRules(run.spec);
        if (loadBalancerType(run.spec) === 'nlb') loadBalancerIngressRules(run.spec);
        // So does a pod network the workers' routes could never reach.
        podRoutes(run.spec, ctx.inventory.nodes);
        const { region } = await resolveIdentity(run.api);
        // One signed read proves the credentials work (a refusal names the missing permission).
        await run.api.ec2(new DescribeAvailabilityZonesCommand({}));
        ctx.log(`aws: region ${region}, credentials accepted`);
      }),

    plan: (ctx) =>
      withRun(ctx, resolved, async (run) => {
        const key = await planSshKey(run);
        return [...(key ? [key] : []), ...(await planCluster(run, run.spec.ssh.keyPath))];
      }),

    ensure: (ctx) => withRun(ctx, resolved, ensureCluster),

    replace: (ctx, node) => withRun(ctx, resolved, (run) => replaceNode(run, node)),

    remove: (ctx, name) => withRun(ctx, resolved, (run) => removeNode(run, name)),

    destroy: (ctx) =>
      withRun(ctx, resolved, async (run) => {
        const deleted = await destroyCluster(run);
        await ctx.state.update((draft) => {
          delete draft.provider.aws;
          draft.providerFacts = {};
        });
        return deleted;
      }),

    registerTargets: (ctx, nodes) => withRun(ctx, resolved, (run) => registerTargets(run, nodes)),

    deregisterTargets: (ctx, nodes) => withRun(ctx, resolved, (run) => deregisterTargets(run, nodes)),
  };
}
