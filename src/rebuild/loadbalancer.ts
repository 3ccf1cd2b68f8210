// A controller leaves the load balancer before its machine goes and comes back only after the
// verify step passed: NLB targets are deregistered (awaited until drained) and registered again
// (awaited until healthy); haproxy servers are disabled, drained, and enabled through the runtime API.
import { TaskError } from '../errors.ts';
import { type Node } from '../inventory/node.ts';
import { loadBalancerType } from '../spec/schema.ts';
import { currentInventory, providerContextOf, type RebuildContext } from './context.ts';
import { HAPROXY_BACKEND, haproxyAdminCommand, parseShowStat, serverStat, type ServerStat } from './haproxy-admin.ts';
import type { Problem } from './quorum.ts';
import { pollOr } from '../util/poll.ts';

const DRAIN_MS = 30_000;
const UP_MS = 60_000;

function lbNodes(ctx: RebuildContext): Node[] {
  return currentInventory(ctx).nodes.lb().filter((node) => node.name !== ctx.node.name);
}

async function admin(ctx: RebuildContext, lb: Node, command: string): Promise<string> {
  const transport = await ctx.peers.get(lb, ctx.signal);
  const result = await transport.exec(haproxyAdminCommand(command), { check: false, signal: ctx.signal, timeoutMs: 20_000 });
  const answer = result.stdout.trim();
  if (result.code !== 0 || /^(No such|Unknown|Require|Permission denied)/im.test(answer)) {
    throw new TaskError(`haproxy on ${lb.name} refused "${command}": ${answer || result.stderr.trim() || `exit code ${result.code}`}`, { node: lb.name }, {
      hint: 'The loadbalancer step writes the config hardway expects: hardway provision --step loadbalancer.',
    });
  }
  return result.stdout;
}

async function stats(ctx: RebuildContext, lb: Node): Promise<ServerStat[]> {
  return parseShowStat(await admin(ctx, lb, 'show stat'));
}

async function requireServer(ctx: RebuildContext, lb: Node): Promise<ServerStat> {
  const stat = serverStat(await stats(ctx, lb), ctx.node.name);
  if (!stat) {
    throw new TaskError(`haproxy on ${lb.name} has no server ${HAPROXY_BACKEND}/${ctx.node.name}`, { node: lb.name }, { hint: 'Run hardway provision --step loadbalancer, then the rebuild again.' });
  }
  return stat;
}

async function waitFor(ctx: RebuildContext, lb: Node, boundMs: number, done: (stat: ServerStat) => boolean): Promise<ServerStat> {
  let last!: ServerStat;
  // Past the bound the caller judges the last answer itself.
  return pollOr(
    async () => {
      last = await requireServer(ctx, lb);
      return done(last) ? last : undefined;
    },
    { timeoutMs: boundMs, intervalMs: 250, signal: ctx.signal },
    () => last,
  );
}

/** Why: refuse to take the only serving apiserver out of the rotation (the API would go away). */
export async function loadBalancerProblems(ctx: RebuildContext): Promise<Problem[]> {
  if (!ctx.node.roles.includes('controller') || loadBalancerType(ctx.spec) !== 'haproxy') return [];
  const problems: Problem[] = [];
  for (const lb of lbNodes(ctx)) {
    const servers = (await stats(ctx, lb)).filter((stat) => stat.proxy === HAPROXY_BACKEND && !['FRONTEND', 'BACKEND'].includes(stat.server));
    if (!servers.some((stat) => stat.server === ctx.node.name)) continue;
    const others = servers.filter((stat) => stat.server !== ctx.node.name && stat.status.startsWith('UP'));
    if (!others.length) problems.push({ kind: 'unhealthy', message: `no other apiserver is UP in haproxy on ${lb.name}: the API would be unavailable during the rebuild` });
  }
  return problems;
}

/** Why: clients must stop reaching the apiserver before its machine goes. Idempotent. */
export async function takeOutOfLoadBalancer(ctx: RebuildContext): Promise<string> {
  const type = loadBalancerType(ctx.spec);
  if (type === 'nlb') {
    if (!ctx.provider.deregisterTargets) throw new TaskError(`the ${ctx.provider.name} provider cannot deregister load balancer targets`, { node: ctx.node.name });
    await ctx.provider.deregisterTargets(providerContextOf(ctx), [ctx.node]);
    return `deregistered ${ctx.node.name} from the NLB target group (drained)`;
  }
  if (type !== 'haproxy') return 'no load balancer';
  const lines: string[] = [];
  for (const lb of lbNodes(ctx)) {
    const server = `${HAPROXY_BACKEND}/${ctx.node.name}`;
    await requireServer(ctx, lb);
    await admin(ctx, lb, `disable server ${server}`);
    const stat = await waitFor(ctx, lb, DRAIN_MS, (current) => current.status.startsWith('MAINT') && current.sessions === 0);
    if (stat.sessions > 0) {
      await admin(ctx, lb, `shutdown sessions server ${server}`);
      lines.push(`disabled ${server} on ${lb.name}; closed ${stat.sessions} session(s) still open after ${DRAIN_MS / 1000} s`);
    } else {
      lines.push(`disabled ${server} on ${lb.name} (drained)`);
    }
  }
  return lines.join('; ');
}

/** Why: the rebuilt apiserver takes traffic again only after verify passed. Idempotent. */
export async function putBackIntoLoadBalancer(ctx: RebuildContext): Promise<string> {
  const type = loadBalancerType(ctx.spec);
  if (type === 'nlb') {
    if (!ctx.provider.registerTargets) throw new TaskError(`the ${ctx.provider.name} provider cannot register load balancer targets`, { node: ctx.node.name });
    const result = await ctx.provider.registerTargets(providerContextOf(ctx), [ctx.node]);
    return result.reason;
  }
  if (type !== 'haproxy') return 'no load balancer';
  const lines: string[] = [];
  for (const lb of lbNodes(ctx)) {
    const server = `${HAPROXY_BACKEND}/${ctx.node.name}`;
    await admin(ctx, lb, `enable server ${server}`);
    // Plain UP: haproxy's own health check passed since (`UP 1/2` is still on probation).
    const stat = await waitFor(ctx, lb, UP_MS, (current) => current.status === 'UP');
    if (stat.status !== 'UP') {
      throw new TaskError(`haproxy on ${lb.name} reports ${server} ${stat.status} ${UP_MS / 1000} s after enabling it`, { node: lb.name }, {
        hint: `Check the apiserver on ${ctx.node.name} (hardway ssh ${ctx.node.name} -- systemctl status kube-apiserver), then run the rebuild again.`,
      });
    }
    lines.push(`enabled ${server} on ${lb.name} (${stat.status})`);
  }
  return lines.join('; ');
}
