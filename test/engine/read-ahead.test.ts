import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileReadsCommand, parseFileReads, parseReadAhead, readAheadCommand } from '../../src/engine/read-ahead.ts';
import { fileFactsCommand } from '../../src/transport/remote-file.ts';

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

describe('file reads ahead (run by the local sh)', () => {
  it("answer for every file exactly what the file's own fileFactsCommand answers", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hardway read ahead '"));
    try {
      await writeFile(join(dir, 'cert.pem'), 'certificate\n');
      await chmod(join(dir, 'cert.pem'), 0o600);
      await writeFile(join(dir, 'empty'), '');
      await mkdir(join(dir, 'sub'));
      await symlink('cert.pem', join(dir, 'link'));
      const files = [
        { path: join(dir, 'cert.pem'), hashIfSize: 12 },
        { path: join(dir, 'cert.pem'), hashIfSize: 13 },
        { path: join(dir, 'empty'), hashIfSize: 0 },
        { path: join(dir, 'sub') },
        { path: join(dir, 'sub'), hashIfSize: 4096 },
        { path: join(dir, 'link'), hashIfSize: 8 },
        { path: join(dir, 'missing'), hashIfSize: 3 },
        { path: join(dir, 'no/such/file') },
        { path: '/hardway-no-such-top-level-file' },
      ];
      const answers = parseFileReads(files, await sh(fileReadsCommand(files)));
      expect(answers.size).toBe(files.length);
      for (const file of files) {
        const command = fileFactsCommand(file.path, file.hashIfSize === undefined ? {} : { hashIfSize: file.hashIfSize });
        expect(answers.get(command), file.path).toBe(await sh(command));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
