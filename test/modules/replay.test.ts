// The transcript is what ran, for every module that changes a node: from a given state, check
// decides a plan and apply carries it out; from the same state again, that plan's describe() lines,
// written as --transcript writes them (ssh and scp with the cluster's key and known_hosts) and run by
// bash against the same real sshd, must leave the same end state, byte for byte, mode for mode,
// owner for owner. Then check finds nothing to do. hostname and service need systemd (the lab e2e
// replays those); wait and verify only observe.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTranscript } from '../../src/cli/transcript.ts';
import { binariesModule } from '../../src/modules/binaries.ts';
import { commandModule } from '../../src/modules/command.ts';
import { copyModule } from '../../src/modules/copy.ts';
import { directoryModule } from '../../src/modules/directory.ts';
import { etcHostsModule } from '../../src/modules/etc-hosts.ts';
import type { RunContext, TaskModule } from '../../src/modules/module.ts';
import { templateModule } from '../../src/modules/template.ts';
import { shellQuote } from '../../src/transport/shell.ts';
import { testTaskContext } from '../helpers/context.ts';
import { remoteNode, type RemoteNode } from './remote-node.ts';

const run = promisify(execFile);

/** Every entry under `dir`: type, mode, owner and content hash, so two trees compare exactly. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const name of (await readdir(join(dir, relative))).sort()) {
      const path = join(relative, name);
      const info = await lstat(join(dir, path));
      const kind = info.isDirectory() ? 'dir' : info.isFile() ? 'file' : 'other';
      const hash = info.isFile() ? createHash('sha256').update(await readFile(join(dir, path))).digest('hex').slice(0, 16) : '';
      out.push(`${path} ${kind} ${(info.mode & 0o7777).toString(8)} ${info.uid}:${info.gid} ${hash}`);
      if (info.isDirectory()) await walk(path);
    }
  };
  await walk('');
  return out;
}

interface Fixture {
  name: string;
  module: TaskModule<any>;
  /** Puts the node's part of the state in place, under `dir`. */
  setup(dir: string): Promise<void>;
  args(dir: string): unknown;
}

const binary = (name: string) => `#!/bin/sh\necho ${name}\n${'x'.repeat(5_000)}\n`;

