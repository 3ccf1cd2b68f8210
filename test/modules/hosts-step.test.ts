// The `hosts` step: hostname and facts are decided from fixtures (the machine running the tests is
// never renamed); /etc/hosts handling runs for real against a temp file through sshd; the playbook
// loads with the real module registry.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { arch } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/engine/state.ts';
import { parsePlaybook } from '../../src/engine/playbook.ts';
import { decideEtcHosts, etcHostsModule, updateHostsFile } from '../../src/modules/etc-hosts.ts';
import { decideFacts, FACTS_COMMAND, factsModule, parseFacts } from '../../src/modules/facts.ts';
import { decideHostname, hostnameArgs, hostnameCommands, hostnameModule, parseHostnameFacts } from '../../src/modules/hostname.ts';
import { ModuleRegistry } from '../../src/modules/module.ts';
import { remoteModules } from '../../src/modules/remote-modules.ts';
import { projectRoot, testRunContext, testTaskContext } from '../helpers/context.ts';
import { converge, remoteNode, type RemoteNode } from './remote-node.ts';

const DEBIAN_HOSTS = `127.0.0.1\tlocalhost
127.0.1.1\tdebian

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
`;
const entries = [
  { ip: '10.240.0.10', names: ['controller-0'] },
  { ip: '10.240.0.20', names: ['etcd-0'] },
];

describe('hostname (fixtures)', () => {
  const args = hostnameArgs.parse({ name: 'controller-0' });
  it('is ok when the name is set now and at boot', () => {
    expect(decideHostname(parseHostnameFacts('controller-0\n--\ncontroller-0\n--\nnone\n'), args)).toEqual({ changed: false, reason: 'hostname is controller-0' });
    expect(decideHostname(parseHostnameFacts('controller-0\n--\ncontroller-0\n--\npreserved\n'), args)).toMatchObject({ changed: false });
  });
  it('sets both, and keeps cloud-init from undoing it', () => {
    const facts = parseHostnameFacts('--\nip-10-240-0-10\n--\ncloud\n');
    expect(facts).toEqual({ configured: '', current: 'ip-10-240-0-10', cloudInit: 'cloud' });
    expect(decideHostname(facts, args)).toMatchObject({
      changed: true,
      reason: 'set hostname ip-10-240-0-10 -> controller-0, write /etc/hostname, keep cloud-init from resetting it (preserve_hostname)',
    });
    expect(hostnameCommands('controller-0', facts)).toEqual([
      "printf '%s\\n' controller-0 > /etc/hostname",
      'hostname controller-0 2>/dev/null || hostnamectl set-hostname controller-0',
      "printf 'preserve_hostname: true\\n' > /etc/cloud/cloud.cfg.d/99-hardway-hostname.cfg",
    ]);
  });
  it('rejects names that are not hostnames', () => {
    expect(hostnameArgs.safeParse({ name: 'Bad_Name' }).success).toBe(false);
    expect(hostnameArgs.safeParse({ name: 'x; reboot' }).success).toBe(false);
  });
  it('describes the commands', () => {
    const run = testRunContext();
    expect(hostnameModule.describe({ run, node: undefined, vars: {} }, { name: 'etcd-0' })).toEqual(["printf '%s\\n' etcd-0 > /etc/hostname", 'hostname etcd-0 2>/dev/null || hostnamectl set-hostname etcd-0']);
  });
});

