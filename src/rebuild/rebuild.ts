// Runs the pending phases of a rebuild in order, recording each, and turns a failure or an
// interruption into one message that says where it stopped and that running the command again
// finishes it.
import { HardwayError, TaskError } from '../errors.ts';
import type { RebuildContext } from './context.ts';
import type { EtcdPeer } from './etcdctl.ts';
import { PHASE_RUNNERS } from './phases.ts';
import { beginOperation, finishOperation, PHASE_TITLES, pendingPhases, plannedPhases, readOperation, type LoadBalancerKind, type Phase, type RebuildOperation } from './operation.ts';
import { readEtcdView } from './preflight.ts';

/** One finished phase, for the summary, --json and the benchmark. */
export interface PhaseReport {
  phase: Phase;
  line: string;
  durationMs: number;
}

/** What a finished rebuild reports. */
export interface RebuildResult {
  node: string;
  /** True when an interrupted rebuild was continued. */
  resumed: boolean;
  phases: PhaseReport[];
  oldMemberId?: string;
  newMemberId?: string;
  durationMs: number;
}

/** Why: the CLI shows the same plan it will run. */
export function phasesToRun(ctx: Pick<RebuildContext, 'node' | 'state'>, loadBalancer: LoadBalancerKind): Phase[] {
  const operation = readOperation(ctx.state);
  return pendingPhases(plannedPhases(ctx.node.roles, loadBalancer), operation?.node === ctx.node.name ? operation : undefined);
}

/** Why: one loop for every provider and role; phases decide from real state, so a re-run resumes. */
export async function runRebuild(ctx: RebuildContext, phases: readonly Phase[], firstPeer?: EtcdPeer): Promise<RebuildResult> {
  const started = performance.now();
  const previous = readOperation(ctx.state);
  const resumed = previous?.node === ctx.node.name && previous.done.length > 0;
  let operation: RebuildOperation = await beginOperation(ctx.state, ctx.node.name);
  let peer = firstPeer;
  const peerOf = async () => (peer ??= (await readEtcdView(ctx)).peer);
  const reports: PhaseReport[] = [];
  for (const [index, phase] of phases.entries()) {
    ctx.log(`[${index + 1}/${phases.length}] ${phase}: ${PHASE_TITLES[phase]}`);
    const phaseStarted = performance.now();
    try {
      const outcome = await PHASE_RUNNERS[phase]({ ctx, operation, peer: peerOf });
      operation = outcome.operation;
      const durationMs = performance.now() - phaseStarted;
      reports.push({ phase, line: outcome.line, durationMs });
      ctx.log(`    ${outcome.line} (${(durationMs / 1000).toFixed(1)}s)`);
    } catch (error) {
      throw stoppedIn(ctx, phase, readOperation(ctx.state) ?? operation, error);
    }
  }
  const finished = readOperation(ctx.state) ?? operation;
  await finishOperation(ctx.state);
  return { node: ctx.node.name, resumed, phases: reports, oldMemberId: finished.oldMemberId, newMemberId: finished.newMemberId, durationMs: performance.now() - started };
}

function stoppedIn(ctx: RebuildContext, phase: Phase, operation: RebuildOperation, error: unknown): HardwayError {
  const done = operation.done.length ? `done so far: ${operation.done.join(', ')}` : 'nothing was changed yet';
  const again = `Run \`hardway rebuild ${ctx.node.name}\` again to finish it (${done}).`;
  if (ctx.signal.aborted) return new TaskError(`the rebuild of ${ctx.node.name} was interrupted in phase ${phase}`, { node: ctx.node.name }, { hint: again, cause: error });
  const message = error instanceof Error ? error.message : String(error);
  const inner = error instanceof HardwayError ? error.hint : undefined;
  return new TaskError(`the rebuild of ${ctx.node.name} stopped in phase ${phase}: ${message}`, { node: ctx.node.name }, { hint: inner ? `${inner}\n${again}` : again, cause: error });
}
