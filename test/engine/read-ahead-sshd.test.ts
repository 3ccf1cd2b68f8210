// Read-ahead through the real runner against a real sshd: a converged node answers a whole phase
// of file checks in one round trip, and a change made by one task is seen by the checks after it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlaybook } from '../../src/engine/playbook.ts';
import { runSteps } from '../../src/engine/runner.ts';
import { builtinModules } from '../../src/modules/index.ts';
import { remoteNode, type RemoteNode } from '../modules/remote-node.ts';

describe('read-ahead in a run (real sshd)', () => {
  let remote: RemoteNode;
  beforeAll(async () => {
    remote = await remoteNode();
  });
  afterAll(() => remote?.stop());

  it('a converged phase costs one round trip for all its checks, and a later task sees an earlier change', async () => {
    const modules = builtinModules();
    const dir = join(remote.root, 'read-ahead');
    await writeFile(join(remote.clusterDir, 'a.pem'), 'first file\n');
    await writeFile(join(remote.clusterDir, 'b.pem'), 'second file\n');
    const text = [
      'step: files',
      'title: Files',
      'hosts: all',
      'tasks:',
      `  - name: the directory`,
      `    directory: { path: ${dir}, mode: "0755" }`,
      `  - name: a`,
      `    copy: { src: a.pem, dest: ${dir}/a.pem, mode: "0600" }`,
      `  - name: b`,
      `    copy: { src: b.pem, dest: ${dir}/b.pem, mode: "0600" }`,
      `  - name: a again, with another mode (sees the first copy's file)`,
      `    copy: { src: a.pem, dest: ${dir}/a.pem, mode: "0640" }`,
      '',
    ].join('\n');
    const playbook = parsePlaybook(text, 'files.yaml', modules);
    const run = { ...remote.run, modules };
    const step = { playbook, nodes: [remote.node], local: false, asDependency: false };
    const execs = () => remote.pool.roundTrips()[remote.node.name]!.execs + remote.pool.roundTrips()[remote.node.name]!.sftp;

    const first = await runSteps(run, [step], 'silent');
    expect(first.results.map((result) => result.status)).toEqual(['changed', 'changed', 'changed', 'changed']);
    expect(await readFile(join(dir, 'a.pem'), 'utf8')).toBe('first file\n');

    // The last task's mode wins on every run: the third task sets 0600, the fourth 0640.
    const before = execs();
    const again = await runSteps(run, [step], 'silent');
    expect(again.results.map((result) => [result.task, result.status])).toEqual([
      ['the directory', 'ok'],
      ['a', 'changed'],
      ['b', 'ok'],
      ['a again, with another mode (sees the first copy\'s file)', 'changed'],
    ]);
    const used = execs() - before;
    // One read-ahead and a's chmod; after that change the checks read live: b's check, then the
    // last copy's check and its chmod (each change carried out as its check planned it).
    expect(used).toBe(5);

    const converged = parsePlaybook(text.split('\n').slice(0, 10).join('\n'), 'files.yaml', modules);
    await runSteps(run, [{ ...step, playbook: converged }], 'silent');
    const quiet = execs();
    const noop = await runSteps(run, [{ ...step, playbook: converged }], 'silent');
    expect(noop.results.map((result) => result.status)).toEqual(['ok', 'ok', 'ok']);
    expect(execs() - quiet).toBe(1);
  });
});
