import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandArgs, commandModule, decideCommand } from '../../src/modules/command.ts';
import { RemoteCommandError } from '../../src/transport/errors.ts';
import { testRunContext } from '../helpers/context.ts';
import { converge, remoteNode, type RemoteNode } from './remote-node.ts';

const args = (value: unknown) => commandArgs.parse(value);

describe('decideCommand (fixtures)', () => {
  it('skips when the creates path exists or unless succeeds', () => {
    expect(decideCommand({ createsExists: true }, args({ cmd: 'etcdctl member add x', creates: '/var/lib/etcd/member' }))).toEqual({ changed: false, reason: '/var/lib/etcd/member exists' });
    expect(decideCommand({ unlessCode: 0 }, args({ cmd: 'useradd etcd', unless: 'id etcd' }))).toEqual({ changed: false, reason: '`id etcd` succeeded' });
  });
  it('runs otherwise', () => {
    expect(decideCommand({ createsExists: false, unlessCode: 1 }, args({ cmd: 'useradd etcd', creates: '/x', unless: 'id etcd' }))).toEqual({ changed: true, reason: 'run `useradd etcd`' });
    expect(decideCommand({}, args({ cmd: 'true' }))).toMatchObject({ changed: true });
  });
  it('describes the guards as shell', () => {
    const run = testRunContext();
    const ctx = { run, node: run.inventory.nodes[0], vars: {} };
    expect(commandModule.describe(ctx, args({ cmd: 'useradd etcd', unless: 'id etcd' }))).toEqual(['id etcd || useradd etcd']);
    expect(commandModule.describe(ctx, args({ cmd: 'make-it', creates: '/opt/it', unless: 'a && b' }))).toEqual(['[ -e /opt/it ] || ( a && b ) || make-it']);
    expect(commandModule.describe(ctx, args({ cmd: 'date' }))).toEqual(['date']);
  });
});

describe('command on a node (real sshd)', () => {
  let remote: RemoteNode;
  beforeAll(async () => {
    remote = await remoteNode();
  });
  afterAll(() => remote.stop());

  it('runs once with creates, streaming its output into the task log', async () => {
    const marker = join(remote.root, 'initialized');
    const ctx = remote.context();
    const first = await converge(commandModule, ctx, { cmd: `echo line one; echo line two >&2; echo done > ${marker}`, creates: marker });
    expect(first.check).toMatchObject({ changed: true });
    expect(ctx.lines).toEqual(['line one', 'line two']);
    expect(await readFile(marker, 'utf8')).toBe('done\n');
    expect((await converge(commandModule, remote.context(), { cmd: 'false', creates: marker })).check).toEqual({ changed: false, reason: `${marker} exists` });
  });

  it('honours unless, and fails with the exit code and stderr', async () => {
    expect((await converge(commandModule, remote.context(), { cmd: 'false', unless: `test -d ${remote.root}` })).check).toMatchObject({ changed: false });
    const error = await converge(commandModule, remote.context(), { cmd: 'echo nope >&2; exit 4', unless: 'false' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect(error).toMatchObject({ code: 4, stderrTail: 'nope', where: { node: 'controller-0' } });
  });

  it('stops a command that outlives its timeout', async () => {
    await expect(converge(commandModule, remote.context(), { cmd: 'sleep 20', timeout: '500ms' })).rejects.toThrow('`sleep 20` did not finish within 500 ms and was stopped');
  });
});