describe('/etc/hosts block (fixtures)', () => {
  it('appends a managed block, keeping every other line', () => {
    const next = updateHostsFile(DEBIAN_HOSTS, 'lab', entries);
    expect(next).toBe(`${DEBIAN_HOSTS}# BEGIN hardway cluster lab (managed by hardway; edits inside this block are replaced)\n10.240.0.10 controller-0\n10.240.0.20 etcd-0\n# END hardway cluster lab\n`);
    expect(updateHostsFile(next, 'lab', entries)).toBe(next);
    expect(decideEtcHosts(next, 'lab', entries)).toEqual({ changed: false, reason: '2 cluster entries present' });
  });
  it('replaces the block in place when the nodes change, and leaves another cluster alone', () => {
    const withOther = `${updateHostsFile(DEBIAN_HOSTS, 'other', [{ ip: '10.9.9.9', names: ['x'] }])}# mine\n`;
    const first = updateHostsFile(withOther, 'lab', entries);
    const second = updateHostsFile(first, 'lab', [{ ip: '10.240.0.11', names: ['controller-1'] }]);
    expect(second).toContain('10.9.9.9 x');
    expect(second).toContain('# mine\n');
    expect(second).not.toContain('etcd-0');
    expect(second.match(/# BEGIN hardway cluster lab/g)).toHaveLength(1);
    const decision = decideEtcHosts(first, 'lab', [{ ip: '10.240.0.11', names: ['controller-1'] }]);
    expect(decision).toMatchObject({ changed: true, reason: 'update 1 cluster entry in /etc/hosts' });
    expect(decision.changed && decision.diff).toContain('-10.240.0.20 etcd-0');
  });
  it('handles a file without a final newline', () => {
    expect(updateHostsFile('127.0.0.1 localhost', 'lab', entries)).toMatch(/^127\.0\.0\.1 localhost\n# BEGIN/);
  });
});

describe('facts (fixtures)', () => {
  const debian = 'arch=x86_64\nkernel=6.1.0-18-amd64\nos=debian\nosVersion=12\nosName=Debian GNU/Linux 12 (bookworm)\nsystemd=252\nsystemdRunning=yes\n';
  it('records new facts as a probe, and is ok when they are recorded', () => {
    const facts = parseFacts(debian);
    expect(facts.goArch).toBe('amd64');
    const first = decideFacts(facts, undefined);
    expect(first).toMatchObject({ changed: true, probe: true, reason: 'record facts (Debian GNU/Linux 12 (bookworm), x86_64, systemd 252)' });
    const recorded = first.changed ? first.plan : undefined;
    expect(recorded).not.toHaveProperty('systemdRunning');
    expect(decideFacts(facts, recorded)).toEqual({ changed: false, reason: 'Debian GNU/Linux 12 (bookworm), x86_64, systemd 252' });
  });
  it('refuses machines that cannot run the control plane', () => {
    expect(() => decideFacts(parseFacts(debian.replace('x86_64', 'riscv64')), undefined)).toThrow('architecture riscv64 is not supported');
    expect(() => decideFacts(parseFacts(debian.replace('systemd=252\n', '')), undefined)).toThrow('systemd is not installed');
    expect(() => decideFacts(parseFacts(debian.replace('systemdRunning=yes', 'systemdRunning=no')), undefined)).toThrow('systemd is not running as PID 1');
  });
});

describe('hosts step modules on a node (real sshd)', () => {
  let remote: RemoteNode;
  beforeAll(async () => {
    remote = await remoteNode();
  });
  afterAll(() => remote.stop());

  it('writes the cluster block into a hosts file, then finds it converged', async () => {
    const path = join(remote.root, 'hosts');
    await writeFile(path, DEBIAN_HOSTS);
    const first = await converge(etcHostsModule, remote.context(), { path });
    const count = remote.run.inventory.nodes.length;
    expect(count).toBe(6);
    expect(first.check).toMatchObject({ changed: true, reason: `add ${count} cluster entries in ${path}` });
    const written = await readFile(path, 'utf8');
    expect(written.startsWith(DEBIAN_HOSTS)).toBe(true);
    for (const node of remote.run.inventory.nodes) expect(written).toContain(`${node.internalIP} ${node.name}\n`);
    expect((await converge(etcHostsModule, remote.context(), { path })).check).toEqual({ changed: false, reason: `${count} cluster entries present` });
  });

  it('reads real facts and records them in the state, or refuses a machine without systemd', async () => {
    const facts = parseFacts((await remote.transport.exec(FACTS_COMMAND)).stdout);
    expect(facts.arch).toBe(arch() === 'x64' ? 'x86_64' : 'aarch64');
    const osRelease = await readFile('/etc/os-release', 'utf8');
    expect(osRelease).toContain(`ID=${facts.os}`);
    expect(facts.systemdRunning).toBe(existsSync('/run/systemd/system') ? 'yes' : 'no');

    const state = StateStore.inMemory('test');
    const run = { ...remote.run, state };
    const ctx = testTaskContext(run, remote.node, remote.transport);
    if (facts.systemdRunning === 'yes') {
      await converge(factsModule, ctx, {});
      expect(state.data.facts['controller-0']).toMatchObject({ arch: facts.arch, os: facts.os });
    } else {
      await expect(converge(factsModule, ctx, {})).rejects.toMatchObject({ message: 'controller-0: systemd is not running as PID 1 (no /run/systemd/system); boot the machine with systemd', where: { node: 'controller-0' } });
      expect(state.data.facts).toEqual({});
    }
  });
});

describe('playbooks/50-hosts.yaml', () => {
  it('loads with the remote modules and runs on every node after infra', async () => {
    const file = join(projectRoot, 'playbooks', '50-hosts.yaml');
    const playbook = parsePlaybook(await readFile(file, 'utf8'), file, new ModuleRegistry(remoteModules()));
    expect(playbook.step).toBe('hosts');
    expect(playbook.needs).toEqual(['infra']);
    expect(playbook.hosts).toEqual({ kind: 'all' });
    expect(playbook.tasks.map((task) => task.module)).toEqual(['facts', 'hostname', 'etc-hosts', 'directory', 'directory', 'directory', 'directory', 'directory']);
    expect(playbook.tasks.filter((task) => task.module === 'directory').map((task) => (task.args as { path: string; mode: string }).path + ' ' + (task.args as { mode: string }).mode)).toEqual([
      '/etc/etcd 0700',
      '/var/lib/etcd 0700',
      '/etc/kubernetes 0755',
      '/etc/kubernetes/config 0755',
      '/var/lib/kubernetes 0700',
    ]);
  });
});
