// The transcript's quoting and wrapping: exact lines for the cases that matter (root, sudo, ports,
// bastion, heredocs, uploads), the order of parallel entries, and a generated script that passes
// `bash -n` and `shellcheck` and, run by bash with real ssh/scp against a real sshd, leaves the
// files the modules would write (their checks then find nothing to do).
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderEntries, quoteRemote, renderTranscript, scpLines, sshLine, type TranscriptInput } from '../../src/cli/transcript.ts';
import { templateVars } from '../../src/engine/vars.ts';
import type { Node } from '../../src/inventory/node.ts';
import { commandModule } from '../../src/modules/command.ts';
import { copyModule } from '../../src/modules/copy.ts';
import { comment, heredoc, onWorkstation, upload, withInput } from '../../src/modules/described.ts';
import { directoryModule } from '../../src/modules/directory.ts';
import { etcHostsModule } from '../../src/modules/etc-hosts.ts';
import type { RunContext, TranscriptEntry, TaskModule } from '../../src/modules/module.ts';
import { templateModule } from '../../src/modules/template.ts';
import { waitModule } from '../../src/modules/wait.ts';
import { backupEntries, restoreMemberEntries, restorePkiEntry } from '../../src/cli/backup-transcript.ts';
import { kubectlLines } from '../../src/modules/drain.ts';
import { membershipEntries } from '../../src/scale/etcd-transcript.ts';
import { DRAIN_DROPPED, REMOVE_DROPPED } from '../../src/scale/machines.ts';
import { loadStepGraph } from '../../src/cli/steps.ts';
import { hostsOf } from '../../src/engine/select.ts';
import { conditionUnmet } from '../../src/engine/when.ts';
import { interpolate } from '../../src/engine/vars.ts';
import { clusterSpecSchema } from '../../src/spec/schema.ts';
import { labSpecInput, testRunContext } from '../helpers/context.ts';
import { shellQuote } from '../../src/transport/shell.ts';
import { remoteNode, type RemoteNode } from '../modules/remote-node.ts';

const run = promisify(execFile);

const spec = clusterSpecSchema.parse({ name: 'demo', provider: 'lab', nodes: { controllers: { count: 1 } } });
const input = (ssh: Partial<TranscriptInput['spec']['ssh']> = {}): Pick<TranscriptInput, 'spec'> => ({ spec: { ...spec, ssh: { ...spec.ssh, ...ssh } } });
const node = (over: Partial<Node> = {}): Node => ({ name: 'etcd-0', roles: ['etcd'], internalIP: '10.240.0.20', sshAddress: '10.240.0.20', sshPort: 22, user: 'root', ...over });
const OPTS = '-i ssh/id_ed25519 -o IdentitiesOnly=yes -o UserKnownHostsFile=known_hosts -o StrictHostKeyChecking=accept-new';

