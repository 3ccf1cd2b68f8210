// Benchmark (root, Linux): hardway against the tool its users would pick instead, Ansible (Debian's
// ansible-core, installed here if missing), doing the same node work on the same six lab nodes of
// the example spec (3 etcd, 2 controllers, the haproxy node), measured in the same run.
//
// What the Ansible side does, from Ansible's own modules: the hostname and the cluster block of
// /etc/hosts (blockinfile), the directories (file), the binaries, certificates, keys, kubeconfigs
// and units (copy; the units rendered beforehand by hardway from units/, so both install the same
// bytes), the haproxy configuration (copy with `validate: haproxy -c`), the services (systemd),
// handlers that restart on change (etcd and the API servers one node at a time, each waited healthy,
// as hardway's serial handlers do) and the health waits. One play over all nodes with a `when:` per
// role; its handlers run at the end of the play (Ansible's way: a binary replaced in one step then
// restarts the service another step installs), where hardway runs each step's at that step's end.
// Tuned as an expert runs it: pipelining, ControlMaster/ControlPersist, forks for every node, no
// fact gathering, the linear strategy (the etcd members must start together).
// What it does not do: the workstation steps (CA, certificates, kubeconfigs, encryption config;
// hardway makes them once for both), machine creation (the lab provider), the kubelet RBAC and the
// verify step (API calls, not node work).
//
// It prints first-provision and no-op times of both and their ratio (hardway's no-op runs the same
// node steps; its no-op with the workstation steps re-checked too is printed beside it), the SSH
// round trips hardway made, and checks that both left byte-identical files on the nodes (sha256 of every file either
// installs).
//   sudo node bench/ansible.ts [--rounds 3]
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { openCluster } from '../src/cli/common.ts';
import { planContext } from '../src/cli/run-context.ts';
import { loadStepGraph } from '../src/cli/steps.ts';
import type { Playbook, PlaybookTask } from '../src/engine/playbook.ts';
import { hostsOf } from '../src/engine/select.ts';
import { interpolate, templateVars } from '../src/engine/vars.ts';
import { type Node } from '../src/inventory/node.ts';
import { describedText } from '../src/modules/described.ts';
import { defaultEntries, renderHostsBlock } from '../src/modules/etc-hosts.ts';
import { renderTemplate } from '../src/modules/template.ts';
import { artifactsDir, freeSubnet, labSpec } from '../test/e2e/lab-helpers.ts';
import { hardway } from '../test/helpers/cli.ts';

const exec = promisify(execFile);
/** The node steps both tools carry out (the loadbalancer step's haproxy part included). */
const NODE_STEPS = ['hosts', 'binaries', 'etcd', 'control-plane', 'loadbalancer'];

type AnsibleTask = Record<string, unknown>;

interface Generated {
  playbook: AnsibleTask[];
  hostVars: Record<string, Record<string, unknown>>;
  /** Per node: every file either tool installs, for the byte comparison. */
  files: Record<string, string[]>;
}

/** Why: a handler's name in Ansible must be unique across the play; hardway's are per step. */
const handlerName = (step: string, name: string) => `${step}: ${name}`;

function notifyOf(step: string, task: PlaybookTask): string[] {
  return task.notify.map((name) => (name.includes(': ') ? name : handlerName(step, name)));
}

/** hardway's wait and command describe() lines, as one shell line Ansible runs (same semantics). */
function shellOf(lines: readonly string[]): string {
  return lines.filter((line) => !line.startsWith('#')).join(' && ');
}

/**
 * Why: the Ansible playbook is generated from the same playbooks and templates, so both tools do
 * the same work; each task's per-node values go into host_vars (`t12.src`), as an expert would.
 */
