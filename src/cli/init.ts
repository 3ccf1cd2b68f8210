// `hardway init [dir] --provider lab|aws|static`: a commented, valid cluster.yaml to start from,
// copied from examples/<provider>/cluster.yaml (one source for both), and a .gitignore for keys.
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.ts';
import { projectRoot, type CliIO } from './common.ts';

/** Keeps private keys, secrets and run state out of git. */
export const CLUSTER_GITIGNORE = `# written by hardway init: private keys and secrets stay out of git
pki/*-key.pem
ssh/
kubeconfigs/
encryption-config.yaml
.hardway/
`;

export function registerInitCommand(program: Command, io: CliIO): void {
  program
    .command('init')
    .description('write a commented cluster.yaml for a provider')
    .argument('[dir]', 'the cluster directory', '.')
    .addOption(new Option('--provider <provider>', 'where the machines come from').choices(['lab', 'aws', 'static']).default('lab'))
    .option('--name <name>', 'the cluster name (default: the directory name, or "hardway")')
    .option('--force', 'overwrite an existing cluster.yaml', false)
    .addHelpText('after', '\nExample:\n  hardway init demo --provider lab && sudo hardway up -c demo/cluster.yaml')
    .action(async (dir: string, options: { provider: string; name?: string; force: boolean }) => {
      const clusterDir = resolve(dir);
      const target = join(clusterDir, 'cluster.yaml');
      if (!options.force && (await exists(target))) throw new UsageError(`${target} exists; pass --force to overwrite it`);
      const name = options.name ?? defaultName(clusterDir);
      if (!/^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$/.test(name)) {
        throw new UsageError(`cluster name "${name}" must be a DNS-1123 label of at most 20 characters; pass --name`);
      }
      const example = await readFile(join(projectRoot, 'examples', options.provider, 'cluster.yaml'), 'utf8');
      await mkdir(clusterDir, { recursive: true, mode: 0o700 });
      await writeFile(target, example.replace(/^name: .*$/m, `name: ${name}`), { mode: 0o644 });
      const gitignore = join(clusterDir, '.gitignore');
      if (!(await exists(gitignore))) await writeFile(gitignore, CLUSTER_GITIGNORE);
      io.stdout(`wrote ${target} (provider ${options.provider}, cluster ${name})\nnext: hardway validate -c ${join(dir, 'cluster.yaml')}\n`);
    });
}

function defaultName(clusterDir: string): string {
  const base = basename(clusterDir).toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 20);
  return /^[a-z0-9]/.test(base) ? base.replace(/-+$/, '') : 'hardway';
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
