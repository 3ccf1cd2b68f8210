// `hardway kubeconfig [--user admin] [--out FILE]`: a kubeconfig for kubectl that points at the
// load balancer endpoint, with the user's certificate embedded. Printed, or written 0600.
import { resolve } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { HardwayError, UsageError } from '../errors.ts';
import { checkKubeconfigSources, renderKubeconfig } from '../pki/kubeconfig.ts';
import { displayPath, pkiFiles, readOptional } from '../pki/store.ts';
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
    .option('--out <file>', 'write it here (mode 0600) instead of printing it', outPath)
    .addHelpText('after', '\nExamples:\n  hardway kubeconfig --out ~/.kube/hardway && kubectl --kubeconfig ~/.kube/hardway get --raw /healthz\n  hardway kubeconfig > admin.kubeconfig')
    .action(async (flags: { user: string; out?: string }, command: Command) => {
      const options = globalOptions(command);
      const cluster = await openCluster(options, io);
      const user = Object.hasOwn(USERS, flags.user) ? USERS[flags.user] : undefined;
      if (!user) throw new UsageError(`no certificate for user ${JSON.stringify(flags.user.slice(0, 64))}; users: ${Object.keys(USERS).join(', ')}`);
      if (!cluster.inventory.endpoint.host) throw new HardwayError("the API endpoint (the NLB's DNS name) is not known yet", { exitCode: 1, hint: 'Run the infra step first: hardway provision --step infra.' });
      const read = async (file: string) => {
        const text = await readOptional(cluster.clusterDir, file);
        if (text === undefined) throw new HardwayError(`cannot read ${displayPath(cluster.clusterDir, file)}: no such file`, { exitCode: 1, where: { file }, hint: 'The pki step makes it: hardway provision --step pki.' });
        return text;
      };
      const caFile = pkiFiles.cert('ca');
      const certFile = pkiFiles.cert(user.cert);
      const keyFile = pkiFiles.key(user.cert);
      const [caPem, certPem, keyPem] = [await read(caFile), await read(certFile), await read(keyFile)];
      const shown = (file: string) => displayPath(cluster.clusterDir, file);
      const hint = 'Fix or remove it and run `hardway provision --step pki` (or `hardway pki renew admin`) to issue it again.';
      checkKubeconfigSources({ ca: { file: shown(caFile), pem: caPem }, cert: { file: shown(certFile), pem: certPem }, key: { file: shown(keyFile), pem: keyPem } }, hint);
      const text = renderKubeconfig({
        cluster: cluster.spec.name,
        server: `https://${cluster.inventory.endpoint.host}:${cluster.inventory.endpoint.port}`,
        user: user.user,
        caPem,
        certPem,
        keyPem,
      });
      if (!flags.out) {
        io.stdout(text);
        return;
      }
      // Never replaces a directory, FIFO, device or link (`--out /dev/stdout` as root stays a device).
      await writeFileAtomic(resolve(flags.out), text, { mode: 0o600, display: flags.out });
      io.stderr(`wrote ${flags.out} (user ${user.user}, server https://${cluster.inventory.endpoint.host}:${cluster.inventory.endpoint.port})\n`);
    });
}

/** Why: `--out ""` must be an error, not a file named after the current directory. */
function outPath(value: string): string {
  if (!value.trim()) throw new CommanderError(2, 'hardway.invalidArgument', '--out needs a file path, got ""');
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new CommanderError(2, 'hardway.invalidArgument', '--out: the path contains a newline or other control character');
  return value;
}
