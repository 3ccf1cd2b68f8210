// `hardway rebuild` refusals that need no machine: an unknown node, a cluster not built yet, a static
// host without --wipe, another node's rebuild still in progress. Nothing here connects anywhere.
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { projectRoot } from '../../src/cli/common.ts';

async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'hardway', ...args], { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), isTTY: false, env: { CI: 'true' } });
  return { code, stdout, stderr };
}

describe('hardway rebuild (no machines)', () => {
  let dir = '';
  let spec = '';

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-rebuild-cli-'));
    spec = join(dir, 'cluster.yaml');
    await writeFile(spec, await readFile(join(projectRoot, 'examples/vagrant/cluster.yaml'), 'utf8'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeState(operations: Record<string, unknown> = {}): Promise<void> {
    await mkdir(join(dir, '.hardway'), { recursive: true });
    const state = { version: 1, cluster: 'vagrant', steps: { infra: { local: { status: 'done', at: '2030-01-01T00:00:00Z', changed: 0 } } }, providerFacts: {}, provider: {}, facts: {}, operations };
    await writeFile(join(dir, '.hardway', 'state.json'), JSON.stringify(state));
  }

  it('refuses an unknown node with exit 2, listing the nodes', async () => {
    await writeState();
    const result = await runCli(['rebuild', 'etcd-7', '--yes', '-c', spec]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no node named etcd-7 in this cluster; nodes: controller-0, controller-1, etcd-0, etcd-1, etcd-2, lb-0');
  });

  it('refuses a cluster that was never built', async () => {
    const result = await runCli(['rebuild', 'etcd-0', '--yes', '-c', spec]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('etcd-0 has not been built yet: nothing to rebuild');
  });

  it('needs --wipe on static hosts, which it cannot replace', async () => {
    await writeState();
    const result = await runCli(['rebuild', 'etcd-0', '--yes', '-c', spec]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the static provider cannot replace etcd-0: pass --wipe');
  });

  it('refuses to start while another node\'s rebuild is unfinished', async () => {
    await writeState({ rebuild: { node: 'etcd-1', startedAt: '2030-01-01T00:00:00Z', done: ['remove-member'] } });
    const result = await runCli(['rebuild', 'etcd-0', '--yes', '--wipe', '-c', spec]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('a rebuild of etcd-1 (started 2030-01-01T00:00:00Z) has not finished');
    expect(result.stderr).toContain('Finish it first: hardway rebuild etcd-1');
  });
});
