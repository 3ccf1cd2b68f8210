// `hardway pki inspect [--json]` and `hardway pki renew [NAME...]`: the certificate table with
// expiry warnings, and reissuing leaves from the same CA (never the CAs themselves).
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { applyPkiPlan } from '../pki/apply.ts';
import { loadCa } from '../pki/ca.ts';
import { catalog, selectEntries } from '../pki/catalog.ts';
import { formatInspectTable, inspectPki } from '../pki/inspect.ts';
import { planPki } from '../pki/plan.ts';
import type { PkiEnv } from '../pki/plan-types.ts';
import { pkiFiles } from '../pki/store.ts';
import { globalOptions, openCluster, type CliIO, type LoadedCluster } from './common.ts';

function envOf(cluster: LoadedCluster): PkiEnv {
  return { clusterDir: cluster.clusterDir, spec: cluster.spec, inventory: cluster.inventory, now: new Date() };
}

/** Why: expiry checks and renewals are operator chores that must not need a full provision run. */
export function registerPkiCommand(program: Command, io: CliIO): void {
  const pki = program.command('pki').description('inspect and renew the cluster certificates in pki/');

  pki
    .command('inspect')
    .description('every certificate with CN, O, SANs, issuer, not-after and days left; warns inside the renew window')
    .addHelpText('after', '\nExamples:\n  hardway pki inspect\n  hardway pki inspect --json | jq \'.rows[] | select(.daysLeft < 60)\'')
    .action(async (_options, command: Command) => {
      const options = globalOptions(command);
      const cluster = await openCluster(options, io);
      const report = await inspectPki(envOf(cluster));
      if (options.json) {
        io.stdout(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      io.stdout(formatInspectTable(report));
      for (const warning of report.warnings) io.stderr(`warning: ${warning}\n`);
    });

  pki
    .command('renew')
    .argument('[names...]', 'leaf certificates to reissue (wildcards allowed); all leaves when none')
    .description('reissue leaf certificates from the same CA, with new keys; CAs are never renewed')
    .addHelpText('after', '\nExamples:\n  hardway pki renew kube-apiserver\n  hardway pki renew "etcd-*"\n  hardway pki renew')
    .action(async (names: string[], _options, command: Command) => {
      const options = globalOptions(command);
      const cluster = await openCluster(options, io);
      const entries = catalog(cluster.spec, cluster.inventory);
      const leaves = entries.filter((entry) => entry.kind === 'leaf').map((entry) => entry.name);
      for (const name of names) {
        const matched = selectEntries(entries, [name]);
        if (matched.length === 0) throw new UsageError(`no certificate named "${name}"; leaves are: ${leaves.join(', ')}`);
        const notLeaf = matched.find((entry) => entry.kind !== 'leaf');
        if (notLeaf && matched.length === 1) {
          throw new UsageError(
            notLeaf.kind === 'ca'
              ? `${notLeaf.name} is a CA: hardway never renews a CA (every certificate it signed would have to be replaced)`
              : `${notLeaf.name} is a key pair without expiry: there is nothing to renew`,
            { hint: `Leaves are: ${leaves.join(', ')}` },
          );
        }
      }
      const targets = names.length ? selectEntries(entries, names).filter((entry) => entry.kind === 'leaf').map((entry) => entry.name) : leaves;
      const env = envOf(cluster);
      for (const signer of new Set(entries.filter((entry) => targets.includes(entry.name)).map((entry) => entry.signer!))) {
        if ((await loadCa(env.clusterDir, signer, env.now)).status !== 'present') {
          throw new UsageError(`nothing to renew from: the CA ${pkiFiles.cert(signer)} does not exist yet`, { hint: 'Make the CAs and certificates first: hardway provision --step pki' });
        }
      }
      const plan = await planPki(env, { names: targets, force: new Set(targets) });
      for (const note of plan.notes) io.stderr(`note: ${note}\n`);
      await applyPkiPlan(plan);
      const report = await inspectPki(envOf(cluster));
      for (const row of report.rows.filter((item) => targets.includes(item.name))) {
        io.stdout(`renewed ${row.name}: serial ${row.serial}, not after ${row.notAfter?.slice(0, 10)}\n`);
      }
      io.stdout('Install them on the nodes: hardway provision --step kubeconfigs --step etcd --step control-plane\n');
    });
}
