// Runs the pending phases of a rebuild in order, recording each, and turns a failure or an
// interruption into one message that says where it stopped and that running the command again
// finishes it.
import { HardwayError, TaskError } from '../errors.ts';
import type { RebuildContext } from './context.ts';
import type { EtcdPeer } from './etcdctl.ts';
import { PHASE_RUNNERS, type PhaseInput } from './phases.ts';
import { PhaseFailure, runPhases, type OperationPhase, type PhaseReport } from '../engine/operation.ts';
import { beginOperation, finishOperation, PHASE_TITLES, pendingPhases, plannedPhases, readOperation, type LoadBalancerKind, type Phase, type RebuildOperation } from './operation.ts';
import { readEtcdView } from './preflight.ts';

export type { PhaseReport } from '../engine/operation.ts';

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

/** A rebuild phase as the engine's phase runs it: its runner updates the operation record. */
function operationPhase(phase: Phase): OperationPhase<PhaseInput> {
  return {
    name: phase,
    title: PHASE_TITLES[phase],
    async run(input) {
      const outcome = await PHASE_RUNNERS[phase](input);
      input.operation = outcome.operation;
      return outcome.line;
    },
  };
}

/** Why: one loop for every provider and role (the engine's runPhases); phases decide from real state, so a re-run resumes. */
export async function runRebuild(ctx: RebuildContext, phases: readonly Phase[], firstPeer?: EtcdPeer): Promise<RebuildResult> {
  const started = performance.now();
  const previous = readOperation(ctx.state);
  const resumed = previous?.node === ctx.node.name && previous.done.length > 0;
  let peer = firstPeer;
  const input: PhaseInput = { ctx, operation: await beginOperation(ctx.state, ctx.node.name), peer: async () => (peer ??= (await readEtcdView(ctx)).peer) };
  let reports: PhaseReport[];
  try {
    reports = await runPhases(phases.map(operationPhase), input, { log: ctx.log });
  } catch (error) {
    if (!(error instanceof PhaseFailure)) throw error;
    throw stoppedIn(ctx, error.phase as Phase, readOperation(ctx.state) ?? input.operation, error.cause);
  }
  const finished = readOperation(ctx.state) ?? input.operation;
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
