import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseReadAhead, readAheadCommand } from '../../src/engine/read-ahead.ts';

const sh = async (command: string) => (await promisify(execFile)('sh', ['-c', command])).stdout;

describe('read-ahead (run by the local sh)', () => {
  it("gives each command exactly its own stdout, and leaves out one that failed (its check runs it live for the error)", async () => {
    const commands = [
      'printf "a\\nb\\n"',
      'printf "no newline at the end"',
      'echo to stderr >&2; exit 3',
      'printf ""',
      "echo '::looks-like-a-marker 0'; exit 0",
      'x=1; [ "$x" = 1 ] && echo "shell state stays inside: $x"',
    ];
    const token = 'hardway-read-test';
    const answers = parseReadAhead(commands, token, await sh(readAheadCommand(commands, token)));
    expect([...answers]).toEqual([
      [commands[0], 'a\nb\n'],
      [commands[1], 'no newline at the end'],
      [commands[3], ''],
      [commands[4], '::looks-like-a-marker 0\n'],
      [commands[5], 'shell state stays inside: 1\n'],
    ]);
  });

  it('a command that exits its subshell does not end the others', async () => {
    const commands = ['exit 1', 'echo after'];
    const answers = parseReadAhead(commands, 't', await sh(readAheadCommand(commands, 't')));
    expect([...answers]).toEqual([['echo after', 'after\n']]);
  });

  it('output cut short yields the answers that are whole', () => {
    const commands = ['echo one', 'echo two'];
    expect([...parseReadAhead(commands, 't', '::t 0\none\n\n::t-end 0 0\n::t 1\ntw')]).toEqual([['echo one', 'one\n']]);
  });
});
