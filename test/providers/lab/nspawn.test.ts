import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { ENTER_CGROUPS_SCRIPT, launchCommand, nspawnArgs } from '../../../src/providers/lab/nspawn.ts';
import { isNspawnFor, nspawnMachineOf } from '../../../src/providers/lab/processes.ts';

const options = { root: '/var/lib/hardway/lab/demo/etcd-0/rootfs', netns: 'hw-demo-etcd-0', machine: 'hw-demo-etcd-0', hostname: 'etcd-0' };

describe('nspawn command', () => {
  it('boots without machined or a scope, in the prepared namespace, named for the node', () => {
    const args = nspawnArgs(options);
    for (const flag of ['--capability=CAP_NET_ADMIN', '--register=no', '--keep-unit', '--boot', '--network-namespace-path=/run/netns/hw-demo-etcd-0', `--directory=${options.root}`, '--hostname=etcd-0', '--link-journal=no', '--resolv-conf=off', '--settings=false']) {
      expect(args).toContain(flag);
    }
    expect(args[args.indexOf('-M') + 1]).toBe('hw-demo-etcd-0');
  });

  it('is recognised as the node by its command line, and not as another node', () => {
    const argv = ['systemd-nspawn', ...nspawnArgs(options)];
    expect(isNspawnFor(argv, 'hw-demo-etcd-0')).toBe(true);
    expect(isNspawnFor(argv, 'hw-demo-etcd-1')).toBe(false);
    expect(isNspawnFor(['/usr/bin/systemd-nspawn', '--machine=hw-demo-etcd-0'], 'hw-demo-etcd-0')).toBe(true);
    // The wrapper shell, before it execs nspawn, is not the node.
    const [file, wrapped] = launchCommand(options, { systemd: false, cgroups: ['/sys/fs/cgroup/unified/hardway/hw-demo-etcd-0'] });
    expect(isNspawnFor([file, ...wrapped], 'hw-demo-etcd-0')).toBe(false);
  });

  it('names the machine of any nspawn command line in one reading, and no machine for other commands', () => {
    expect(nspawnMachineOf(['systemd-nspawn', ...nspawnArgs(options)])).toBe('hw-demo-etcd-0');
    expect(nspawnMachineOf(['/usr/bin/systemd-nspawn', '-q', '--machine=hw-demo-worker-1'])).toBe('hw-demo-worker-1');
    expect(nspawnMachineOf(['/usr/bin/systemd-nspawn', '--machine', 'hw-demo-lb'])).toBe('hw-demo-lb');
    // -M as the last word names nothing; other programs carrying -M are not nodes.
    expect(nspawnMachineOf(['systemd-nspawn', '-M'])).toBeUndefined();
    expect(nspawnMachineOf(['/usr/bin/ssh', '-M', 'hw-demo-etcd-0'])).toBeUndefined();
    const [file, wrapped] = launchCommand(options, { systemd: false, cgroups: ['/sys/fs/cgroup/unified/hardway/hw-demo-etcd-0'] });
    expect(nspawnMachineOf([file, ...wrapped])).toBeUndefined();
  });

  it('uses systemd-run for a scope of its own on a systemd host', () => {
    const [file, args] = launchCommand(options, { systemd: true });
    expect(file).toBe('systemd-run');
    expect(args.slice(0, 5)).toEqual(['--scope', '--quiet', '--collect', '--unit=hw-demo-etcd-0', '--']);
    expect(args[5]).toBe('systemd-nspawn');
  });
});

describe('nspawn command of a worker', () => {
  const worker = { root: '/var/lib/hardway/lab/demo/worker-0/rootfs', netns: 'hw-demo-worker-0', machine: 'hw-demo-worker-0', hostname: 'worker-0', workerState: '/var/lib/hardway/lab/demo/worker-0/state' };
  const extras = ['--capability=CAP_NET_ADMIN,CAP_SYSLOG', '--system-call-filter=@keyring', '--bind-ro=/dev/kmsg'];

  it('keeps the capabilities, syscalls and devices containers need, and binds the runtime state from the host', () => {
    const args = nspawnArgs(worker);
    for (const flag of extras) expect(args).toContain(flag);
    expect(args.filter((arg) => arg.startsWith('--bind='))).toEqual([
      '--bind=/var/lib/hardway/lab/demo/worker-0/state/var-lib-containerd:/var/lib/containerd',
      '--bind=/var/lib/hardway/lab/demo/worker-0/state/var-lib-kubelet:/var/lib/kubelet',
      '--bind=/var/lib/hardway/lab/demo/worker-0/state/var-log-pods:/var/log/pods',
    ]);
    // Everything a plain node has, a worker has too (its capabilities are a superset).
    for (const flag of nspawnArgs({ ...options, root: worker.root, netns: worker.netns, machine: worker.machine, hostname: worker.hostname })) if (!flag.startsWith('--capability=')) expect(args).toContain(flag);
    expect(args.filter((arg) => arg.startsWith('--capability='))).toEqual(['--capability=CAP_NET_ADMIN,CAP_SYSLOG']);
  });

  it('gives a plain node none of it, only CAP_NET_ADMIN for the pod routes in its own namespace', () => {
    const args = nspawnArgs(options);
    for (const flag of extras) expect(args).not.toContain(flag);
    expect(args.some((arg) => arg.startsWith('--bind') || arg.startsWith('--system-call-filter'))).toBe(false);
    expect(args.filter((arg) => arg.startsWith('--capability='))).toEqual(['--capability=CAP_NET_ADMIN']);
  });

  it('delegates the controllers of a worker\'s scope on a systemd host, not of a plain node\'s', () => {
    expect(launchCommand(worker, { systemd: true })[1]).toContain('--property=Delegate=yes');
    expect(launchCommand(options, { systemd: true })[1]).not.toContain('--property=Delegate=yes');
  });
});

describe('entering cgroups before nspawn', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes its own PID into every group, then execs the command under the same PID', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-cg-'));
    const groups = [join(dir, 'unified'), join(dir, 'systemd')];
    for (const group of groups) await mkdir(group);
    const { stdout } = await execa('sh', ['-c', ENTER_CGROUPS_SCRIPT, 'test', ...groups, '--', 'sh', '-c', 'echo $$']);
    for (const group of groups) expect((await readFile(join(group, 'cgroup.procs'), 'utf8')).trim()).toBe(stdout.trim());
  });

  it('refuses to start the command when a group cannot be entered', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-cg-'));
    const result = await execa('sh', ['-c', ENTER_CGROUPS_SCRIPT, 'test', join(dir, 'missing'), '--', 'echo', 'started'], { reject: false });
    expect(result.exitCode).toBe(97);
    expect(result.stdout).not.toContain('started');
  });
});
