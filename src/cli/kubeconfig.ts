// `hardway kubeconfig [--user admin] [--out FILE]`: a kubeconfig for kubectl that points at the
// load balancer endpoint, with the user's certificate embedded. Printed, or written 0600.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { HardwayError, UsageError } from '../errors.ts';
import { renderKubeconfig } from '../pki/kubeconfig.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { globalOptions, openCluster, type CliIO } from './common.ts';

/** Users a person can act as from outside the controllers: their certificate names in pki/. */
const USERS: Record<string, { cert: string; user: string }> = {
  admin: { cert: 'admin', user: 'admin' },
};

export function registerKubeconfigCommand(program: Command, io: CliIO): void {
  program
    .command('kubeconfig')
    .description('a kubeconfig for kubectl pointing at the API endpoint (the load balancer)')
    .option('--user <user>', `whose certificate to embed (${Object.keys(USERS).join(', ')})`, 'admin')
    .option('--out <file>', 'write it here (mode 0600) instead of printing it')
    .addHelpText('after', '\nExamples:\n  hardway kubeconfig --out ~/.kube/hardway && kubectl --kubeconfig ~/.kube/hardway get --raw /healthz\n  hardway kubeconfig > admin.kubeconfig')
    .action(async (flags: { user: string; out?: string }, command: Command) => {
      const options = globalOptions(command);
      const cluster = await openCluster(options, io);
      const user = USERS[flags.user];
      if (!user) throw new UsageError(`no certificate for user "${flags.user}"; users: ${Object.keys(USERS).join(', ')}`);
      if (!cluster.inventory.endpoint.host) throw new HardwayError("the API endpoint (the NLB's DNS name) is not known yet", { exitCode: 1, hint: 'Run the infra step first: hardway provision --step infra.' });
      const read = (name: string) =>
        readFile(join(cluster.clusterDir, 'pki', name), 'utf8').catch((error: NodeJS.ErrnoException) => {
          throw new HardwayError(`cannot read pki/${name} (${error.code ?? error.message})`, { exitCode: 1, hint: 'The pki step makes it: hardway provision --step pki.' });
        });
      const text = renderKubeconfig({
        cluster: cluster.spec.name,
        server: `https://${cluster.inventory.endpoint.host}:${cluster.inventory.endpoint.port}`,
        user: user.user,
        caPem: await read('ca.pem'),
        certPem: await read(`${user.cert}.pem`),
        keyPem: await read(`${user.cert}-key.pem`),
      });
      if (!flags.out) {
        io.stdout(text);
        return;
      }
      await writeFileAtomic(resolve(flags.out), text, { mode: 0o600 });
      io.stderr(`wrote ${flags.out} (user ${user.user}, server https://${cluster.inventory.endpoint.host}:${cluster.inventory.endpoint.port})\n`);
    });
}
