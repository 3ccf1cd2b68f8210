// Read-ahead through the real runner against a real sshd: a converged node answers a whole phase
// of file checks in one round trip, and a change made by one task is seen by the checks after it.
import { readFile, stat, writeFile } from 'node:fs/promises';
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

  it('a converged run is read once per node for all its steps; after a change, a later step reads live and sees it', async () => {
    const modules = builtinModules();
    const dir = join(remote.root, 'read-ahead-steps');
    await writeFile(join(remote.clusterDir, 'c.pem'), 'third file\n');
    await writeFile(join(remote.clusterDir, 'd.pem'), 'fourth file\n');
    // Step two also installs d.pem, which step one's checks never read.
    const playbookOf = (name: string, mode: string) =>
      parsePlaybook(
        [
          `step: ${name}`,
          `title: ${name}`,
          'hosts: all',
          'tasks:',
          `  - name: the directory`,
          `    directory: { path: ${dir}, mode: "0755" }`,
          `  - name: c`,
          `    copy: { src: c.pem, dest: ${dir}/c.pem, mode: "${mode}" }`,
          // A wait only observes: it costs its own round trip and keeps what was read ahead.
          ...(name === 'one' ? ['  - name: c is there', `    wait: { command: "test -f ${dir}/c.pem", timeout: 10s }`] : []),
          ...(name === 'two' ? ['  - name: d', `    copy: { src: d.pem, dest: ${dir}/d.pem, mode: "0600" }`] : []),
          '',
        ].join('\n'),
        `${name}.yaml`,
        modules,
      );
    const run = { ...remote.run, modules };
    const steps = (firstMode: string, secondMode: string) => [
      { playbook: playbookOf('one', firstMode), nodes: [remote.node], local: false, asDependency: false },
      { playbook: playbookOf('two', secondMode), nodes: [remote.node], local: false, asDependency: false },
    ];
    const execs = () => remote.pool.roundTrips()[remote.node.name]!.execs + remote.pool.roundTrips()[remote.node.name]!.sftp;
    await runSteps(run, steps('0600', '0600'), 'silent');

    // Converged: both steps' checks are answered by the first step's one read-ahead; the wait
    // makes its own probe.
    const quiet = execs();
    const noop = await runSteps(run, steps('0600', '0600'), 'silent');
    expect(noop.results.map((result) => `${result.step} ${result.task}: ${result.status}`)).toEqual(['one the directory: ok', 'one c: ok', 'one c is there: ok', 'two the directory: ok', 'two c: ok', 'two d: ok']);
    expect(execs() - quiet).toBe(2);

    // Step one changes the mode to 0640; step two wants 0600 again, so it must see 0640 (not the
    // 0600 read ahead before step one changed it) and change it back.
    const changed = await runSteps(run, steps('0640', '0600'), 'silent');
    expect(changed.results.map((result) => `${result.step} ${result.task}: ${result.status}`)).toEqual(['one the directory: ok', 'one c: changed', 'one c is there: ok', 'two the directory: ok', 'two c: changed', 'two d: ok']);
    expect(((await stat(join(dir, 'c.pem'))).mode & 0o777).toString(8)).toBe('600');
  });
});
