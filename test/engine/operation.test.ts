// The one phase runner under provision, rebuild and destroy: order, prepare first, shouldRun asked
// right before a phase, dry runs, and clean-up after a failure.
import { describe, expect, it } from 'vitest';
import { PhaseFailure, runPhases, type OperationPhase } from '../../src/engine/operation.ts';

interface Trace {
  events: string[];
  value: number;
}

const phase = (name: string, extra: Partial<OperationPhase<Trace>> = {}): OperationPhase<Trace> => ({
  name,
  title: `the ${name} phase`,
  prepare: async (ctx) => void ctx.events.push(`prepare ${name}`),
  run: async (ctx) => {
    ctx.events.push(`run ${name}`);
    ctx.value++;
    return `${name} done`;
  },
  ...extra,
});

describe('runPhases', () => {
  it('prepares every phase first, then runs in order those whose shouldRun holds when their turn comes', async () => {
    const ctx: Trace = { events: [], value: 0 };
    const log: string[] = [];
    const reports = await runPhases([phase('a'), phase('b', { shouldRun: (trace) => trace.value === 1 }), phase('c', { shouldRun: (trace) => trace.value === 1 })], ctx, { log: (line) => log.push(line) });
    expect(ctx.events).toEqual(['prepare a', 'prepare b', 'prepare c', 'run a', 'run b']);
    expect(reports.map((report) => [report.phase, report.line])).toEqual([
      ['a', 'a done'],
      ['b', 'b done'],
    ]);
    expect(log[0]).toBe('[1/3] a: the a phase');
    expect(log[1]).toMatch(/^ {4}a done \(\d+\.\ds\)$/);
  });

  it('shows what a phase with dryRun would do instead of running it; the others run', async () => {
    const ctx: Trace = { events: [], value: 0 };
    const shown: string[] = [];
    await runPhases([phase('a', { dryRun: () => ['would a'] }), phase('b')], ctx, { log: () => undefined, dryRun: { show: (lines) => shown.push(...lines) } });
    expect(shown).toEqual(['would a']);
    expect(ctx.events.filter((event) => event.startsWith('run'))).toEqual(['run b']);
  });

  it('cleans up the failed phase and the ones before it, newest first, and names the phase it stopped in', async () => {
    const ctx: Trace = { events: [], value: 0 };
    const cleanUp = (name: string) => async (trace: Trace, error: unknown) => void trace.events.push(`clean ${name} after ${(error as Error).message}`);
    const failing = phase('b', {
      run: async () => {
        throw new Error('boom');
      },
      cleanUp: cleanUp('b'),
    });
    const error = await runPhases([phase('a', { cleanUp: cleanUp('a') }), failing, phase('c', { cleanUp: cleanUp('c') })], ctx, { log: () => undefined }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PhaseFailure);
    expect((error as PhaseFailure).phase).toBe('b');
    expect(((error as PhaseFailure).cause as Error).message).toBe('boom');
    expect((error as PhaseFailure).reports.map((report) => report.phase)).toEqual(['a']);
    expect(ctx.events.slice(3)).toEqual(['run a', 'clean b after boom', 'clean a after boom']);
  });
});
