// `hardway destroy [--yes]`: the provider tears down what it created; the state forgets the
// machines. The cluster directory keeps its PKI (a rebuilt cluster can reuse it) unless --purge.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { acquireLock } from '../engine/lock.ts';
import { PhaseFailure, runPhases, type OperationPhase } from '../engine/operation.ts';
import type { Provider, ProviderContext } from '../providers/provider.ts';
import type { TransportPool } from '../transport/transport.ts';
import { deriveInventory } from '../inventory/derive.ts';
import { globalOptions, openCluster, type CliIO } from './common.ts';
import { confirm } from './confirm.ts';
import { createProvider } from '../providers/index.ts';
import { sshKeyPath } from '../spec/paths.ts';
import { createTransportPool } from './transports.ts';

/** Files hardway made in the cluster directory; --purge removes them, cluster.yaml stays. */
export const GENERATED_PATHS = ['pki', 'kubeconfigs', 'encryption-config.yaml', 'known_hosts'];

export function registerDestroyCommand(program: Command, io: CliIO): void {
  program
    .command('destroy')
    .description('tear down what the provider created; keeps pki/ unless --purge')
    .option('--yes', 'do not ask for confirmation', false)
    .option('--purge', 'also remove pki/, kubeconfigs/, encryption-config.yaml, known_hosts, .hardway/ and a generated ssh/ key', false)
    .option('--wipe', 'static provider: remove what hardway installed on the hosts (units, binaries, data, certs)', false)
    .addHelpText('after', '\nExamples:\n  sudo hardway destroy --yes\n  hardway destroy --yes --purge -c examples/aws/cluster.yaml')
    .action(async (flags: { yes: boolean; purge: boolean; wipe: boolean }, command: Command) => {
      const options = globalOptions(command);
      const cluster = await openCluster(options, io);
      if (!flags.yes) await confirm(io, `Destroy every machine of cluster ${cluster.spec.name} (${cluster.spec.provider})${flags.purge ? ' and its PKI' : ''}?`);
      const lock = await acquireLock(cluster.clusterDir, 'hardway destroy');
      // .hardway/ (state, lock) goes only once everything else is gone: a destroy that fails or is
      // refused (not root, no credentials, a host unreachable) must leave the cluster directory as it was.
      let purgeStateDir = false;
      try {
        const provider = await createProvider(cluster.spec);
        const abort = new AbortController();
        const run: DestroyRun = {
          provider,
          context: {
            spec: cluster.spec,
            clusterDir: cluster.clusterDir,
            state: cluster.state,
            inventory: deriveInventory(cluster.spec, cluster.state.data.providerFacts),
            log: (line: string) => io.stderr(`${line}\n`),
            signal: abort.signal,
          },
          flags,
          removed: [],
          transports: () => createTransportPool(cluster, (line) => options.verbose && io.stderr(`${line}\n`)),
        };
        // The engine's phase runner; a failure is reported as itself (its exit code: 2 refused, 3 a prerequisite).
        await runPhases(DESTROY_PHASES, run, { log: (line) => options.verbose && io.stderr(`${line}\n`) }).catch((error: unknown) => {
          throw error instanceof PhaseFailure ? error.cause : error;
        });
        purgeStateDir = flags.purge;
        const { removed } = run;
        if (options.json) io.stdout(`${JSON.stringify({ removed, purged: flags.purge }, null, 2)}\n`);
        else io.stdout(`${removed.map((line) => `removed ${line}`).join('\n')}${removed.length ? '\n' : ''}destroyed cluster ${cluster.spec.name}${flags.purge ? ' and purged its files' : '; pki/ and kubeconfigs/ kept (use --purge to remove them)'}\n`);
      } finally {
        await lock.release();
        if (purgeStateDir) await rm(join(cluster.clusterDir, '.hardway'), { recursive: true, force: true });
      }
    });
}

/** What destroy's phases share. */
interface DestroyRun {
  provider: Provider;
  context: ProviderContext;
  flags: { purge: boolean; wipe: boolean };
  /** What the provider removed, as "kind name" lines. */
  removed: string[];
  /** Connections to static hosts, made only for --wipe. */
  transports: () => TransportPool;
}

/** Why: destroy's order as data: refusals first, then the machines, then what hardway knew of them, then (asked) its files. */
const DESTROY_PHASES: readonly OperationPhase<DestroyRun>[] = [
  {
    name: 'preflight',
    title: 'check that the provider can act (root, packages, credentials)',
    run: async ({ provider, context }) => {
      await provider.preflight(context);
      return `${provider.name} provider ready`;
    },
  },
  {
    name: 'machines',
    title: 'tear down what the provider created (static hosts: only with --wipe)',
    async run(run) {
      // Static hosts outlive the cluster: --wipe cleans them over SSH.
      const transports = run.flags.wipe ? run.transports() : undefined;
      try {
        run.removed = await run.provider.destroy({ ...run.context, transports }, { purge: run.flags.purge, wipe: run.flags.wipe });
      } finally {
        await transports?.closeAll();
      }
      return `removed ${run.removed.length}`;
    },
  },
  {
    name: 'forget',
    title: "forget the steps, facts and addresses of the machines (and, but on static hosts, their host keys)",
    async run({ context }) {
      await context.state.update((draft) => {
        draft.steps = {};
        draft.providerFacts = {};
        delete draft.inventory;
        draft.facts = {};
        delete draft.fileStamps;
        draft.operations = {};
      });
      // The machines are gone, and with them their host keys; static hosts keep theirs.
      if (context.spec.provider !== 'static') await rm(join(context.clusterDir, 'known_hosts'), { force: true });
      return 'state cleared';
    },
  },
  {
    name: 'purge',
    title: 'remove pki/, kubeconfigs/, encryption-config.yaml, known_hosts and a generated ssh/ key',
    shouldRun: ({ flags }) => flags.purge,
    async run({ context }) {
      for (const path of GENERATED_PATHS) await rm(join(context.clusterDir, path), { recursive: true, force: true });
      // The key hardway generated beside cluster.yaml goes too; a key of the user's never does.
      const generatedKeys = join(context.clusterDir, 'ssh');
      if (sshKeyPath(context.spec, context.clusterDir).startsWith(`${generatedKeys}/`)) await rm(generatedKeys, { recursive: true, force: true });
      return 'generated files removed';
    },
  },
];
