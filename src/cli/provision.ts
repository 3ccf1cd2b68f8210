// `hardway provision` and `hardway up`: select steps, refuse missing prerequisites, take the
// cluster lock, run the step graph, print the recap (or JSON) and record results in the state.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AlreadyReported, SpecError, UsageError } from '../errors.ts';
import { versionSkewProblems, type DeployedVersions } from '../spec/version-skew.ts';
import { acquireLock } from '../engine/lock.ts';
import { formatRecap, reportJson, runExitCode } from '../engine/recap.ts';
import { PhaseFailure, runPhases, type OperationPhase } from '../engine/operation.ts';
import { chooseRenderer, runSteps, type RunReport } from '../engine/runner.ts';
import { describeMissing, selectSteps, type Selection } from '../engine/select.ts';
import { globalOptions, openCluster, type CliIO, type GlobalOptions } from './common.ts';
import { runContext } from './run-context.ts';
import { describeDropped, describeEtcdScale, drainDropped, joinNewMembers, pendingEtcdScale, pendingMachineScale, removeDropped, removeDroppedMembers, type ScaleInput } from './scale.ts';
import type { EtcdScaleChanges } from '../scale/etcd.ts';
import type { DroppedMachines } from '../scale/machines.ts';
import { addSelectionOptions, selectionOptions, type SelectionFlags } from './selection.ts';
import { loadStepGraph } from './steps.ts';
import type { TranscriptSink } from '../modules/module.ts';
import { createTranscript } from './transcript.ts';

interface RunFlags {
  dryRun: boolean;
  transcript?: string;
  artifactsDir?: string;
  /** A command made of several runs (restore) collects them all in one transcript, written by it. */
  transcriptSink?: TranscriptSink;
}

function addRunOptions(command: Command): Command {
  return command
    .option('--dry-run', 'check every task and report what would change; change nothing', false)
    .option('--transcript <file>', 'write a bash script of what the run did (or would do)')
    .option('--artifacts-dir <dir>', 'take binaries from this directory (with SHA256SUMS) instead of downloading');
}

export function registerProvisionCommands(program: Command, io: CliIO): void {
  const provision = program.command('provision').description('run the step graph: every step, or those selected');
  addRunOptions(addSelectionOptions(provision))
    .addHelpText('after', '\nExamples:\n  hardway provision --step etcd\n  hardway provision --step etcd --nodes etcd-1\n  hardway provision --from control-plane --dry-run')
    .action(async (flags: SelectionFlags & RunFlags, command: Command) => {
      await provisionAction(globalOptions(command), selectionOptions(flags), flags, io, 'provision');
    });

  const up = program.command('up').description('build the whole cluster: provision with every step');
  addRunOptions(up)
    .addHelpText('after', '\nExample:\n  sudo hardway up -c examples/lab/cluster.yaml --artifacts-dir /var/cache/hardway/artifacts')
    .action(async (flags: RunFlags, command: Command) => {
      await provisionAction(globalOptions(command), {}, flags, io, 'up');
    });
}

