// `hardway smoke [--keep]`: Kubernetes the hard way's smoke test against this cluster, each check
// reported; exit 1 naming the failed checks.
import { join } from 'node:path';
import type { Command } from 'commander';
import { TaskError } from '../errors.ts';
import { cleanSmoke, runSmoke } from '../smoke/checks.ts';
import { globalOptions, openCluster, type CliIO } from './common.ts';
import { runContext } from './run-context.ts';
import { loadStepGraph } from './steps.ts';

export function registerSmokeCommand(program: Command, io: CliIO): void {
  program
    .command('smoke')
    .description("run Kubernetes the hard way's smoke tests: encrypted Secrets, a Deployment on the workers, port-forward, logs, exec, a NodePort, pod-to-pod")
    .option('--keep', 'keep the hardway-smoke namespace afterwards (to look at the pods)')
    .addHelpText('after', '\nNeeds kubectl on PATH and the smoke image on the workers (the images step).\n\nExamples:\n  hardway smoke\n  hardway smoke --keep && kubectl --kubeconfig kubeconfigs/admin.kubeconfig -n hardway-smoke get pods -o wide')
    .action(async (options: { keep?: boolean }, command: Command) => {
      const global = globalOptions(command);
      const cluster = await openCluster(global, io);
      const controller = new AbortController();
      const run = runContext({ cluster, modules: (await loadStepGraph()).modules, options: { dryRun: false, verbose: global.verbose ?? false, concurrency: 10 }, signal: controller.signal, log: () => undefined });
      const ctx = {
        run,
        kubeconfig: join(cluster.clusterDir, 'kubeconfigs', 'admin.kubeconfig'),
        signal: controller.signal,
        // With --json, stdout is the JSON alone: the lines as each check ends go to stderr.
        log: (line: string) => (global.json ? io.stderr : io.stdout)(`${line}\n`),
      };
      try {
        const results = await runSmoke(ctx);
        if (!options.keep) await cleanSmoke(ctx).catch(() => io.stderr('note: could not delete the namespace hardway-smoke\n'));
        const failed = results.filter((result) => !result.ok);
        if (global.json) io.stdout(`${JSON.stringify(results, null, 2)}\n`);
        if (failed.length) throw new TaskError(`smoke test failed: ${failed.map((result) => `${result.check} (${result.detail})`).join('; ')}`, { step: 'smoke' });
        if (!global.json) io.stdout(`smoke test passed: ${results.length} checks\n`);
      } finally {
        await run.close();
      }
    });
}
