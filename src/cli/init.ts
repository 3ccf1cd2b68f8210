// `hardway init [dir] --provider lab|aws|static`: a commented, valid cluster.yaml to start from,
// copied from examples/<provider>/cluster.yaml (one source for both), and a .gitignore for keys.
import { lstat, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { FileError, UsageError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { describeKind, fileErrorFrom } from '../util/local-file.ts';
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
      if (!dir.trim() || /[\u0000-\u001f\u007f]/.test(dir)) throw new UsageError(`the cluster directory ${JSON.stringify(dir)} is empty or contains control characters; name a directory`);
      const clusterDir = resolve(dir);
      const target = join(clusterDir, 'cluster.yaml');
      // Everything is checked before anything is written: a refused init leaves no trace.
      const dirKind = await kindOf(clusterDir, true);
      if (dirKind && !dirKind.isDirectory()) throw new FileError(`${clusterDir} is ${describeKind(dirKind)}, not a directory`, clusterDir, { hint: 'Name a new or existing directory for the cluster.' });
      const targetKind = await kindOf(target);
      if (targetKind && !options.force) throw new UsageError(`${target} exists; pass --force to overwrite it`);
      if (targetKind && !targetKind.isFile()) throw new FileError(`${target} is ${describeKind(targetKind)}; hardway only replaces regular files`, target, { hint: `Move ${target} aside.` });
      const name = options.name ?? defaultName(clusterDir);
      if (!/^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$/.test(name)) {
        throw new UsageError(`--name: cluster name ${JSON.stringify(name.slice(0, 64))} must be a DNS-1123 label of at most 20 characters (lowercase letters, digits, "-")`);
      }
      const gitignore = join(clusterDir, '.gitignore');
      const gitignoreKind = await kindOf(gitignore);
      if (gitignoreKind && !gitignoreKind.isFile()) throw new FileError(`${gitignore} is ${describeKind(gitignoreKind)}; hardway only writes regular files`, gitignore, { hint: `Move ${gitignore} aside.` });
      const example = await readFile(join(projectRoot, 'examples', options.provider, 'cluster.yaml'), 'utf8');
      try {
        await mkdir(clusterDir, { recursive: true, mode: 0o700 });
      } catch (error) {
        throw fileErrorFrom(error, clusterDir, 'write');
      }
      await writeFileAtomic(target, example.replace(/^name: .*$/m, `name: ${name}`), { mode: 0o644 });
      if (!gitignoreKind) await writeFileAtomic(gitignore, CLUSTER_GITIGNORE, { mode: 0o644 });
      io.stdout(`wrote ${target} (provider ${options.provider}, cluster ${name})\nnext: hardway validate -c ${join(dir, 'cluster.yaml')}\n`);
    });
}

function defaultName(clusterDir: string): string {
  const base = basename(clusterDir).toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 20);
  return /^[a-z0-9]/.test(base) ? base.replace(/-+$/, '') : 'hardway';
}

/** What is at a path, without following a final link; undefined when nothing is. */
async function kindOf(path: string, followLinks = false) {
  try {
    return await (followLinks ? stat(path) : lstat(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileErrorFrom(error, path, 'read');
  }
}
