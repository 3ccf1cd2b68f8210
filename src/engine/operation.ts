// One runner for the operations a command carries out in order: a rebuild's phases, destroy's
// teardown, and provision's step graph (one phase, run by the listr2 engine). Each phase may have
// the optional capabilities k0sctl's phase manager gives its phases: prepare (read before anything
// changes, for every phase first), shouldRun (nothing to do here: done already, not this node's
// role), dryRun (what it would do, for the plan shown before a confirmation) and cleanUp (after it
// or a later phase failed: leave nothing half done that a re-run cannot finish).

/** One phase of an operation over a context the command builds. */
export interface OperationPhase<Ctx> {
  readonly name: string;
  /** What it does, for the plan and the progress lines. */
  readonly title: string;
  prepare?(ctx: Ctx): Promise<void>;
  shouldRun?(ctx: Ctx): boolean | Promise<boolean>;
  /** What it would do, as lines, shown by a dry run instead of running it. */
  dryRun?(ctx: Ctx): string[];
  /** Carries the phase out; returns the line the progress log shows. */
  run(ctx: Ctx): Promise<string>;
  cleanUp?(ctx: Ctx, error: unknown): Promise<void>;
}

/** One finished phase, for the summary, --json and the benchmarks. */
export interface PhaseReport {
  phase: string;
  line: string;
  durationMs: number;
}

/** Why: a failure names the phase it stopped in and carries what finished before it. */
export class PhaseFailure extends Error {
  readonly phase: string;
  readonly reports: readonly PhaseReport[];

  constructor(phase: string, reports: readonly PhaseReport[], options: { cause: unknown }) {
    super(`stopped in phase ${phase}: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
    this.name = 'PhaseFailure';
    this.phase = phase;
    this.reports = reports;
  }
}

/** How the run goes and how its progress is shown. */
export interface OperationOptions {
  log: (line: string) => void;
  /** A dry run: a phase with dryRun() shows what it would do instead of running; the others run (they honour the dry run themselves, as the step engine does). */
  dryRun?: { show: (lines: readonly string[]) => void };
}

/**
 * Why: rebuild, destroy and provision run their phases one way: every prepare first, then in
 * order each phase whose shouldRun holds (asked right before it, so it sees what the phases before
 * it did), timed and logged; a failure is cleaned up (the failed phase first, then the ones before
 * it, newest first) and reported as the phase it stopped in.
 */
export async function runPhases<Ctx>(phases: readonly OperationPhase<Ctx>[], ctx: Ctx, options: OperationOptions): Promise<PhaseReport[]> {
  for (const phase of phases) await phase.prepare?.(ctx);
  const reports: PhaseReport[] = [];
  const ran: OperationPhase<Ctx>[] = [];
  for (const [index, phase] of phases.entries()) {
    if (phase.shouldRun && !(await phase.shouldRun(ctx))) continue;
    if (options.dryRun && phase.dryRun) {
      options.dryRun.show(phase.dryRun(ctx));
      continue;
    }
    options.log(`[${index + 1}/${phases.length}] ${phase.name}: ${phase.title}`);
    const started = performance.now();
    ran.push(phase);
    try {
      const line = await phase.run(ctx);
      const durationMs = performance.now() - started;
      reports.push({ phase: phase.name, line, durationMs });
      options.log(`    ${line} (${(durationMs / 1000).toFixed(1)}s)`);
    } catch (error) {
      for (const done of ran.reverse()) {
        await done.cleanUp?.(ctx, error).catch((cleanUpError: unknown) => options.log(`    clean-up of ${done.name} failed: ${cleanUpError instanceof Error ? cleanUpError.message : String(cleanUpError)}`));
      }
      throw new PhaseFailure(phase.name, reports, { cause: error });
    }
  }
  return reports;
}
