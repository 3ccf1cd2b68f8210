import { lstat, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { findExecutable } from '../../../src/providers/lab/preflight.ts';
import { isWorker, prepareWorkerState, serviceRouteArgs, WORKER_STATE_DIRS, workerNspawnArgs, workerPlan, workerStatePath } from '../../../src/providers/lab/worker.ts';
import { PINNED_KERNEL_SETTINGS, seedWorkerSetup, WORKER_SETUP_SCRIPT, WORKER_SETUP_UNIT, workerSetupScript, workerSetupUnit } from '../../../src/providers/lab/worker-setup.ts';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = '';
});

describe('worker nodes on the host', () => {
  it('is a worker by role, whatever else it is', () => {
    expect(isWorker({ roles: ['worker'] })).toBe(true);
    expect(isWorker({ roles: ['controller', 'worker'] })).toBe(true);
    expect(isWorker({ roles: ['controller', 'etcd'] })).toBe(false);
  });

  it('keeps containerd, kubelet and pod logs on host directories under the node\'s own', () => {
    expect(WORKER_STATE_DIRS.map(({ inside }) => workerStatePath('/n/state', inside))).toEqual(['/n/state/var-lib-containerd', '/n/state/var-lib-kubelet', '/n/state/var-log-pods']);
    expect(workerNspawnArgs('/n/state')).toContain('--bind=/n/state/var-lib-containerd:/var/lib/containerd');
  });

  it('creates the state directories with the modes the node sees, and repairs them', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-worker-'));
    await prepareWorkerState(join(dir, 'state'));
    await prepareWorkerState(join(dir, 'state'));
    expect((await lstat(join(dir, 'state/var-lib-containerd'))).mode & 0o777).toBe(0o711);
    expect((await lstat(join(dir, 'state/var-lib-kubelet'))).mode & 0o777).toBe(0o700);
    expect((await lstat(join(dir, 'state/var-log-pods'))).mode & 0o777).toBe(0o755);
  });

  it('says in the plan what a worker gets beyond a plain node', () => {
    expect(workerPlan('/n/state', '10.32.0.0/24')).toBe(
      'as a worker: CAP_NET_ADMIN,CAP_SYSLOG, @keyring syscalls, /dev/kmsg read-only; /var/lib/containerd, /var/lib/kubelet, /var/log/pods on /n/state; a cgroup of its own in every v1 hierarchy; hardway-lab-worker.service inside; route 10.32.0.0/24 dev eth0',
    );
  });

  it('routes the service CIDR on the node\'s own link, in its namespace', () => {
    expect(serviceRouteArgs('hw-demo-worker-0', '10.32.0.0/24')).toEqual(['-n', 'hw-demo-worker-0', 'route', 'replace', '10.32.0.0/24', 'dev', 'eth0']);
  });
});

describe('the in-node setup unit', () => {
  it('runs before containerd, kubelet and kube-proxy at every boot', () => {
    const unit = workerSetupUnit();
    expect(unit).toContain('Before=containerd.service kubelet.service kube-proxy.service');
    expect(unit).toContain('WantedBy=multi-user.target');
    expect(unit).toContain('Type=oneshot');
    expect(unit).toContain(`ExecStart=${WORKER_SETUP_SCRIPT}`);
  });

  it('is a valid sh script that does each setting, pinning kubelet\'s kernel values inside the node', async () => {
    const script = workerSetupScript();
    await execa('sh', ['-n', '-c', script]);
    expect(script).toContain('mount -o remount,bind,rw "$hierarchy"');
    expect(script).toContain('mount --bind /proc/sys/net /proc/sys/net');
    expect(script).toContain('echo 1 > /proc/sys/net/ipv4/ip_forward');
    expect(Object.entries(PINNED_KERNEL_SETTINGS)).toEqual([['vm/overcommit_memory', '1'], ['kernel/panic', '10'], ['kernel/panic_on_oops', '1']]);
    for (const [setting, value] of Object.entries(PINNED_KERNEL_SETTINGS)) expect(script).toContain(`pin ${setting} ${value}`);
    // Never sysctl -w: these settings are the machine's.
    expect(script).not.toMatch(/sysctl -w|> \/proc\/sys\/(vm|kernel)/);
    if (await findExecutable('shellcheck', process.env)) expect((await execa('shellcheck', ['-s', 'sh', '-'], { input: script, reject: false })).stdout).toBe('');
  });

  it('is seeded into the node\'s root, executable and enabled, again and again', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-worker-root-'));
    await seedWorkerSetup(dir);
    await seedWorkerSetup(dir);
    expect((await lstat(join(dir, WORKER_SETUP_SCRIPT))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(dir, 'etc/systemd/system', WORKER_SETUP_UNIT), 'utf8')).toBe(workerSetupUnit());
    expect(await readlink(join(dir, 'etc/systemd/system/multi-user.target.wants', WORKER_SETUP_UNIT))).toBe(`/etc/systemd/system/${WORKER_SETUP_UNIT}`);
  });
});