/** Why: provision, up and rebuild share one path from selection to recap. */
export async function provisionAction(options: GlobalOptions, selection: Selection, flags: RunFlags, io: CliIO, commandName: string): Promise<void> {
  const cluster = await openCluster(options, io);
  const wanted = { kubernetes: cluster.spec.versions.kubernetes, etcd: cluster.spec.versions.etcd };
  const skew = versionSkewProblems(cluster.state.data.operations.deployedVersions as DeployedVersions | undefined, wanted);
  if (skew.length) throw new SpecError(`refusing to change the cluster's versions:\n${skew.map((problem) => `  - ${problem}`).join('\n')}`, { file: cluster.specFile, field: 'versions' });
  const steps = await loadStepGraph();
  const nodes = cluster.inventory.nodes;
  const selected = selectSteps(steps, nodes, selection, (step, node) => cluster.state.stepRecord(step, node)?.status === 'done');
  if (selected.missing.length) throw new UsageError(describeMissing(selected.missing));
  if (!selected.steps.length) throw new UsageError('no step selected');

  const lock = await acquireLock(cluster.clusterDir, `hardway ${commandName}`);
  if (lock.recovered) io.stderr(`note: took over a stale lock of pid ${lock.recovered.pid} (${lock.recovered.command}, ${lock.recovered.startedAt})\n`);
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error('interrupted'));
  // `on`, not `once`: a second signal must not fall through to the default handler and kill the
  // run before it releases the lock and prints the recap.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const transcript = flags.transcriptSink ? undefined : flags.transcript ? createTranscript(cluster, flags.dryRun) : undefined;
  const run = runContext({
    cluster,
    modules: steps.modules,
    options: {
      dryRun: flags.dryRun,
      verbose: options.verbose,
      concurrency: options.concurrency,
      artifactsDir: flags.artifactsDir ?? cluster.state.data.artifactsDir,
      nodeFilter: selection.nodes ? [...selection.nodes] : undefined,
    },
    signal: abort.signal,
    transcript: flags.transcriptSink ?? transcript,
    log: (line) => options.verbose && io.stderr(`${line}\n`),
    planNewMachines: true,
  });
  try {
    const renderer = chooseRenderer({ json: options.json, verbose: options.verbose, isTTY: io.isTTY, ci: Boolean(io.env.CI) });
    // The spec's etcd count changed: members join before the run and leave after it (src/cli/scale.ts).
    // Controllers and workers the spec dropped leave around a run that takes them out of the load
    // balancer and the routes: a whole one, no step or node selected (src/scale/machines.ts).
    const fullRun = !flags.dryRun && !selection.nodes && !selection.steps?.length && !selection.from;
    const provision: ProvisionRun = {
      scaleInput: { cluster, run, steps, renderer, provider: run.provider, log: (line: string) => (options.json ? io.stderr : io.stdout)(`${line}\n`), reports: [] as RunReport[] },
      scale: !flags.dryRun && !selection.nodes && selected.steps.some((step) => step.playbook.step === 'etcd') ? pendingEtcdScale(cluster) : undefined,
      dropped: fullRun ? pendingMachineScale(cluster) : undefined,
      wouldScale: flags.dryRun && !options.json ? pendingEtcdScale(cluster) : undefined,
      wouldDrop: flags.dryRun && !options.json ? pendingMachineScale(cluster) : undefined,
      runSteps: () => runSteps(run, selected.steps, renderer),
    };
    await runPhases(PROVISION_PHASES, provision, {
      log: (line) => options.verbose && io.stderr(`${line}\n`),
      ...(flags.dryRun ? { dryRun: { show: (lines) => lines.forEach((line) => io.stdout(`${line}\n`)) } } : {}),
    }).catch((error: unknown) => {
      throw error instanceof PhaseFailure ? error.cause : error;
    });
    const report = provision.report!;
    if (transcript && flags.transcript) await transcript.write(flags.transcript);
    io.stdout(options.json ? `${JSON.stringify(reportJson(report), null, 2)}\n` : formatRecap(report));
    // Remembered, so a later run (or a rebuild) takes the binaries from the same place.
    if (flags.artifactsDir && !flags.dryRun && flags.artifactsDir !== cluster.state.data.artifactsDir) {
      const artifactsDir = resolve(flags.artifactsDir);
      await cluster.state.update((draft) => {
        draft.artifactsDir = artifactsDir;
      });
    }
    if (!report.ok) throw new AlreadyReported(runExitCode(report));
    // The versions every node now runs: the next change of `versions` is checked against them.
    if (!flags.dryRun && !selection.nodes && selected.steps.some((step) => step.playbook.step === 'binaries')) {
      await cluster.state.update((draft) => {
        draft.operations.deployedVersions = wanted;
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await run.close();
    await lock.release();
  }
}

/** What provision's phases share: the scaling around the run, and the run's report once it is made. */
interface ProvisionRun {
  scaleInput: ScaleInput;
  /** etcd members to add before the run and remove after it. */
  scale?: EtcdScaleChanges;
  /** Controllers and workers the spec no longer lists. */
  dropped?: DroppedMachines;
  /** What a dry run says it would scale. */
  wouldScale?: EtcdScaleChanges;
  wouldDrop?: DroppedMachines;
  runSteps: () => Promise<RunReport>;
  report?: RunReport;
}

/** Why: provision's order as data, run by the engine's phase runner as rebuild and destroy are: scale around the step graph. */
const PROVISION_PHASES: readonly OperationPhase<ProvisionRun>[] = [
  {
    name: 'join-members',
    title: 'add the etcd members the spec gained, one at a time',
    shouldRun: (ctx) => Boolean(ctx.scale ?? ctx.wouldScale),
    dryRun: (ctx) => (ctx.wouldScale ? describeEtcdScale(ctx.wouldScale).map((line) => `would ${line}`) : []),
    run: async (ctx) => (await joinNewMembers(ctx.scaleInput, ctx.scale!)).join('; ') || 'no member to add',
  },
  {
    name: 'drain-dropped',
    title: 'drain the workers and stop the controllers the spec dropped',
    shouldRun: (ctx) => Boolean(ctx.dropped ?? ctx.wouldDrop),
    dryRun: (ctx) => (ctx.wouldDrop ? describeDropped(ctx.wouldDrop).map((line) => `would ${line}`) : []),
    run: async (ctx) => (await drainDropped(ctx.scaleInput, ctx.dropped!)).join('; ') || 'nothing to drain',
  },
  {
    name: 'steps',
    title: 'run the selected steps on their nodes',
    async run(ctx) {
      ctx.report = await ctx.runSteps();
      return ctx.report.ok ? 'every step ran' : 'a step failed';
    },
  },
  {
    name: 'remove-members',
    title: 'remove the etcd members the spec dropped, once the run succeeded',
    shouldRun: (ctx) => Boolean(ctx.scale && ctx.report?.ok),
    run: async (ctx) => (await removeDroppedMembers(ctx.scaleInput, ctx.scale!)).join('; ') || 'no member to remove',
  },
  {
    name: 'remove-dropped',
    title: 'remove the machines the spec dropped, once the run succeeded',
    shouldRun: (ctx) => Boolean(ctx.dropped && ctx.report?.ok),
    run: async (ctx) => (await removeDropped(ctx.scaleInput, ctx.dropped!)).join('; ') || 'no machine to remove',
  },
];