/** bash -n and shellcheck on a script text; returns shellcheck's findings (empty when clean). */
async function lint(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hardway-transcript-lint-'));
  try {
    const file = join(dir, 'transcript.sh');
    await writeFile(file, text);
    await run('bash', ['-n', file]);
    return await run('shellcheck', ['--format=gcc', file]).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('wrapping node commands', () => {
  it('quotes the remote command as one word: single quotes, or double quotes when it holds single quotes', async () => {
    expect(quoteRemote('systemctl daemon-reload')).toBe("'systemctl daemon-reload'");
    expect(quoteRemote('hostname')).toBe('hostname');
    expect(quoteRemote('echo "$HOME" `id`')).toBe(`'echo "$HOME" \`id\`'`);
    expect(quoteRemote("timeout 90 sh -c 'until etcdctl endpoint health; do sleep 1; done'")).toBe(`"timeout 90 sh -c 'until etcdctl endpoint health; do sleep 1; done'"`);
    expect(quoteRemote(`sed '/^x$/d' /etc/hosts`)).toBe(`"sed '/^x\\$/d' /etc/hosts"`);
    // Whatever the command, the local shell hands it over unchanged.
    for (const command of [`sed '/^x$/d' "a b" \`id\` \\n 'it'\\''s' !x`, "a'b", `'\\'"$"'`]) {
      expect((await run('bash', ['-c', `printf %s ${quoteRemote(command)}`])).stdout).toBe(command);
    }
  });

  it('wraps a command in ssh with the key, known_hosts, port and user', () => {
    expect(sshLine(input(), node(), 'systemctl --no-block start etcd')).toBe(`ssh ${OPTS} root@10.240.0.20 'systemctl --no-block start etcd'`);
    expect(sshLine(input({ keyPath: '~/.ssh/id_ed25519', agent: true }), node({ sshPort: 2222 }), 'true')).toBe(
      'ssh -i ~/.ssh/id_ed25519 -o UserKnownHostsFile=known_hosts -o StrictHostKeyChecking=accept-new -p 2222 root@10.240.0.20 true',
    );
    expect(sshLine(input({ keyPath: '/keys/my key' }), node(), 'true')).toContain("-i '/keys/my key' ");
  });

  it('runs as root through sudo when the SSH user is not root', () => {
    expect(sshLine(input(), node({ user: 'admin' }), 'systemctl --no-block start etcd')).toBe(`ssh ${OPTS} admin@10.240.0.20 "sudo sh -c 'systemctl --no-block start etcd'"`);
    expect(sshLine(input(), node({ user: 'admin' }), `echo 'a b' > /etc/x`)).toBe(`ssh ${OPTS} admin@10.240.0.20 "sudo sh -c 'echo '\\''a b'\\'' > /etc/x'"`);
  });

  it('jumps through the bastion with the same key and known_hosts', () => {
    const line = sshLine(input({ bastion: { host: '203.0.113.5', user: 'admin', port: 2200 } }), node(), 'true');
    expect(line).toBe(`ssh ${OPTS} -o 'ProxyCommand=ssh ${OPTS} -p 2200 -W %h:%p admin@203.0.113.5' root@10.240.0.20 true`);
  });

  it('feeds a command its input from the workstation through ssh, so the content stays readable', () => {
    const content = '[Unit]\nDescription=etcd $X\n';
    expect(heredoc('cat > /etc/systemd/system/etcd.service', content)).toBe("cat > /etc/systemd/system/etcd.service <<'EOF'\n[Unit]\nDescription=etcd $X\nEOF");
    expect(sshLine(input(), node(), 'cat > /etc/systemd/system/etcd.service', content)).toBe(`ssh ${OPTS} root@10.240.0.20 'cat > /etc/systemd/system/etcd.service' <<'EOF'\n[Unit]\nDescription=etcd $X\nEOF`);
    expect(sshLine(input(), node({ user: 'admin' }), 'cat > /etc/systemd/system/etcd.service', content).split('\n')[0]).toBe(`ssh ${OPTS} admin@10.240.0.20 "sudo sh -c 'cat > /etc/systemd/system/etcd.service'" <<'EOF'`);
    // Empty input is no heredoc at all.
    expect(sshLine(input(), node(), 'cat > /etc/empty', '')).toBe(`ssh ${OPTS} root@10.240.0.20 'cat > /etc/empty' < /dev/null`);
  });

  it('copies files with scp, through /tmp and sudo install for another user', () => {
    expect(scpLines(input(), node(), 'pki/etcd-ca.pem', '/etc/etcd/ca.pem')).toEqual([`scp ${OPTS} pki/etcd-ca.pem root@10.240.0.20:/etc/etcd/ca.pem`]);
    expect(scpLines(input(), node({ sshPort: 2222, sshAddress: 'fd00::5' }), "it's.pem", '/etc/a b.pem')).toEqual([`scp ${OPTS} -P 2222 'it'\\''s.pem' root@[fd00::5]:'/etc/a b.pem'`]);
    expect(scpLines(input(), node({ user: 'admin' }), 'pki/etcd-server-etcd-0-key.pem', '/etc/etcd/server-key.pem')).toEqual([
      `scp ${OPTS} pki/etcd-server-etcd-0-key.pem admin@10.240.0.20:/tmp/hardway-upload.server-key.pem`,
      `ssh ${OPTS} admin@10.240.0.20 'sudo install -m 0600 /tmp/hardway-upload.server-key.pem /etc/etcd/server-key.pem && rm -f /tmp/hardway-upload.server-key.pem'`,
    ]);
  });
});

describe('describe() lines', () => {
  it('reach the transcript by their fields: a path that looks like an upload or a marker is a command as written', () => {
    const nodes = [node()];
    const text = renderTranscript({ spec, clusterDir: '/srv/c', nodes, dryRun: false }, [
      { step: 'etcd', task: 't', node: 'etcd-0', commands: ['# on the workstation:', "scp a root@h:/b", upload("it's.pem", '/etc/x'), onWorkstation('sha256sum f'), withInput('cat > /etc/f', 'body\n')] },
    ]);
    // Strings are commands on the node: no marker switches place, no scp-looking string is parsed.
    expect(text).toContain(`  ssh ${OPTS} root@10.240.0.20 '# on the workstation:'\n`);
    expect(text).toContain(`  ssh ${OPTS} root@10.240.0.20 'scp a root@h:/b'\n`);
    expect(text).toContain(`  scp ${OPTS} 'it'\\''s.pem' root@10.240.0.20:/etc/x\n`);
    expect(text).toContain('\n  sha256sum f\n');
    expect(text).toContain(`  ssh ${OPTS} root@10.240.0.20 'cat > /etc/f' <<'EOF'\nbody\nEOF\n`);
    // An upload in a workstation task has no node to go to.
    expect(() => renderTranscript({ spec, clusterDir: '/srv/c', nodes, dryRun: false }, [{ step: 'pki', task: 'x', node: undefined, commands: [upload('a', '/b')] }])).toThrow('describes an upload but runs on no node');
  });
});

describe('order of entries', () => {
  const entry = (task: string, nodeName: string | undefined, extra: Partial<TranscriptEntry> = {}): TranscriptEntry => ({ step: 'etcd', task, node: nodeName, commands: [], ...extra });

  it('groups parallel nodes one after the other, keeps once tasks and handlers after the tasks before them', () => {
    const arrived = [
      entry('copy', 'etcd-1'),
      entry('copy', 'etcd-0'),
      entry('start', 'etcd-1'),
      entry('start', 'etcd-0'),
      entry('wait all', 'etcd-0', { once: true }),
      entry('after', 'etcd-1'),
      entry('after', 'etcd-0'),
      entry('restart', 'etcd-1', { handler: 'restart etcd' }),
      entry('restart', 'etcd-0', { handler: 'restart etcd' }),
      entry('reload', 'etcd-0', { handler: 'reload' }),
    ];
    const order = orderEntries(arrived, ['etcd-0', 'etcd-1']).map((segment) => segment.map((item) => `${item.task}@${item.node}`));
    expect(order).toEqual([['copy@etcd-0', 'start@etcd-0', 'copy@etcd-1', 'start@etcd-1'], ['wait all@etcd-0'], ['after@etcd-0', 'after@etcd-1'], ['restart@etcd-0', 'restart@etcd-1'], ['reload@etcd-0']]);
  });
});

describe('a whole transcript', () => {
  it('is a bash script with one function per step that shellcheck accepts, and refuses unknown steps', async () => {
    const nodes = [node(), node({ name: 'controller-0', roles: ['controller'], internalIP: '10.240.0.10', sshAddress: '10.240.0.10' })];
    const text = renderTranscript({ spec, clusterDir: '/srv/my cluster', nodes, dryRun: true }, [
      { step: 'infra', task: 'machines', node: undefined, commands: [comment('the lab provider creates: etcd-0')] },
      { step: 'pki', task: 'CA', node: undefined, commands: [withInput('cat > pki/ca-csr.json', '{"CN":"Kubernetes"}\n'), 'cfssl gencert -initca pki/ca-csr.json | cfssljson -bare pki/ca'] },
      { step: 'control-plane', task: 'wait', node: 'controller-0', commands: ["timeout 9 sh -c 'until curl -fsS https://127.0.0.1:6443/healthz; do sleep 1; done'"] },
      { step: 'etcd', task: 'unit', node: 'etcd-0', commands: [withInput('cat > /etc/systemd/system/etcd.service', 'ExecStart=/usr/local/bin/etcd --name=$NAME\n'), 'echo "$HOSTNAME"'] },
    ]);
    expect(text).toContain("cd '/srv/my cluster'\n");
    expect(text).toContain('a dry run, so what the run WOULD do');
    expect(text).toContain('\nstep_control_plane() {\n  # ---- on controller-0 (10.240.0.10)\n  # wait\n');
    expect(text).toContain('step_infra() {\n  # ---- on the workstation\n  # machines\n  # the lab provider creates: etcd-0\n  :\n}');
    expect(text).toContain(`  ssh ${OPTS} root@10.240.0.20 'cat > /etc/systemd/system/etcd.service' <<'EOF'\nExecStart=/usr/local/bin/etcd --name=$NAME\nEOF\n`);
    expect(text).toContain("steps=(infra pki control-plane etcd)\n");
    expect(await lint(text)).toBe('');

    const dir = await mkdtemp(join(tmpdir(), 'hardway-transcript-'));
    try {
      const file = join(dir, 't.sh');
      await writeFile(file, text.replace("cd '/srv/my cluster'", 'cd /'));
      const refused = await run('bash', [file, 'nosuch']).catch((error: { code: number; stderr: string }) => error);
      expect(refused).toMatchObject({ code: 2, stderr: 'no step nosuch in this transcript; it has: infra pki control-plane etcd\n' });
      expect((await run('bash', [file, 'infra'])).stdout).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('shows scaling as a replay needs it: member add before the etcd step, promote after, removals and drains as kubectl and etcdctl lines', async () => {
    const peer = node();
    const joiner = { name: 'etcd-3', internalIP: '10.240.0.23' };
    const text = renderTranscript({ spec, clusterDir: '/srv/c', nodes: [peer, node({ name: 'etcd-3', internalIP: '10.240.0.23', sshAddress: '10.240.0.23' })], dryRun: false }, [
      { step: DRAIN_DROPPED, task: 'Drain worker-1, which the spec dropped', node: undefined, commands: [kubectlLines.drain('worker-1')] },
      membershipEntries.join('etcd-0', joiner, true),
      { step: 'etcd', task: 'Enable and start etcd', node: 'etcd-3', commands: ['systemctl enable --now etcd'] },
      membershipEntries.promote('etcd-0', joiner),
      membershipEntries.leave('etcd-0', 'etcd-4'),
      { step: REMOVE_DROPPED, task: 'Delete the Node object of worker-1', node: undefined, commands: [kubectlLines.deleteNode('worker-1')] },
    ]);
    expect(text).toContain('steps=(drain-dropped etcd-join etcd etcd-promote etcd-leave remove-dropped)\n');
    expect(text).toContain('member add etcd-3 --peer-urls=https://10.240.0.23:2380 --learner');
    // The ID differs in every cluster: the replay looks it up by peer URL (or name) on the peer.
    expect(text).toContain(`member promote \\"\\$(env ETCDCTL_API=3`);
    expect(text).toContain(`awk -F', ' '\\$4 == \\"https://10.240.0.23:2380\\" { print \\$1 }')`);
    expect(text).toContain('kubectl --kubeconfig kubeconfigs/admin.kubeconfig drain worker-1 --ignore-daemonsets --delete-emptydir-data --force');
    expect(await lint(text)).toBe('');
  });

  it.each([
    { as: 'root', user: 'root' },
    { as: 'admin with sudo', user: 'admin' },
  ])('shows a backup and a restore as the etcdctl, ssh, scp and tar lines a person types ($as)', async ({ user }) => {
    const members = [0, 1, 2].map((index) => node({ name: `etcd-${index}`, internalIP: `10.240.0.${20 + index}`, sshAddress: `10.240.0.${20 + index}`, user }));
    const withUser = { ...spec, ssh: { ...spec.ssh, user } };
    const backup = renderTranscript({ spec: withUser, clusterDir: '/srv/c', nodes: members, dryRun: false }, backupEntries({ spec: withUser }, members[0]!, '/srv/c/backups/demo 1.tar.gz'));
    // The snapshot is taken before it is copied: the steps replay in this order.
    expect(backup).toContain('steps=(etcd-snapshot backup)\n');
    expect(backup).toContain('snapshot save /var/lib/hardway-backup/snapshot.db');
    expect(backup).toContain('snapshot status /var/lib/hardway-backup/snapshot.db -w json');
    expect(backup).toMatch(/ssh .*@10\.240\.0\.20 .*cat \/var\/lib\/hardway-backup\/snapshot\.db.* > etcd\/snapshot\.db\n/);
    expect(backup).toContain("tar -czf '/srv/c/backups/demo 1.tar.gz' etcd/snapshot.db pki encryption-config.yaml cluster.yaml -C .hardway state.json");
    expect(await lint(backup)).toBe('');

    const restore = renderTranscript({ spec: withUser, clusterDir: '/srv/c', nodes: members, dryRun: false }, [restorePkiEntry('/srv/c/backups/demo.tar.gz'), ...restoreMemberEntries(members, 'demo-etcd-restored-1a2b')]);
    expect(restore).toContain('steps=(restore-pki etcd-restore)\n');
    for (const member of members) expect(restore).toContain(`--name=${member.name} --initial-cluster=etcd-0=https://10.240.0.20:2380,etcd-1=https://10.240.0.21:2380,etcd-2=https://10.240.0.22:2380 --initial-cluster-token=demo-etcd-restored-1a2b`);
    expect(restore).toContain(user === 'root' ? 'restore/etcd/snapshot.db root@10.240.0.21:/var/lib/hardway-backup/restore.db' : 'restore/etcd/snapshot.db admin@10.240.0.21:/tmp/hardway-upload.restore.db');
    expect(await lint(restore)).toBe('');
  });

  const controlPlaneSteps = 'infra pki kubeconfigs encryption hosts binaries etcd control-plane loadbalancer kubelet-access';
  it.each([
    { as: 'root', ssh: {}, workers: 0, steps: `${controlPlaneSteps} verify` },
    { as: 'admin with sudo, through a bastion', ssh: { user: 'admin', port: 2222, bastion: { host: '203.0.113.5', user: 'admin' } }, workers: 0, steps: `${controlPlaneSteps} verify` },
    // With workers, the worker steps' tasks (runtime, routes, images, kubelet) are in it too.
    { as: 'root, two workers', ssh: {}, workers: 2, steps: `${controlPlaneSteps} container-runtime routes images workers verify` },
  ])('of every task of every playbook on every node where its when: holds (each module describe()) passes bash -n and shellcheck ($as)', async ({ ssh, workers, steps: stepList }) => {
    const steps = await loadStepGraph();
    const nodes = { ...labSpecInput.nodes, ...(workers ? { workers: { count: workers } } : {}) };
    const runCtx = testRunContext({ spec: { ...labSpecInput, nodes, ssh }, modules: steps.modules, clusterDir: '/srv/cluster', options: { artifactsDir: '/srv/artifacts' } });
    const prefix = ssh.user ? `${OPTS} -o 'ProxyCommand=ssh ${OPTS} -W %h:%p admin@203.0.113.5' -P 2222` : OPTS;
    const user = ssh.user ?? 'root';
    const entries: TranscriptEntry[] = [];
    for (const playbook of steps.ordered) {
      const targets = playbook.hosts.kind === 'local' ? [undefined] : hostsOf(playbook, runCtx.inventory.nodes);
      // As the engine does: a task whose condition does not hold is skipped and leaves no commands,
      // and a handler runs only when a task that applies notifies it.
      const applying = playbook.tasks.filter((task) => !conditionUnmet(task.when, runCtx));
      const notified = new Set(applying.flatMap((task) => task.notify));
      const handlers = playbook.handlers.filter((handler) => notified.has(handler.name));
      const tasks = [...applying.map((task) => ({ task, handler: undefined as string | undefined })), ...handlers.flatMap((handler) => handler.tasks.map((task) => ({ task, handler: handler.name })))];
      for (const target of targets) {
        for (const { task, handler } of tasks) {
          const module = steps.modules.get(task.module)!;
          const vars = templateVars(runCtx, target);
          const commands = module.describe({ run: runCtx, node: target, vars }, module.args.parse(interpolate(task.args, vars)));
          entries.push({ step: playbook.step, task: task.name, node: target?.name, commands, once: task.once, handler });
        }
      }
    }
    const text = renderTranscript({ spec: runCtx.spec, clusterDir: runCtx.clusterDir, nodes: runCtx.inventory.nodes, dryRun: false }, entries);
    expect(await lint(text)).toBe('');
    expect(text).toContain(`\nsteps=(${stepList})\n`);
    expect(text).toContain("\ncat > pki/ca-csr.json <<'EOF'\n".replace('\ncat', '\n  cat'));
    expect(text).toContain(`  scp ${prefix} /srv/artifacts/etcd ${user}@10.240.0.20:/${ssh.user ? 'tmp/hardway-upload.' : 'usr/local/bin/'}etcd\n`);
    const haproxy = ssh.user ? `"sudo sh -c 'cat > /etc/haproxy/haproxy.cfg.hardway-new'"` : "'cat > /etc/haproxy/haproxy.cfg.hardway-new'";
    expect(text).toContain(`  ssh ${prefix.replace('-P 2222', '-p 2222')} ${user}@10.240.0.30 ${haproxy} <<'EOF'\n`);
  });

  it('never writes a private key', () => {
    expect(() => renderTranscript({ spec, clusterDir: '/c', nodes: [node()], dryRun: false }, [{ step: 'x', task: 'y', node: undefined, commands: ['echo "-----BEGIN RSA PRIVATE KEY-----"'] }])).toThrow(
      /refusing to write a transcript that holds a private key/,
    );
  });
});

describe('a transcript replayed by bash with ssh and scp (real sshd)', () => {
  let remote: RemoteNode;
  let unitsDir: string;

  beforeAll(async () => {
    remote = await remoteNode();
    unitsDir = await mkdtemp(join(tmpdir(), 'hardway-transcript-units-'));
    // A template with what a heredoc must keep as it is: $, backticks, a line "EOF", no final newline.
    await writeFile(join(unitsDir, 'demo.conf'), 'name=<%= it.node.name %>;\nhome=$HOME `id -u`\nEOF\nlast line');
    await mkdir(join(remote.clusterDir, 'pki'), { recursive: true });
    await writeFile(join(remote.clusterDir, 'pki', "it's a key.pem"), 'not really a key\n', { mode: 0o600 });
    await writeFile(join(remote.root, 'hosts'), '127.0.0.1 localhost\n');
  });

  afterAll(async () => {
    await remote?.stop();
    if (unitsDir) await rm(unitsDir, { recursive: true, force: true });
  });

  it('leaves the files the modules would write; their checks then find nothing to do', async () => {
    const runCtx: RunContext = { ...remote.run, spec: { ...remote.run.spec, unitsDir } };
    const target = remote.node;
    const etc = join(remote.root, "etc dir's");
    const tasks: [TaskModule<any>, unknown][] = [
      [directoryModule, { path: etc, mode: '0750' }],
      [copyModule, { src: "pki/it's a key.pem", dest: join(etc, 'key.pem'), mode: '0600' }],
      [templateModule, { src: 'demo.conf', dest: join(etc, 'demo.conf'), mode: '0640' }],
      [etcHostsModule, { path: join(remote.root, 'hosts') }],
      [commandModule, { cmd: `echo "$((6 * 7))" > ${shellQuote(join(etc, 'answer'))}`, creates: join(etc, 'answer') }],
      [waitModule, { tcp: `127.0.0.1:${remote.sshd.port}`, timeout: '5s' }],
    ];
    const entries: TranscriptEntry[] = tasks.map(([module, raw], index) => ({
      step: index < 4 ? 'hosts' : 'etcd',
      task: `task ${index}`,
      node: target.name,
      commands: module.describe({ run: runCtx, node: target, vars: templateVars(runCtx, target) }, module.args.parse(raw)),
    }));
    entries.push({ step: 'etcd', task: 'on the workstation', node: undefined, commands: ['echo finished > workstation.out'] });
    const text = renderTranscript({ spec: { ...runCtx.spec, ssh: { ...runCtx.spec.ssh, keyPath: remote.sshd.keyPath } }, clusterDir: remote.clusterDir, nodes: [target], dryRun: false }, entries);
    expect(text).toContain(`-p ${remote.sshd.port} root@127.0.0.1`);
    expect(text).toContain(`-P ${remote.sshd.port} 'pki/it'\\''s a key.pem' root@127.0.0.1:`);
    expect(await lint(text)).toBe('');

    const file = join(remote.clusterDir, 'transcript.sh');
    await writeFile(file, text);
    await chmod(file, 0o755);
    await run('bash', [file]);

    expect(await readFile(join(etc, 'demo.conf'), 'utf8')).toBe('name=controller-0;\nhome=$HOME `id -u`\nEOF\nlast line');
    expect((await stat(join(etc, 'demo.conf'))).mode & 0o777).toBe(0o640);
    expect(await readFile(join(etc, 'key.pem'), 'utf8')).toBe('not really a key\n');
    expect((await stat(join(etc, 'key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(etc)).mode & 0o777).toBe(0o750);
    expect(await readFile(join(etc, 'answer'), 'utf8')).toBe('42\n');
    expect(await readFile(join(remote.clusterDir, 'workstation.out'), 'utf8')).toBe('finished\n');
    for (const [module, raw] of tasks.slice(0, 5)) {
      const ctx = { ...remote.context(), run: runCtx };
      expect(await module.check(ctx, module.args.parse(raw)), module.name).toMatchObject({ changed: false });
    }

    // Replaying one step again is harmless: the hosts block is replaced, not added twice.
    await run('bash', [file, 'hosts']);
    const hosts = await readFile(join(remote.root, 'hosts'), 'utf8');
    expect(hosts.match(/# BEGIN hardway cluster/g)).toHaveLength(1);
    expect(hosts.startsWith('127.0.0.1 localhost\n')).toBe(true);
  });
});
