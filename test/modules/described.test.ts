// The structured lines describe() returns: explain's text of them, and heredocs that a shell turns
// back into exactly the content a run writes.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { classify, comment, describedText, heredoc, heredocParts, onWorkstation, upload, writeFile } from '../../src/modules/described.ts';

const run = promisify(execFile);

describe('describedText', () => {
  const etcd0 = { name: 'etcd-0', user: 'root', sshAddress: '10.240.0.20' };

  it('marks the place where a node task switches to the workstation and back', () => {
    const lines = [onWorkstation('sha256sum --check SHA256SUMS'), upload('a b', '/x y'), 'chmod 0755 /x', comment('a comment'), writeFile('/etc/u', 'x=1\n')];
    expect(describedText(lines, etcd0)).toEqual([
      '# on the workstation:',
      'sha256sum --check SHA256SUMS',
      '# on etcd-0:',
      "scp 'a b' root@10.240.0.20:'/x y'",
      'chmod 0755 /x',
      '# a comment',
      "cat > /etc/u <<'EOF'\nx=1\nEOF",
    ]);
    // A workstation task has no place to switch to.
    expect(describedText([onWorkstation('kubectl get ns'), 'cfssl gencert'], undefined)).toEqual(['kubectl get ns', 'cfssl gencert']);
  });

  it('reads a line by its fields only: a string that looks like a marker or an upload is a command', () => {
    expect(classify('# on the workstation:')).toEqual({ kind: 'command', command: '# on the workstation:', workstation: false });
    expect(classify('scp a root@h:/b')).toEqual({ kind: 'command', command: 'scp a root@h:/b', workstation: false });
    expect(classify(upload('a', '/b'))).toEqual({ kind: 'upload', source: 'a', dest: '/b' });
  });
});

describe('heredoc', () => {
  it('picks a delimiter that is not a line of the content, and keeps a missing final newline', () => {
    expect(heredoc('cat > f', 'EOF\nx\n')).toBe("cat > f <<'EOF1'\nEOF\nx\nEOF1");
    expect(heredoc('cat > f', 'no newline')).toBe("{ head -c -1 | cat > f; } <<'EOF'\nno newline\nEOF");
    expect(heredocParts('cat > f', 'EOF\nx\n')).toEqual({ command: 'cat > f', redirect: "<<'EOF1'", body: 'EOF\nx\nEOF1' });
  });

  it('typed in bash, writes the content byte for byte', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hardway-heredoc-'));
    try {
      const contents = ['[Unit]\nExecStart=/bin/x $HOME `id` \\\n  --flag\n', 'EOF\nEOF1\nlast line without newline', '', '\n\n'];
      for (const [index, content] of contents.entries()) {
        const file = join(dir, `f${index}`);
        await run('bash', ['-c', heredoc(`cat > ${file}`, content)]);
        expect(await readFile(file, 'utf8'), JSON.stringify(content)).toBe(content);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
