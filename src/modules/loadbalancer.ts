// The loadbalancer step's module. With haproxy (lab, static) it renders units/haproxy.cfg onto the
// lb node, checks it with `haproxy -c`, and reloads haproxy only when the file changed; with an AWS
// NLB it registers the controllers as targets and waits until they are healthy.
import { z } from 'zod';
import { templateVars } from '../engine/vars.ts';
import { TaskError } from '../errors.ts';
import { type Node } from '../inventory/node.ts';
import { loadBalancerType } from '../spec/schema.ts';
import { providerContext } from './infra.ts';
import { type CheckResult, type DescribeContext, type TaskContext, defineModule } from './module.ts';
import { onNode, writeFileLine } from './describe-lines.ts';
import { renderTemplate } from './template.ts';
import { unifiedDiff } from './text-diff.ts';
import { sha256Buffer } from '../artifacts/checksum.ts';

const CONFIG = '/etc/haproxy/haproxy.cfg';
/** One round trip: the config's sha256, and whether haproxy is enabled and running. */
const FACTS = `sha256sum ${CONFIG} 2>/dev/null | cut -d' ' -f1; systemctl is-enabled haproxy 2>/dev/null; systemctl is-active haproxy 2>/dev/null; true`;

/** What the step does on one lb node: each part only when the node needs it. */
export interface HaproxyPlan {
  node: Node;
  config: Buffer;
  configChanged: boolean;
  enable: boolean;
  start: boolean;
}

/** Why: pure decision from the facts line, tested with fixtures. */
export function decideHaproxy(node: Node, config: Buffer, factsText: string): HaproxyPlan {
  const [sha = '', enabled = '', active = ''] = factsText.split('\n').map((line) => line.trim());
  const wanted = sha256Buffer(config);
  return { node, config, configChanged: sha !== wanted, enable: enabled !== 'enabled', start: active !== 'active' };
}

function reasons(plan: HaproxyPlan): string[] {
  return [
    ...(plan.configChanged ? [`write ${CONFIG} on ${plan.node.name}`] : []),
    ...(plan.enable ? [`enable haproxy on ${plan.node.name}`] : []),
    ...(plan.configChanged && !plan.start ? [`reload haproxy on ${plan.node.name}`] : []),
    ...(plan.start ? [`start haproxy on ${plan.node.name}`] : []),
  ];
}

async function haproxyPlans(ctx: TaskContext): Promise<HaproxyPlan[]> {
  const lbNodes = ctx.run.inventory.nodes.lb();
  return Promise.all(
    lbNodes.map(async (node) => {
      const config = renderTemplate({ run: ctx.run, node, vars: templateVars(ctx.run, node), task: ctx.task }, { src: 'haproxy.cfg' });
      const transport = await ctx.run.transports.get(node, ctx.signal);
      const facts = await transport.exec(FACTS, { signal: ctx.signal });
      return decideHaproxy(node, config, facts.stdout);
    }),
  );
}

/** For `plan --diff`: what the rendered config changes in the node's current one. */
async function configDiff(ctx: TaskContext, plan: HaproxyPlan): Promise<string> {
  const transport = await ctx.run.transports.get(plan.node, ctx.signal);
  const current = await transport.readFile(CONFIG);
  if (!current) return '';
  return unifiedDiff(current.toString('utf8'), plan.config.toString('utf8'), { before: `${plan.node.name}:${CONFIG}`, after: `${CONFIG} (rendered)` });
}

async function applyHaproxy(ctx: TaskContext, plan: HaproxyPlan): Promise<void> {
  const transport = await ctx.run.transports.get(plan.node, ctx.signal);
  const staged = `${CONFIG}.hardway-new`;
  if (plan.configChanged) {
    await transport.upload(plan.config, staged, { mode: '0644', signal: ctx.signal, planned: { action: 'transfer', reason: 'stage the new config' } });
    const check = await transport.exec(`haproxy -c -f ${staged}`, { check: false, signal: ctx.signal });
    if (check.code !== 0) {
      await transport.exec(`rm -f ${staged}`, { check: false });
      throw new TaskError(`the rendered haproxy.cfg is invalid on ${plan.node.name}: ${check.stderr.trim() || check.stdout.trim()}`, { node: plan.node.name, step: ctx.step, task: ctx.task });
    }
  }
  // The check ran above, on its own, for its message; the rest in one round trip.
  const rest = haproxyCommands(plan, staged).filter((command) => !command.startsWith('haproxy -c'));
  if (rest.length) await transport.exec(rest.join(' && '), { signal: ctx.signal });
}