export async function generateAnsible(clusterDir: string, artifacts: string, renderedDir: string): Promise<Generated> {
  const cluster = await openCluster({ config: join(clusterDir, 'cluster.yaml') }, { stdout: () => undefined, stderr: () => undefined, isTTY: false, env: process.env } as never);
  const steps = await loadStepGraph();
  const run = planContext(cluster, steps.modules);
  const nodes = run.inventory.nodes;
  const tasks: AnsibleTask[] = [];
  const handlers: AnsibleTask[] = [];
  const hostVars: Record<string, Record<string, unknown>> = Object.fromEntries(run.inventory.nodes.map((node) => [node.name, { ansible_host: node.sshAddress }]));
  const files: Record<string, string[]> = Object.fromEntries(run.inventory.nodes.map((node) => [node.name, [] as string[]]));
  let counter = 0;
  const perNode = (targets: readonly Node[], value: (node: Node) => Record<string, unknown> | undefined): { key: string; when: string } => {
    const key = `t${++counter}`;
    for (const node of targets) {
      const values = value(node);
      if (values) hostVars[node.name]![key] = values;
    }
    return { key, when: `${key} is defined` };
  };
  const rendered = async (node: Node, dest: string, content: Buffer) => {
    const path = join(renderedDir, node.name, dest);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
    return path;
  };
  const caOnNode = new Map<string, string>();

  const translate = async (playbook: Playbook, task: PlaybookTask, targets: readonly Node[], notify: string[], where: AnsibleTask[]) => {
    const module = steps.modules.get(task.module)!;
    const argsOf = (node: Node) => module.args.parse(interpolate(task.args, templateVars(run, node))) as Record<string, any>;
    const common = { name: `${playbook.step}: ${task.name}`, ...(notify.length ? { notify } : {}) };
    switch (task.module) {
      case 'facts':
        return;
      case 'hostname': {
        const { key, when } = perNode(targets, (node) => ({ name: argsOf(node).name }));
        for (const node of targets) files[node.name]!.push('/etc/hostname');
        where.push({ ...common, 'ansible.builtin.copy': { content: `{{ ${key}.name }}\n`, dest: '/etc/hostname', mode: '0644' }, when });
        where.push({ name: `${common.name} (now)`, 'ansible.builtin.shell': `[ "$(hostname)" = "{{ ${key}.name }}" ] && echo same || hostname "{{ ${key}.name }}"`, register: `${key}_now`, changed_when: `${key}_now.stdout != 'same'`, when });
        return;
      }
      case 'etc-hosts': {
        const block = renderHostsBlock(run.spec.name, defaultEntries(run.inventory.nodes)).split('\n');
        for (const node of targets) files[node.name]!.push('/etc/hosts');
        where.push({ ...common, 'ansible.builtin.blockinfile': { path: '/etc/hosts', marker: '{mark}', marker_begin: block[0], marker_end: block.at(-1), block: block.slice(1, -1).join('\n') } });
        return;
      }
      case 'directory': {
        const { key, when } = perNode(targets, (node) => argsOf(node));
        where.push({ ...common, 'ansible.builtin.file': { path: `{{ ${key}.path }}`, state: 'directory', mode: `{{ ${key}.mode }}`, owner: `{{ ${key}.owner }}`, group: `{{ ${key}.group }}` }, when });
        return;
      }
      case 'binaries': {
        const { key, when } = perNode(targets, (node) => (node.roles.includes(argsOf(node).role) ? { files: argsOf(node).files, dir: argsOf(node).dir } : undefined));
        for (const node of targets) for (const file of (hostVars[node.name]![key] as { files: string[] } | undefined)?.files ?? []) files[node.name]!.push(`/usr/local/bin/${file}`);
        where.push({ ...common, 'ansible.builtin.copy': { src: `${artifacts}/{{ item }}`, dest: `{{ ${key}.dir }}/{{ item }}`, mode: '0755', owner: 'root', group: 'root' }, loop: `{{ ${key}.files }}`, when });
        return;
      }
      case 'copy': {
        const { key, when } = perNode(targets, (node) => {
          const args = argsOf(node);
          files[node.name]!.push(args.dest);
          caOnNode.set(`${node.name} ${args.src}`, args.dest);
          return { src: join(clusterDir, args.src), dest: args.dest, mode: args.mode ?? '0644' };
        });
        where.push({ ...common, 'ansible.builtin.copy': { src: `{{ ${key}.src }}`, dest: `{{ ${key}.dest }}`, mode: `{{ ${key}.mode }}`, owner: 'root', group: 'root' }, when });
        return;
      }
      case 'template': {
        const reload = [...notify, ...(task.args as { dest?: string }).dest?.startsWith('/etc/systemd/system/') ? ['systemd: daemon-reload'] : []];
        const values = new Map<string, Record<string, unknown>>();
        for (const node of targets) {
          const args = argsOf(node);
          const content = renderTemplate({ run, node, vars: templateVars(run, node), task: task.name }, args as never);
          files[node.name]!.push(args.dest);
          values.set(node.name, { src: await rendered(node, args.dest, content), dest: args.dest, mode: args.mode ?? '0644' });
        }
        const { key, when } = perNode(targets, (node) => values.get(node.name));
        where.push({ ...common, ...(reload.length ? { notify: reload } : {}), 'ansible.builtin.copy': { src: `{{ ${key}.src }}`, dest: `{{ ${key}.dest }}`, mode: `{{ ${key}.mode }}`, owner: 'root', group: 'root' }, when });
        return;
      }
      case 'service': {
        const { key, when } = perNode(targets, (node) => argsOf(node));
        const state = (task.args as { state?: string }).state;
        where.push({ ...common, 'ansible.builtin.systemd': { name: `{{ ${key}.name }}`, ...(state === 'restarted' ? { state: 'restarted' } : { enabled: true, state: 'started' }) }, when });
        return;
      }
      case 'wait':
      case 'command': {
        // The wait's CA is the workstation's; on the node the copy task put it here.
        // A `once` task runs on the first of its nodes only (run_once would pick the play's first host).
        const ran = task.once ? targets.slice(0, 1) : targets;
        const { key, when } = perNode(ran, (node) => {
          const args = argsOf(node);
          const lines = describedText(module.describe({ run, node, vars: templateVars(run, node) }, args as never), node).filter((line) => !/^scp |^rm -f \/tmp\/hardway-wait-/.test(line));
          const ca = args.ca ? (caOnNode.get(`${node.name} ${args.ca}`) ?? args.ca) : '';
          return { sh: shellOf(lines).replaceAll('/tmp/hardway-wait-ca.pem', ca) };
        });
        where.push({ ...common, 'ansible.builtin.shell': `{{ ${key}.sh }}`, ...(task.module === 'wait' ? { changed_when: false } : {}), when });
        return;
      }
      case 'loadbalancer': {
        const lb = nodes.lb();
        const values = new Map<string, Record<string, unknown>>();
        for (const node of lb) {
          const content = renderTemplate({ run, node, vars: templateVars(run, node), task: task.name }, { src: 'haproxy.cfg' });
          files[node.name]!.push('/etc/haproxy/haproxy.cfg');
          values.set(node.name, { src: await rendered(node, '/etc/haproxy/haproxy.cfg', content) });
        }
        const { key, when } = perNode(lb, (node) => values.get(node.name));
        where.push({ name: `${common.name} (haproxy.cfg)`, 'ansible.builtin.copy': { src: `{{ ${key}.src }}`, dest: '/etc/haproxy/haproxy.cfg', mode: '0644', validate: 'haproxy -c -f %s' }, notify: ['loadbalancer: reload haproxy'], when });
        where.push({ name: `${common.name} (service)`, 'ansible.builtin.systemd': { name: 'haproxy', enabled: true, state: 'started' }, when });
        return;
      }
      default:
        throw new Error(`bench/ansible.ts has no Ansible equivalent for module ${task.module} (step ${playbook.step})`);
    }
  };

  handlers.push({ name: 'systemd: daemon-reload', 'ansible.builtin.systemd': { daemon_reload: true } });
  handlers.push({ name: 'loadbalancer: reload haproxy', 'ansible.builtin.systemd': { name: 'haproxy', state: 'reloaded' } });
  for (const name of NODE_STEPS) {
    const playbook = steps.ordered.find((candidate) => candidate.step === name)!;
    const targets = playbook.hosts.kind === 'local' ? nodes.lb() : hostsOf(playbook, nodes);
    for (const task of playbook.tasks) await translate(playbook, task, targets, notifyOf(name, task), tasks);
    for (const handler of playbook.handlers) {
      // A serial hardway handler (several tasks, one node at a time) is one Ansible handler task
      // running them as one shell line, throttled to one node: the same order, per node.
      const parts: AnsibleTask[] = [];
      for (const task of handler.tasks) await translate(playbook, task, targets, [], parts);
      const name = handlerName(playbook.step, handler.name);
      if (handler.serial) {
        const restart = handler.tasks.find((task) => task.module === 'service')!;
        const unit = (restart.args as { name: string }).name;
        const others = parts.filter((part) => 'ansible.builtin.shell' in part);
        const key = `t${++counter}`;
        for (const node of targets) {
          const shells = others.map((part) => (part['ansible.builtin.shell'] as string).replace(/\{\{ (t\d+)\.sh \}\}/, (_, k: string) => (hostVars[node.name]![k] as { sh: string } | undefined)?.sh ?? 'true'));
          const command = handler.tasks.findIndex((task) => task.module === 'command');
          const handOff = command >= 0 && command < handler.tasks.indexOf(restart) ? shells.slice(0, 1) : [];
          const waits = shells.slice(handOff.length);
          hostVars[node.name]![key] = { sh: [...handOff.map((line) => `{ ${line}; }`), `systemctl restart ${unit}`, ...waits].join(' && ') };
        }
        handlers.push({ name, 'ansible.builtin.shell': `{{ ${key}.sh }}`, throttle: 1, when: `${key} is defined` });
      } else {
        handlers.push(...parts.map((part, index) => ({ ...part, name: index === 0 ? name : `${name} (${index + 1})`, ...(index > 0 ? { listen: name } : {}) })));
      }
    }
  }
  const play = { name: 'hardway node steps, as Ansible', hosts: 'all', gather_facts: false, become: false, tasks, handlers };
  return { playbook: [play], hostVars, files };
}

