// `service: { name, enabled, state }`: a systemd unit enabled and started, stopped, or restarted.
//
// Starting: `systemctl --no-block start` and then polling the unit, never a blocking start. A
// Type=notify etcd member stays "activating" until a quorum of members is up; a blocking start on
// the first member would wait for the others, which the engine starts only after this task. The poll
// fails fast on a unit that failed (with its journal), accepts "active", and after a short settle
// time accepts "still activating": the step's wait task then checks real health.
//
// daemon-reload runs only when a unit file changed in this run (scratch.changedUnits, noted by copy
// and template) or systemd reports NeedDaemonReload. `restarted` (handlers) is skipped when this run
// started the unit from stopped: it already runs with the new files.
import { TaskError } from '../errors.ts';
import { tailLines } from '../transport/errors.ts';
import { sleep } from '../transport/retry.ts';
import { shellQuote } from '../transport/shell.ts';
import type { Transport } from '../transport/transport.ts';
import type { CheckResult } from './module.ts';
import { defineModule } from './module.ts';
import { readFact, requireNode } from './remote-support.ts';
import { decideService, freshServicePlan, parseServiceFacts, serviceArgs, serviceCommands, serviceFactsCommand, settleVerdict, unitName, type ServiceFacts, type ServicePlan } from './service-decision.ts';

/** How long a start may stay "activating" before the task moves on (the wait task checks health). */
const SETTLE_MS = 10_000;
/**
 * How long a unit may take to finish stopping before its queued start runs: a real
 * kube-apiserver has been seen taking more than 15 s to exit after SIGTERM (ENVIRONMENT.md).
 */
const STOPPING_MS = 120_000;
const POLL_MS = 250;

async function readFacts(transport: Transport, unit: string, signal: AbortSignal): Promise<ServiceFacts> {
  return parseServiceFacts((await transport.exec(serviceFactsCommand(unit), { signal })).stdout);
}

/** Why: etcd and the control plane run as systemd units; restarts happen only when something changed. */
export const serviceModule = defineModule({
  name: 'service',
  where: 'remote',
  summary: 'Enable, start, stop, restart or reload a systemd unit (daemon-reload only when a unit changed)',
  args: serviceArgs,
  async reads(_ctx, args) {
    return [serviceFactsCommand(unitName(args.name))];
  },
  async check(ctx, args): Promise<CheckResult<ServicePlan>> {
    const node = requireNode(ctx);
    const unit = unitName(args.name);
    const facts = parseServiceFacts(await readFact(ctx, serviceFactsCommand(unit)));
    let result: CheckResult<ServicePlan>;
    try {
      result = decideService(facts, args, { changedUnits: [...ctx.scratch.changedUnits].sort(), startedThisRun: ctx.scratch.startedServices.has(unit) });
    } catch (error) {
      throw new TaskError((error as Error).message, { node: node.name, step: ctx.step, task: ctx.task });
    }
    // A dry run applies nothing: keep the run's notes as apply would, so later tasks (a restart
    // handler after a start, a second daemon-reload) are shown as a run would do them.
    if (ctx.run.options.dryRun && result.changed && result.plan) {
      const plan = result.plan;
      if (plan.daemonReload) ctx.scratch.changedUnits.clear();
      if (plan.action === 'start') ctx.scratch.startedServices.add(plan.unit);
    }
    return result;
  },
  async apply(ctx, args, change) {
    const node = requireNode(ctx);
    const plan = change.plan ?? freshServicePlan(args);
    const transport = await ctx.connect();
    const q = shellQuote(plan.unit);
    const commands = serviceCommands(plan);
    const startOrRestart = plan.action === 'start' || plan.action === 'restart' ? commands.pop() : undefined;
    if (commands.length) await transport.exec(commands.join(' && '), { signal: ctx.signal });
    if (plan.daemonReload) ctx.scratch.changedUnits.clear();
    if (!startOrRestart) return;

    const before = await readFacts(transport, plan.unit, ctx.signal);
    await transport.exec(startOrRestart, { signal: ctx.signal });
    if (plan.action === 'start') ctx.scratch.startedServices.add(plan.unit);
    const started = performance.now();
    let deadline = started + SETTLE_MS;
    for (;;) {
      const now = await readFacts(transport, plan.unit, ctx.signal);
      // Still stopping the old process: the settle time starts once it is gone (bounded).
      if (now.ActiveState === 'deactivating' && performance.now() - started < STOPPING_MS) deadline = Math.max(deadline, performance.now() + SETTLE_MS);
      const verdict = settleVerdict(before, now, performance.now() >= deadline);
      if (verdict.done && verdict.ok) return { changed: true, reason: `${plan.action === 'start' ? 'started' : 'restarted'} ${plan.unit}: ${verdict.reason}` };
      if (verdict.done) {
        const journal = await transport.exec(`journalctl -u ${q} -n 25 --no-pager -o cat`, { check: false, signal: ctx.signal });
        throw new TaskError(`${plan.unit} ${verdict.reason}${journal.stdout.trim() ? `; its journal ends with:\n${tailLines(journal.stdout, 25, 4000)}` : ''}`, { node: node.name, step: ctx.step, task: ctx.task }, {
          hint: `Look at the whole log on the node: hardway ssh ${node.name} -- journalctl -u ${plan.unit} --no-pager`,
        });
      }
      await sleep(POLL_MS, ctx.signal);
    }
  },
  describe(_ctx, args, plan) {
    const wanted = plan ?? freshServicePlan(args);
    // apply then polls the unit for up to SETTLE_MS: a person waits the same way (a start runs
    // --no-block, and an etcd member stays activating until its peers are up).
    const settle = wanted.action === 'start' || wanted.action === 'restart' ? [`timeout ${SETTLE_MS / 1000} sh -c 'until systemctl is-active -q ${shellQuote(unitName(wanted.unit))}; do sleep 0.25; done' || true`] : [];
    return [...serviceCommands(wanted), ...settle];
  },
});