/** The NLB's part, or haproxy's on every lb node. */
export type LoadBalancerPlan = { kind: 'nlb' } | { kind: 'haproxy'; nodes: HaproxyPlan[] };

/** Why: apply runs these and describe prints them: stage, check with haproxy -c, move into place, then (re)load. */
function haproxyCommands(plan: HaproxyPlan, staged: string): string[] {
  return [
    ...(plan.configChanged ? [`haproxy -c -f ${staged}`, `mv -f ${staged} ${CONFIG}`] : []),
    ...(plan.enable ? ['systemctl enable haproxy'] : []),
    // A new config: reloaded when haproxy runs, started when it does not (one command for both, so a
    // node never read gets the right one); an unchanged config only needs a start when stopped.
    ...(plan.configChanged ? ['systemctl reload-or-restart haproxy'] : plan.start ? ['systemctl start haproxy'] : []),
  ];
}

/** A node never read: the config is written, haproxy enabled and started. */
function freshPlans(ctx: DescribeContext): HaproxyPlan[] {
  return ctx.run.inventory.nodes.lb().map((node) => ({ node, config: renderTemplate({ run: ctx.run, node, vars: templateVars(ctx.run, node) }, { src: 'haproxy.cfg' }), configChanged: true, enable: true, start: true }));
}

/** Why: the load balancer differs by provider; one step, one task, the same idempotency rules. */
export const loadBalancerModule = defineModule({
  name: 'loadbalancer',
  where: 'local',
  summary: 'put the API servers behind the load balancer: haproxy on the lb node, or NLB targets on AWS',
  args: z.strictObject({}),
  async check(ctx): Promise<CheckResult<LoadBalancerPlan>> {
    const type = loadBalancerType(ctx.run.spec);
    if (type === 'none') return { changed: false, reason: 'no load balancer in this cluster' };
    if (type === 'nlb') return { changed: true, probe: true, reason: 'register the controllers as NLB targets and wait until healthy', plan: { kind: 'nlb' } };
    const plans = await haproxyPlans(ctx);
    const lines = plans.flatMap(reasons);
    if (!lines.length) return { changed: false, reason: `haproxy running with the current config on ${plans.map((plan) => plan.node.name).join(', ')}` };
    const diff = (await Promise.all(plans.filter((plan) => plan.configChanged).map((plan) => configDiff(ctx, plan)))).filter(Boolean).join('\n');
    return { changed: true, reason: lines.join(', '), plan: { kind: 'haproxy', nodes: plans }, ...(diff ? { diff } : {}) };
  },
  async apply(ctx, _args, change) {
    if (loadBalancerType(ctx.run.spec) === 'nlb') {
      const provider = await ctx.run.provider();
      if (!provider.registerTargets) throw new TaskError(`the ${provider.name} provider cannot register load balancer targets`, { step: ctx.step, task: ctx.task });
      return provider.registerTargets(providerContext(ctx), ctx.run.inventory.nodes.controllers());
    }
    const plans = change.plan?.kind === 'haproxy' ? change.plan.nodes : await haproxyPlans(ctx);
    for (const plan of plans) await applyHaproxy(ctx, plan);
    return { changed: true, reason: plans.flatMap(reasons).join(', ') };
  },
  describe(ctx, _args, plan) {
    const type = loadBalancerType(ctx.run.spec);
    if (type === 'none') return ['# no load balancer'];
    if (type === 'nlb') {
      return ctx.run.inventory.nodes
        .controllers()
        .map((node) => `aws elbv2 register-targets --target-group-arn "$TARGET_GROUP_ARN" --targets Id=${node.internalIP},Port=6443`);
    }
    const staged = `${CONFIG}.hardway-new`;
    return (plan?.kind === 'haproxy' ? plan.nodes : freshPlans(ctx)).flatMap((node) => [
      onNode(node.node.name),
      ...(node.configChanged ? ['# units/haproxy.cfg rendered for this cluster: every controller on :6443, health checks GET /readyz', writeFileLine(staged, node.config.toString('utf8')), `chmod 0644 ${staged}`] : []),
      ...haproxyCommands(node, staged),
    ]);
  },
});
