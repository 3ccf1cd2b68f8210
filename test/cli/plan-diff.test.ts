// `plan --diff` without machines: the text and JSON forms built from a dry run's results, and the
// refusal when a selected step needs one that has not run (nothing to compare with).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffSteps, formatDiff } from '../../src/cli/plan-diff.ts';
import { loadStepGraph } from '../../src/cli/steps.ts';
import type { TaskResult } from '../../src/engine/execute.ts';
import type { RunReport } from '../../src/engine/runner.ts';
import { selectSteps } from '../../src/engine/select.ts';
import { hardway } from '../helpers/cli.ts';
import { testRunContext } from '../helpers/context.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-plan-diff-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const result = (node: string, task: string, status: TaskResult['status'], extra: Partial<TaskResult> = {}): TaskResult => ({ step: 'etcd', node, task, module: 'template', status, reason: 'sha256 matches', durationMs: 1, ...extra });

describe('plan --diff output', () => {
  it('lists per node only what would change, with its diff indented, and names the nodes with nothing to do', async () => {
    const steps = await loadStepGraph();
    const nodes = testRunContext().inventory.nodes;
    const selected = selectSteps(steps, nodes, { steps: ['etcd'] }, () => true).steps;
    const diff = '--- etcd-1:/etc/systemd/system/etcd.service\n+++ /etc/systemd/system/etcd.service (rendered)\n@@ -1 +1 @@\n-LimitNOFILE=65536\n+LimitNOFILE=131072';
    const report: RunReport = {
      ok: true,
      dryRun: true,
      steps: ['etcd'],
      durationMs: 5,
      stepDurations: [],
      results: [
        result('etcd-0', 'Install the etcd unit', 'ok'),
        result('etcd-1', 'Install the etcd unit', 'changed', { reason: 'would upload (content differs: sha256)', diff }),
        result('etcd-1', 'Restart etcd', 'changed', { module: 'service', handler: 'restart etcd', reason: 'would restart etcd.service', diff: 'etcd.service: active (running), enabled -> restart etcd.service' }),
        result('etcd-2', 'Install the etcd unit', 'ok'),
      ],
    } as RunReport;
    const shown = diffSteps(selected, report, nodes);
    expect(shown).toEqual([
      {
        step: 'etcd',
        title: 'Bootstrap the etcd cluster',
        nodes: [
          {
            node: 'etcd-1',
            internalIP: '10.240.0.21',
            tasks: [
              { task: 'Install the etcd unit', module: 'template', status: 'changed', reason: 'upload (content differs: sha256)', diff },
              { task: 'Restart etcd', module: 'service', handler: 'restart etcd', status: 'changed', reason: 'restart etcd.service', diff: 'etcd.service: active (running), enabled -> restart etcd.service' },
            ],
          },
        ],
        unchanged: ['etcd-0', 'etcd-2'],
      },
    ]);
    expect(formatDiff('lab', shown)).toBe(
      [
        'Diff for cluster lab: what provision would change (dry run; nothing was changed)',
        '',
        'etcd: Bootstrap the etcd cluster',
        '  etcd-1 (10.240.0.21)',
        '    ~ Install the etcd unit: upload (content differs: sha256)',
        '        --- etcd-1:/etc/systemd/system/etcd.service',
        '        +++ /etc/systemd/system/etcd.service (rendered)',
        '        @@ -1 +1 @@',
        '        -LimitNOFILE=65536',
        '        +LimitNOFILE=131072',
        '    ~ handler "restart etcd": Restart etcd: restart etcd.service',
        '        etcd.service: active (running), enabled -> restart etcd.service',
        '  no change on etcd-0, etcd-2',
        '',
      ].join('\n'),
    );
  });
});

describe('hardway plan --diff through the CLI', () => {
  it('refuses (exit 2) when a selected step needs one that has not run, before connecting anywhere', async () => {
    const config = join(dir, 'cluster.yaml');
    await writeFile(config, await readFile(new URL('../../examples/lab/cluster.yaml', import.meta.url), 'utf8'));
    const diff = await hardway(['plan', '-c', config, '--diff', '--step', 'etcd']);
    expect(diff.code, diff.stderr).toBe(2);
    expect(diff.stderr).toMatch(/not completed/);
    expect(diff.stderr).toContain('plan --diff compares the nodes with what those steps would make');
    const help = await hardway(['plan', '--help']);
    expect(help.stdout).toContain('--diff');
  });
});
