// A yes/no question on the terminal; without a terminal the answer is no, so scripts must pass --yes.
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../errors.ts';
import type { CliIO } from './common.ts';

/** Why: destroy and rebuild are irreversible; a script must say --yes explicitly. */
export async function confirm(io: CliIO, question: string, flag = '--yes'): Promise<void> {
  if (!io.isTTY || !process.stdin.isTTY) throw new UsageError(`${question.replace(/\?$/, '')}: refusing without a terminal to confirm; pass ${flag}`);
  const readline = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = (await readline.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new UsageError('not confirmed; nothing was changed');
  } finally {
    readline.close();
  }
}