async function ansible(dir: string): Promise<{ ms: number; changed: number }> {
  const started = performance.now();
  const { stdout } = await exec('ansible-playbook', ['-i', join(dir, 'ansible/inventory.yaml'), join(dir, 'ansible/playbook.yaml')], {
    cwd: join(dir, 'ansible'),
    env: { ...process.env, ANSIBLE_CONFIG: join(dir, 'ansible/ansible.cfg') },
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - started;
  const changed = [...stdout.matchAll(/changed=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
  return { ms, changed };
}

async function hardwayRun(dir: string, args: string[]): Promise<{ ms: number; changed: number; roundTripsPerTask: number; steps: { step: string; durationMs: number }[] }> {
  const started = performance.now();
  const result = await hardway(['-c', join(dir, 'cluster.yaml'), '--json', ...args], { timeoutMs: 900_000 });
  const ms = performance.now() - started;
  if (result.code !== 0) throw new Error(`hardway ${args.join(' ')} failed (${result.code}): ${result.stderr}\n${result.stdout.slice(-2000)}`);
  const report = JSON.parse(result.stdout) as { totals: { changed: number }; ssh?: { perTask?: number }; stepDurations: { step: string; durationMs: number }[] };
  return { ms, changed: report.totals.changed, roundTripsPerTask: report.ssh?.perTask ?? NaN, steps: report.stepDurations };
}

/** sha256 of every file either tool installs, per node, through hardway's own ssh. */
async function fileHashes(dir: string, files: Record<string, string[]>): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const [node, paths] of Object.entries(files)) {
    if (!paths.length) continue;
    const result = await hardway(['-c', join(dir, 'cluster.yaml'), 'ssh', node, '--', `sha256sum ${[...new Set(paths)].join(' ')}`]);
    if (result.code !== 0) throw new Error(`sha256sum on ${node} failed: ${result.stderr}`);
    for (const line of result.stdout.trim().split('\n')) {
      const [sum, path] = line.split(/\s+/);
      hashes[`${node}:${path}`] = sum!;
    }
  }
  return hashes;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** Why: the figure users care about is how hardway compares with what they would use instead. */
export async function benchAnsible(rounds: number): Promise<void> {
  await exec('ansible-playbook', ['--version']).catch(async () => {
    console.error('installing Debian ansible-core (apt) for the peer');
    await exec('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'ansible-core'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  });
  const artifacts = await artifactsDir();
  const dir = await mkdtemp(join(tmpdir(), 'hardway-bench-ansible-'));
  const name = `bna${randomBytes(2).toString('hex')}`;
  const subnet = await freeSubnet('10.249');
  const cli = (...args: string[]) => hardway(['-c', join(dir, 'cluster.yaml'), ...args], { timeoutMs: 900_000 });
  try {
    await writeFile(join(dir, 'cluster.yaml'), await labSpec('cluster.yaml', name, subnet));
    // The machines and the workstation files, once, for both tools.
    const local = await cli('provision', '--step', 'infra', '--step', 'pki', '--step', 'kubeconfigs', '--step', 'encryption', '--artifacts-dir', artifacts);
    if (local.code !== 0) throw new Error(`hardway provision (machines, pki) failed: ${local.stderr}`);
    const generated = await generateAnsible(dir, artifacts, join(dir, 'ansible/rendered'));
    // Ansible's ssh checks the host keys strictly against the cluster's known_hosts, as hardway
    // does: hardway pins each new node's key on its first contact.
    for (const node of Object.keys(generated.hostVars)) {
      const pinned = await cli('ssh', node, '--', 'true');
      if (pinned.code !== 0) throw new Error(`hardway ssh ${node} failed: ${pinned.stderr}`);
    }
    await writeFile(join(dir, 'ansible/playbook.yaml'), stringify(generated.playbook, { lineWidth: 0 }));
    await writeFile(join(dir, 'ansible/inventory.yaml'), stringify({ all: { hosts: generated.hostVars } }, { lineWidth: 0 }));
    const ssh = `-o ControlMaster=auto -o ControlPersist=120s -o UserKnownHostsFile=${join(dir, 'known_hosts')} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
    await writeFile(
      join(dir, 'ansible/ansible.cfg'),
      [
        '[defaults]',
        `forks = ${Object.keys(generated.hostVars).length}`,
        'remote_user = root',
        `private_key_file = ${join(dir, 'ssh/id_ed25519')}`,
        'host_key_checking = True',
        'interpreter_python = /usr/bin/python3',
        'gathering = explicit',
        'retry_files_enabled = False',
        'stdout_callback = default',
        '[ssh_connection]',
        'pipelining = True',
        `ssh_args = ${ssh}`,
        `control_path_dir = ${join(dir, 'cp')}`,
        '',
      ].join('\n'),
    );

    const ansibleFirst = await ansible(dir);
    const ansibleNoop: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const noop = await ansible(dir);
      if (noop.changed) throw new Error(`Ansible's re-run changed ${noop.changed} things: not a no-op`);
      ansibleNoop.push(noop.ms);
    }
    const afterAnsible = await fileHashes(dir, generated.files);

    // Fresh machines for hardway: destroy keeps the PKI, so the same files go out again.
    if ((await cli('destroy', '--yes')).code !== 0) throw new Error('hardway destroy failed');
    const machines = await cli('provision', '--step', 'infra', '--artifacts-dir', artifacts);
    if (machines.code !== 0) throw new Error(`hardway provision --step infra failed: ${machines.stderr}`);
    // --with-deps: the workstation steps' records went with the machines; they reuse every file.
    const nodeSteps = [...NODE_STEPS.flatMap((step) => ['--step', step]), '--with-deps'];
    const hardwayFirst = await hardwayRun(dir, ['provision', ...nodeSteps, '--artifacts-dir', artifacts]);
    // The no-op does what Ansible's does, the node steps (their prerequisites have records now);
    // with --with-deps it also re-checks the machines and every workstation file, shown apart.
    const sameWork = NODE_STEPS.flatMap((step) => ['--step', step]);
    const hardwayNoop: number[] = [];
    const hardwayNoopWithDeps: number[] = [];
    let perTask = NaN;
    for (let round = 0; round < rounds; round++) {
      const noop = await hardwayRun(dir, ['provision', ...sameWork, '--artifacts-dir', artifacts]);
      if (noop.changed) throw new Error(`hardway's re-run changed ${noop.changed} things: not a no-op`);
      hardwayNoop.push(noop.ms);
      perTask = noop.roundTripsPerTask;
      const withDeps = await hardwayRun(dir, ['provision', ...nodeSteps, '--artifacts-dir', artifacts]);
      if (withDeps.changed) throw new Error(`hardway's re-run with its prerequisites changed ${withDeps.changed} things: not a no-op`);
      hardwayNoopWithDeps.push(withDeps.ms);
    }
    const afterHardway = await fileHashes(dir, generated.files);
    const differing = Object.keys({ ...afterAnsible, ...afterHardway }).filter((file) => afterAnsible[file] !== afterHardway[file]);

    const load = (await exec('cat', ['/proc/loadavg'])).stdout.split(' ').slice(0, 3).join(' ');
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(`bench/ansible: ${Object.keys(generated.hostVars).length} lab nodes, steps ${NODE_STEPS.join(', ')}; load average ${load}`);
    console.log(`  first provision   hardway ${seconds(hardwayFirst.ms)}   Ansible ${seconds(ansibleFirst.ms)}   ratio ${(hardwayFirst.ms / ansibleFirst.ms).toFixed(3)}`);
    console.log(`  no-op (median/${rounds}) hardway ${seconds(median(hardwayNoop))}   Ansible ${seconds(median(ansibleNoop))}   ratio ${(median(hardwayNoop) / median(ansibleNoop)).toFixed(3)}`);
    console.log(`  no-op with the workstation steps too (--with-deps: machines, PKI, kubeconfigs, encryption; Ansible does none): hardway ${seconds(median(hardwayNoopWithDeps))}`);
    console.log(`  hardway no-op: ${perTask.toFixed(2)} SSH round trips per task`);
    console.log(`  hardway first provision per step: ${hardwayFirst.steps.map((entry) => `${entry.step} ${(entry.durationMs / 1000).toFixed(1)}s`).join(', ')}`);
    console.log(`  files compared: ${Object.keys(afterHardway).length}; differing: ${differing.length ? differing.join(', ') : 'none (byte-identical)'}`);
    if (differing.length) process.exitCode = 1;
  } finally {
    await cli('destroy', '--yes');
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const index = process.argv.indexOf('--rounds');
  await benchAnsible(index > 0 ? Number(process.argv[index + 1]) : 3);
}
