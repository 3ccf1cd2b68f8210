// The docs quote the output of commands that connect nowhere (`hardway explain`, `validate`,
// `plan`) verbatim in ```console blocks: a `$ hardway explain ...` line, then exactly what the
// command printed. This module finds those blocks and runs the real command again, so the test can
// tell a stale block and update-explain.ts can rewrite it.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hardway } from '../helpers/cli.ts';
import { shellWords } from './commands.ts';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const docsDir = join(repoRoot, 'docs');

export interface ExplainBlock {
  /** Path relative to the repository root. */
  file: string;
  /** 1-based line of the ```console fence. */
  line: number;
  /** Offsets of the block's body (after the `$` line, up to the closing fence) in the file. */
  start: number;
  end: number;
  /** The hardway arguments after `$ hardway` (the command first). */
  args: string[];
  /** The output as written in the docs. */
  written: string;
}

/** Every Markdown file of docs/ and docs/steps/, repository-relative, sorted. */
export async function docsFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const dir of [docsDir, join(docsDir, 'steps')]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) if (name.endsWith('.md')) files.push(relative(repoRoot, join(dir, name)));
  }
  return files.sort();
}

export function explainBlocks(file: string, markdown: string): ExplainBlock[] {
  const blocks: ExplainBlock[] = [];
  const pattern = /^```console\n\$ hardway ((?:explain|validate|plan) [^\n]*)\n([\s\S]*?)^```$/gm;
  for (const match of markdown.matchAll(pattern)) {
    const bodyStart = match.index + match[0].indexOf('\n', match[0].indexOf('$ hardway')) + 1;
    blocks.push({
      file,
      line: markdown.slice(0, match.index).split('\n').length,
      start: bodyStart,
      end: bodyStart + match[2]!.length,
      args: shellWords(match[1]!),
      written: match[2]!,
    });
  }
  return blocks;
}

/** What the command prints now, run from the repository root as the docs assume. */
export async function currentOutput(args: readonly string[]): Promise<string> {
  const result = await hardway(args, { cwd: repoRoot });
  if (result.code !== 0) throw new Error(`hardway ${args.join(' ')} exited with ${result.code}: ${result.stderr}`);
  return result.stdout;
}

export async function readDoc(file: string): Promise<string> {
  return readFile(join(repoRoot, file), 'utf8');
}