describe('describe(plan) replayed by bash with ssh and scp leaves what apply leaves (real sshd)', () => {
  let remote: RemoteNode;
  let runCtx: RunContext;
  let unitsDir: string;
  let artifacts: string;

  beforeAll(async () => {
    remote = await remoteNode();
    unitsDir = await mkdtemp(join(tmpdir(), 'hardway-replay-units-'));
    // What a heredoc must keep as it is: $, backticks, a line "EOF", no final newline.
    await writeFile(join(unitsDir, 'demo.conf'), 'name=<%= it.node.name %>;\nhome=$HOME `id -u`\nEOF\nlast line');
    artifacts = await mkdtemp(join(tmpdir(), 'hardway-replay-artifacts-'));
    for (const name of ['kube-apiserver', 'kube-scheduler']) await writeFile(join(artifacts, name), binary(name), { mode: 0o755 });
    await run('sh', ['-c', 'sha256sum kube-* > SHA256SUMS'], { cwd: artifacts });
    await mkdir(join(remote.clusterDir, 'pki'), { recursive: true });
    await writeFile(join(remote.clusterDir, 'pki', "it's a key.pem"), 'not really a key\n', { mode: 0o600 });
    runCtx = { ...remote.run, spec: { ...remote.run.spec, unitsDir }, options: { ...remote.run.options, artifactsDir: artifacts } };
  });

  afterAll(async () => {
    await remote?.stop();
    for (const dir of [unitsDir, artifacts]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  const fixtures: Fixture[] = [
    { name: 'directory: missing, with its parents', module: directoryModule, setup: async () => undefined, args: (dir) => ({ path: join(dir, 'a/b'), mode: '0750' }) },
    {
      name: 'directory: there, with the wrong mode and owner',
      module: directoryModule,
      setup: async (dir) => mkdir(join(dir, 'etc'), { mode: 0o700 }),
      args: (dir) => ({ path: join(dir, 'etc'), mode: '0755', owner: 'nobody', group: 'nogroup' }),
    },
    { name: 'copy: missing', module: copyModule, setup: async () => undefined, args: (dir) => ({ src: "pki/it's a key.pem", dest: join(dir, 'key.pem'), mode: '0600' }) },
    {
      name: 'copy: other content',
      module: copyModule,
      setup: async (dir) => writeFile(join(dir, 'key.pem'), 'an older key\n', { mode: 0o600 }),
      args: (dir) => ({ src: "pki/it's a key.pem", dest: join(dir, 'key.pem'), mode: '0600' }),
    },
    {
      name: 'copy: same content, only the mode and owner differ',
      module: copyModule,
      setup: async (dir) => writeFile(join(dir, 'key.pem'), 'not really a key\n', { mode: 0o644 }),
      args: (dir) => ({ src: "pki/it's a key.pem", dest: join(dir, 'key.pem'), mode: '0600', owner: 'nobody' }),
    },
    { name: 'template: missing', module: templateModule, setup: async () => undefined, args: (dir) => ({ src: 'demo.conf', dest: join(dir, 'demo.conf'), mode: '0640' }) },
    {
      name: 'template: other content, checked before it replaces the file',
      module: templateModule,
      setup: async (dir) => writeFile(join(dir, 'demo.conf'), 'old\n', { mode: 0o640 }),
      args: (dir) => ({ src: 'demo.conf', dest: join(dir, 'demo.conf'), mode: '0640', validate: 'grep -q name= %s' }),
    },
    {
      name: 'template: only the mode differs',
      module: templateModule,
      setup: async (dir) => writeFile(join(dir, 'demo.conf'), 'name=controller-0;\nhome=$HOME `id -u`\nEOF\nlast line', { mode: 0o600 }),
      args: (dir) => ({ src: 'demo.conf', dest: join(dir, 'demo.conf'), mode: '0644' }),
    },
    {
      name: 'etc-hosts: no cluster block yet',
      module: etcHostsModule,
      setup: async (dir) => writeFile(join(dir, 'hosts'), '127.0.0.1 localhost\n::1 localhost\n'),
      args: (dir) => ({ path: join(dir, 'hosts') }),
    },
    {
      name: 'etc-hosts: an outdated cluster block between other lines',
      module: etcHostsModule,
      setup: async (dir) => writeFile(join(dir, 'hosts'), '127.0.0.1 localhost\n# BEGIN hardway cluster lab\n10.9.9.9 old-node\n# END hardway cluster lab\n192.0.2.1 mine\n'),
      args: (dir) => ({ path: join(dir, 'hosts') }),
    },
    {
      name: 'command: creates missing',
      module: commandModule,
      setup: async () => undefined,
      args: (dir) => ({ cmd: `echo "$((6 * 7))" > ${shellQuote(join(dir, 'answer'))}`, creates: join(dir, 'answer') }),
    },
    { name: 'binaries: none installed', module: binariesModule, setup: async () => undefined, args: (dir) => ({ role: 'controller', files: ['kube-apiserver', 'kube-scheduler'], dir }) },
    {
      name: 'binaries: one current, one stale with the wrong mode',
      module: binariesModule,
      setup: async (dir) => {
        await writeFile(join(dir, 'kube-apiserver'), binary('kube-apiserver'), { mode: 0o755 });
        await writeFile(join(dir, 'kube-scheduler'), binary('an old kube-scheduler'), { mode: 0o700 });
      },
      args: (dir) => ({ role: 'controller', files: ['kube-apiserver', 'kube-scheduler'], dir }),
    },
  ];

  it.each(fixtures)('$name', async (fixture) => {
    const dir = join(remote.root, 'replay');
    const args = fixture.module.args.parse(fixture.args(dir));
    const context = () => testTaskContext(runCtx, remote.node, remote.transport);
    const fresh = async () => {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { mode: 0o755 });
      await chmod(dir, 0o755);
      await chown(dir, 0, 0);
      await fixture.setup(dir);
    };

    await fresh();
    const check = await fixture.module.check(context(), args);
    if (!check.changed) throw new Error(`check found nothing to do in this state: ${check.reason}`);
    const commands = fixture.module.describe({ run: runCtx, node: remote.node, vars: context().vars }, args, check.plan);
    await fixture.module.apply(context(), args, check);
    const applied = await snapshot(dir);

    await fresh();
    const text = renderTranscript({ spec: { ...runCtx.spec, ssh: { ...runCtx.spec.ssh, keyPath: remote.sshd.keyPath } }, clusterDir: remote.clusterDir, nodes: [remote.node], dryRun: false }, [
      { step: 'replay', task: fixture.name, node: remote.node.name, commands },
    ]);
    const file = join(remote.clusterDir, 'transcript.sh');
    await writeFile(file, text, { mode: 0o755 });
    await run('bash', [file]);
    expect(await snapshot(dir), text).toEqual(applied);
    expect(await fixture.module.check(context(), args)).toMatchObject({ changed: false });
  });
});
