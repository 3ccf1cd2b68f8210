// scripts/fill-artifacts.sh refuses bad arguments before it touches apt or the directory. (A full
// run needs Debian's archive, which tests may not contact; the lab end-to-end test runs it.)
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/context.ts';

const script = join(projectRoot, 'scripts', 'fill-artifacts.sh');

function runScript(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(script, args, { env: { ...process.env, HARDWAY_DEBIAN_MIRROR: 'http://127.0.0.1:9/debian' } }, (error, _stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr });
    });
  });
}

describe('scripts/fill-artifacts.sh arguments', () => {
  it('prints its usage and exits 2 without a directory or with an unknown option', async () => {
    const none = await runScript([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('scripts/fill-artifacts.sh [--etcd-suite trixie|bookworm] DIR');
    const unknown = await runScript(['--frobnicate', '/tmp/x']);
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.stderr).toContain('unknown option --frobnicate');
  });

  it('refuses an etcd suite it cannot take etcd from and leaves the directory alone', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'fill-artifacts-'));
    try {
      const result = await runScript(['--etcd-suite', 'sid', join(parent, 'out')]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--etcd-suite must be trixie or bookworm, got sid');
      expect(existsSync(join(parent, 'out'))).toBe(false);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
