import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { customiseImage, debootstrapArgs, findImage, IMAGE_MARKER, lastDebootstrapLine, IMAGE_PACKAGES, imageKey, imageName, imagesDir, type ImageInputs } from '../../../src/providers/lab/image.ts';

const inputs: ImageInputs = { suite: 'bookworm', mirror: 'http://deb.debian.org/debian', packages: IMAGE_PACKAGES, arch: 'x64' };

describe('node image identity', () => {
  it('includes what nodes need: systemd, sshd, python3 for the stand-ins, haproxy for lb', () => {
    for (const pkg of ['systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'iproute2', 'ca-certificates', 'python3', 'haproxy', 'curl']) expect(IMAGE_PACKAGES).toContain(pkg);
  });

  it('includes what workers run pods with: Debian\'s containerd, runc, CNI plugins, iptables, conntrack', () => {
    for (const pkg of ['containerd', 'runc', 'containernetworking-plugins', 'iptables', 'conntrack']) expect(IMAGE_PACKAGES).toContain(pkg);
  });

  it('keys the cache by packages, suite and mirror, not by package order', () => {
    const key = imageKey(inputs);
    expect(key).toMatch(/^[0-9a-f]{12}$/);
    expect(imageKey({ ...inputs, packages: [...IMAGE_PACKAGES].reverse() })).toBe(key);
    expect(imageKey({ ...inputs, packages: [...IMAGE_PACKAGES, 'etcd-server'] })).not.toBe(key);
    expect(imageKey({ ...inputs, suite: 'trixie' })).not.toBe(key);
    expect(imageKey({ ...inputs, mirror: 'http://other.example/debian' })).not.toBe(key);
    expect(imageName(inputs)).toBe(`node-bookworm-${key}`);
  });

  it('builds a minbase root with the packages named', () => {
    expect(debootstrapArgs(inputs, '/cache/tmp')).toEqual([
      '--variant=minbase',
      '--include=systemd,systemd-sysv,dbus,openssh-server,iproute2,ca-certificates,python3,haproxy,curl,containerd,runc,containernetworking-plugins,iptables,conntrack',
      'bookworm',
      '/cache/tmp',
      'http://deb.debian.org/debian',
    ]);
  });
});

describe('customiseImage', () => {
  let root = '';
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function fakeDebootstrapRoot(): Promise<string> {
    root = await mkdtemp(join(tmpdir(), 'hardway-image-'));
    const wants = join(root, 'etc/systemd/system/multi-user.target.wants');
    await mkdir(wants, { recursive: true });
    await symlink('/lib/systemd/system/haproxy.service', join(wants, 'haproxy.service'));
    await symlink('/lib/systemd/system/containerd.service', join(wants, 'containerd.service'));
    await symlink('/lib/systemd/system/ssh.service', join(wants, 'ssh.service'));
    await mkdir(join(root, 'etc/ssh'), { recursive: true });
    for (const name of ['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub', 'ssh_host_rsa_key', 'sshd_config']) await writeFile(join(root, 'etc/ssh', name), 'x');
    await writeFile(join(root, 'etc/machine-id'), 'd375b4b18383420fa71646d9eacaa4f2\n');
    await writeFile(join(root, 'etc/hostname'), 'buildhost\n');
    await mkdir(join(root, 'var/lib/dbus'), { recursive: true });
    await writeFile(join(root, 'var/lib/dbus/machine-id'), 'd375b4b18383420fa71646d9eacaa4f2\n');
    await mkdir(join(root, 'var/cache/apt/archives'), { recursive: true });
    await writeFile(join(root, 'var/cache/apt/archives/haproxy_2.6_amd64.deb'), 'deb');
    return root;
  }

  it('removes shared identities, keeps sshd able to start, and leaves haproxy and containerd for their steps', async () => {
    const dir = await fakeDebootstrapRoot();
    await customiseImage(dir, inputs);
    expect((await readdir(join(dir, 'etc/ssh'))).filter((name) => name.startsWith('ssh_host_'))).toEqual([]);
    expect(await readFile(join(dir, 'etc/machine-id'), 'utf8')).toBe('');
    await expect(stat(join(dir, 'var/lib/dbus/machine-id'))).rejects.toThrow();
    expect(await readFile(join(dir, 'etc/hostname'), 'utf8')).toBe('localhost\n');
    const dropIn = await readFile(join(dir, 'etc/systemd/system/ssh.service.d/hardway-host-keys.conf'), 'utf8');
    // The reset line must come first, then key generation before sshd's own config test.
    expect(dropIn.split('\n').filter((line) => line.startsWith('ExecStartPre'))).toEqual(['ExecStartPre=', 'ExecStartPre=/usr/bin/ssh-keygen -A', 'ExecStartPre=/usr/sbin/sshd -t']);
    expect(await readFile(join(dir, 'etc/ssh/sshd_config.d/hardway.conf'), 'utf8')).toContain('PermitRootLogin prohibit-password');
    const wants = join(dir, 'etc/systemd/system/multi-user.target.wants');
    expect(await readdir(wants)).toEqual(['ssh.service']);
    expect((await lstat(join(dir, 'root/.ssh'))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(dir, 'var/cache/apt/archives'))).toEqual([]);
    expect(JSON.parse(await readFile(join(dir, IMAGE_MARKER), 'utf8'))).toMatchObject({ name: imageName(inputs), suite: 'bookworm' });
  });

  it('counts an image as cached only once its marker exists', async () => {
    root = await mkdtemp(join(tmpdir(), 'hardway-cache-'));
    const path = join(imagesDir(root), imageName(inputs));
    await mkdir(join(path, 'etc'), { recursive: true });
    expect(await findImage(root, inputs)).toBeUndefined();
    await writeFile(join(path, IMAGE_MARKER), '{}');
    expect(await findImage(root, inputs)).toBe(path);
  });
});

describe('lastDebootstrapLine', () => {
  it('reads how far debootstrap got from its log, for the progress line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hardway-image-log-'));
    try {
      const log = join(dir, 'image.log');
      expect(await lastDebootstrapLine(log)).toBeUndefined();
      await writeFile(log, 'I: Retrieving InRelease \nI: Checking Release signature\nW: a warning\nI: Retrieving libc6 2.36-9\nsome output\n');
      expect(await lastDebootstrapLine(log)).toBe('Retrieving libc6 2.36-9');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
