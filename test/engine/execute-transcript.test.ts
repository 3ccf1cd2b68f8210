// The transcript is what ran: executeTask records the plan check decided, rendered by describe(),
// and apply carries out that same plan. Against a real sshd: a file whose content is right but whose
// mode is wrong gets a chmod in the transcript and on the node, never an upload.
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeTask } from '../../src/engine/execute.ts';
import type { PlaybookTask } from '../../src/engine/playbook.ts';
import { ModuleRegistry, type RunContext, type TranscriptEntry } from '../../src/modules/module.ts';
import { remoteModules } from '../../src/modules/remote-modules.ts';
import { classify } from '../../src/modules/described.ts';
import { newScratch } from '../helpers/context.ts';
import { remoteNode, type RemoteNode } from '../modules/remote-node.ts';

describe('executeTask records the plan it carries out (real sshd)', () => {
  let remote: RemoteNode;
  let run: RunContext;
  let entries: TranscriptEntry[];

  beforeAll(async () => {
    remote = await remoteNode();
    await mkdir(join(remote.clusterDir, 'pki'), { recursive: true });
    await writeFile(join(remote.clusterDir, 'pki/ca.pem'), 'a certificate\n');
    await mkdir(join(remote.root, 'etc'), { recursive: true });
  });
  afterAll(async () => remote?.stop());

  const runTask = async (module: string, args: unknown) => {
    entries = [];
    run = { ...remote.run, modules: new ModuleRegistry(remoteModules()), transcript: { add: (entry) => entries.push(entry) } };
    const task: PlaybookTask = { name: `a ${module} task`, module, args, notify: [], once: false, file: 'playbooks/test.yaml', line: 1 };
    return executeTask({ run, step: 'test', task, node: remote.node, scratch: newScratch(), log: () => undefined });
  };

  it('uploads a missing file, and says so', async () => {
    const dest = join(remote.root, 'etc/ca.pem');
    const result = await runTask('copy', { src: 'pki/ca.pem', dest, mode: '0600' });
    expect(result).toMatchObject({ status: 'changed', reason: 'upload (missing)' });
    expect(entries).toHaveLength(1);
    expect(entries[0]!.commands[0]).toEqual({ upload: { source: 'pki/ca.pem', dest } });
    expect(await readFile(dest, 'utf8')).toBe('a certificate\n');
  });

  it('only fixes the mode of a file whose content is right: a chmod in the transcript, no upload', async () => {
    const dest = join(remote.root, 'etc/ca.pem');
    await chmod(dest, 0o644);
    const result = await runTask('copy', { src: 'pki/ca.pem', dest, mode: '0600' });
    expect(result).toMatchObject({ status: 'changed', reason: 'set mode 0644 -> 0600' });
    expect(entries.map((entry) => entry.commands)).toEqual([[`chmod 0600 ${dest}`]]);
    expect((await stat(dest)).mode & 0o777).toBe(0o600);
  });

  it('records nothing for a converged file', async () => {
    const result = await runTask('copy', { src: 'pki/ca.pem', dest: join(remote.root, 'etc/ca.pem'), mode: '0600' });
    expect(result.status).toBe('ok');
    expect(entries).toEqual([]);
  });

  it('writes /etc/hosts with the content the transcript shows, lines outside the block kept', async () => {
    const path = join(remote.root, 'etc/hosts');
    await writeFile(path, '127.0.0.1 localhost\n10.0.0.9 printer\n');
    const result = await runTask('etc-hosts', { path });
    expect(result.status).toBe('changed');
    const [line] = entries[0]!.commands;
    const write = classify(line!);
    expect(write.kind === 'command' && write.command).toContain('mktemp');
    // The input the command is fed is the file apply wrote.
    const body = write.kind === 'command' ? write.stdin! : '';
    expect(await readFile(path, 'utf8')).toBe(body);
    expect(body.startsWith('127.0.0.1 localhost\n10.0.0.9 printer\n# BEGIN hardway cluster')).toBe(true);
  });
});
