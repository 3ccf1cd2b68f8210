// The Vagrantfile's machines, read two ways: from its `nodes` table as text (no Ruby needed), and,
// where Ruby is installed, by evaluating the file with vagrant-stub.rb the way `vagrant` would.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './explain-blocks.ts';

export const vagrantfile = join(repoRoot, 'Vagrantfile');
const stub = fileURLToPath(new URL('./vagrant-stub.rb', import.meta.url));

export interface VagrantNode {
  name: string;
  role: string;
  ip: string;
}

/** The `"layout" => [ { name: ..., role: ..., ip: ... }, ... ]` entries of the Vagrantfile's table. */
export async function vagrantTable(): Promise<Map<string, VagrantNode[]>> {
  const text = await readFile(vagrantfile, 'utf8');
  const layouts = new Map<string, VagrantNode[]>();
  for (const block of text.matchAll(/^\s*"([a-z]+)"\s*=>\s*\[\n([\s\S]*?)^\s*\],?$/gm)) {
    const nodes = [...block[2]!.matchAll(/\{\s*name:\s*"([^"]+)",\s*role:\s*"([^"]+)",\s*ip:\s*"([^"]+)"\s*\}/g)].map((match) => ({ name: match[1]!, role: match[2]!, ip: match[3]! }));
    layouts.set(block[1]!, nodes);
  }
  return layouts;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program in the repository; HARDWAY_* settings of the caller's environment are not passed on. */
export function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('HARDWAY_')));
  return new Promise((resolve) => {
    execFile(command, args, { cwd: repoRoot, env: { ...inherited, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Is `command` installed here? */
export async function installed(command: string): Promise<boolean> {
  return (await run('sh', ['-c', `command -v ${command}`])).code === 0;
}

export interface StubMachine {
  name: string;
  hostname: string;
  networks: { type: string; options: { ip?: string } }[];
  providers: Record<string, { cpus?: number; memory?: number }>;
  provisioners: { type: string; options: { inline?: string; args?: string[] } }[];
}

/** Evaluate the Vagrantfile as `vagrant ARGV...` would, with a Ruby stand-in for Vagrant's API. */
export async function evaluateVagrantfile(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<RunResult & { config?: { box: string; machines: StubMachine[] } }> {
  const result = await run('ruby', [stub, ...argv], { HARDWAY_VAGRANTFILE: vagrantfile, ...env });
  return result.code === 0 ? { ...result, config: JSON.parse(result.stdout) as { box: string; machines: StubMachine[] } } : result;
}
