// The binaries module: the pure decision, the shell it describes, and real runs against an sshd on
// 127.0.0.1 with artifacts from a directory (SHA256SUMS) and from a release server on 127.0.0.1
// (the download path, into the cache). Files land under the test's own directory (`dir` argument).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parsePlaybook } from '../../src/engine/playbook.ts';
import { StateStore } from '../../src/engine/state.ts';
import { binariesArgs, binariesModule, decideBinaries, uploadProgress } from '../../src/modules/binaries.ts';
import { describedText } from '../../src/modules/described.ts';
import { type RunContext, ModuleRegistry } from '../../src/modules/module.ts';
import { clusterSpecSchema } from '../../src/spec/schema.ts';
import { labSpecInput, projectRoot, testRunContext, testTaskContext } from '../helpers/context.ts';
import { startReleaseServer, type ReleaseServer } from '../artifacts/release-server.ts';
import { buildWorkerArchives, serveWorkerReleases, workerBinaries } from '../artifacts/worker-releases.ts';
import { converge, remoteNode, type RemoteNode } from './remote-node.ts';

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const KUBE = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
const CNI = ['cni-bridge', 'cni-host-local', 'cni-loopback', 'cni-portmap'] as const;
const versions = { kubernetes: '1.32.3', etcd: '3.5.16', containerd: '1.7.24', runc: '1.2.3', cniPlugins: '1.6.1' };

describe('decideBinaries (fixtures)', () => {
  const artifact = { name: 'etcd' as const, path: '/cache/etcd', sha256: 'a'.repeat(64), origin: 'https://example/etcd.tar.gz (etcd)', from: 'cache' as const };
  it('is ok, naming the files and versions, when every file matches', () => {
    expect(decideBinaries([], ['etcd', 'etcdctl'], versions)).toEqual({ changed: false, reason: 'sha256 matches: etcd, etcdctl (etcd v3.5.16)' });
    expect(decideBinaries([], ['kubelet', 'kube-proxy'], versions).reason).toBe('sha256 matches: kubelet, kube-proxy (Kubernetes v1.32.3)');
    expect(decideBinaries([], ['containerd', 'ctr', 'runc', 'cni-bridge'], versions).reason).toBe('sha256 matches: containerd, ctr, runc, cni-bridge (containerd v1.7.24, runc v1.2.3, CNI plugins v1.6.1)');
  });
  it('lists what changes and why, with the new digest and origin in the diff', () => {
    const result = decideBinaries([{ artifact, dest: '/usr/local/bin/etcd', reason: 'upload (missing)', action: 'transfer' }], ['etcdctl'], versions);
    expect(result).toMatchObject({ changed: true, reason: 'etcd: upload (missing)', diff: `/usr/local/bin/etcd: upload (missing) -> sha256 ${'a'.repeat(64)} (https://example/etcd.tar.gz (etcd))` });
  });
});

describe('binaries describe', () => {
  it('prints download, verification and copy commands for the node architecture', () => {
    const run = testRunContext({ state: StateStore.inMemory('test', { facts: { 'etcd-0': { arch: 'aarch64', goArch: 'arm64' } } }) });
    const node = run.inventory.nodes.find((item) => item.name === 'etcd-0');
    const lines = describedText(binariesModule.describe({ run, node, vars: {} }, binariesArgs.parse({ role: 'etcd', files: ['etcd', 'etcdctl'] })), node);
    expect(lines).toEqual([
      '# on the workstation:',
      'curl -fsSLO https://github.com/etcd-io/etcd/releases/download/v3.5.16/etcd-v3.5.16-linux-arm64.tar.gz',
      "curl -fsSL https://github.com/etcd-io/etcd/releases/download/v3.5.16/SHA256SUMS | grep ' etcd-v3.5.16-linux-arm64.tar.gz$' | sha256sum --check",
      'tar -xzf etcd-v3.5.16-linux-arm64.tar.gz --strip-components=1 etcd-v3.5.16-linux-arm64/etcd etcd-v3.5.16-linux-arm64/etcdctl',
      '# on etcd-0:',
      'scp etcd root@10.240.0.20:/usr/local/bin/etcd',
      'chmod 0755 /usr/local/bin/etcd',
      'chown root:root /usr/local/bin/etcd',
      'scp etcdctl root@10.240.0.20:/usr/local/bin/etcdctl',
      'chmod 0755 /usr/local/bin/etcdctl',
      'chown root:root /usr/local/bin/etcdctl',
    ]);
  });

  it('checks the artifacts directory instead when one is given, and prints nothing for other roles', () => {
    const run = testRunContext({ options: { artifactsDir: '/srv/artifacts' } });
    const controller = run.inventory.nodes.find((item) => item.name === 'controller-0');
    const args = binariesArgs.parse({ role: 'controller', files: ['kube-apiserver'] });
    expect(describedText(binariesModule.describe({ run, node: controller, vars: {} }, args), controller).slice(0, 4)).toEqual([
      '# on the workstation:',
      '(cd /srv/artifacts && sha256sum --check --ignore-missing SHA256SUMS)',
      '# on controller-0:',
      'scp /srv/artifacts/kube-apiserver root@10.240.0.10:/usr/local/bin/kube-apiserver',
    ]);
    const lb = run.inventory.nodes.find((item) => item.name === 'lb-0');
    expect(binariesModule.describe({ run, node: lb, vars: {} }, args)).toEqual([]);
  });
});

describe('binaries describe (worker)', () => {
  const workerSpec = { ...labSpecInput, nodes: { ...labSpecInput.nodes, workers: { count: 1 } } };
  const worker = (run: RunContext) => run.inventory.nodes.find((item) => item.name === 'worker-0');
  const describeWorker = (args: unknown, run = testRunContext({ spec: workerSpec })) => describedText(binariesModule.describe({ run, node: worker(run), vars: {} }, binariesArgs.parse(args)), worker(run));
  const upload = (local: string, dest: string) => [`scp ${local} root@10.240.0.40:${dest}`, `chmod 0755 ${dest}`, `chown root:root ${dest}`];

  it('accepts the worker role and refuses names it does not know', () => {
    expect(binariesArgs.parse({ role: 'worker', files: ['runc'], dir: '/usr/local/sbin' })).toEqual({ role: 'worker', files: ['runc'], dir: '/usr/local/sbin' });
    expect(binariesArgs.safeParse({ role: 'worker', files: ['bridge'] }).success).toBe(false);
  });

  it('fetches kubelet and kube-proxy from dl.k8s.io like the control plane binaries', () => {
    expect(describeWorker({ role: 'worker', files: ['kubelet', 'kube-proxy'] })).toEqual([
      '# on the workstation:',
      'curl -fsSLo kubelet https://dl.k8s.io/release/v1.32.3/bin/linux/amd64/kubelet',
      'echo "$(curl -fsSL https://dl.k8s.io/release/v1.32.3/bin/linux/amd64/kubelet.sha256)  kubelet" | sha256sum --check',
      'curl -fsSLo kube-proxy https://dl.k8s.io/release/v1.32.3/bin/linux/amd64/kube-proxy',
      'echo "$(curl -fsSL https://dl.k8s.io/release/v1.32.3/bin/linux/amd64/kube-proxy.sha256)  kube-proxy" | sha256sum --check',
      '# on worker-0:',
      ...upload('kubelet', '/usr/local/bin/kubelet'),
      ...upload('kube-proxy', '/usr/local/bin/kube-proxy'),
    ]);
  });

  it('downloads the containerd tarball once, checks it against its .sha256sum and unpacks the three binaries', () => {
    const base = 'https://github.com/containerd/containerd/releases/download/v1.7.24';
    expect(describeWorker({ role: 'worker', files: ['containerd', 'containerd-shim-runc-v2', 'ctr'] })).toEqual([
      '# on the workstation:',
      `curl -fsSLO ${base}/containerd-1.7.24-linux-amd64.tar.gz`,
      `curl -fsSL ${base}/containerd-1.7.24-linux-amd64.tar.gz.sha256sum | grep ' containerd-1.7.24-linux-amd64.tar.gz$' | sha256sum --check`,
      'tar -xzf containerd-1.7.24-linux-amd64.tar.gz --strip-components=1 bin/containerd bin/containerd-shim-runc-v2 bin/ctr',
      '# on worker-0:',
      ...upload('containerd', '/usr/local/bin/containerd'),
      ...upload('containerd-shim-runc-v2', '/usr/local/bin/containerd-shim-runc-v2'),
      ...upload('ctr', '/usr/local/bin/ctr'),
    ]);
  });

  it('checks runc.<arch> against runc.sha256sum and installs it as runc in the given dir', () => {
    const run = testRunContext({ spec: workerSpec, state: StateStore.inMemory('test', { facts: { 'worker-0': { arch: 'aarch64', goArch: 'arm64' } } }) });
    const base = 'https://github.com/opencontainers/runc/releases/download/v1.2.3';
    expect(describeWorker({ role: 'worker', files: ['runc'], dir: '/usr/local/sbin' }, run)).toEqual([
      '# on the workstation:',
      `curl -fsSLO ${base}/runc.arm64`,
      `curl -fsSL ${base}/runc.sha256sum | grep ' runc.arm64$' | sha256sum --check`,
      '# on worker-0:',
      ...upload('runc.arm64', '/usr/local/sbin/runc'),
    ]);
  });

  it('unpacks ./bridge ... from the CNI plugins archive and installs each under its plugin name', () => {
    const base = 'https://github.com/containernetworking/plugins/releases/download/v1.6.1';
    expect(describeWorker({ role: 'worker', files: [...CNI], dir: '/opt/cni/bin' })).toEqual([
      '# on the workstation:',
      `curl -fsSLO ${base}/cni-plugins-linux-amd64-v1.6.1.tgz`,
      `curl -fsSL ${base}/cni-plugins-linux-amd64-v1.6.1.tgz.sha256 | grep ' cni-plugins-linux-amd64-v1.6.1.tgz$' | sha256sum --check`,
      'tar -xzf cni-plugins-linux-amd64-v1.6.1.tgz --strip-components=1 ./bridge ./host-local ./loopback ./portmap',
      '# on worker-0:',
      ...['bridge', 'host-local', 'loopback', 'portmap'].flatMap((plugin) => upload(plugin, `/opt/cni/bin/${plugin}`)),
    ]);
  });

  it('copies the artifacts directory files (named cni-bridge ...) under their install names, and nothing to non-workers', () => {
    const run = testRunContext({ spec: workerSpec, options: { artifactsDir: '/srv/artifacts' } });
    const args = { role: 'worker', files: ['cni-bridge', 'runc'], dir: '/opt/cni/bin' };
    expect(describeWorker(args, run)).toEqual([
      '# on the workstation:',
      '(cd /srv/artifacts && sha256sum --check --ignore-missing SHA256SUMS)',
      '# on worker-0:',
      ...upload('/srv/artifacts/cni-bridge', '/opt/cni/bin/bridge'),
      ...upload('/srv/artifacts/runc', '/opt/cni/bin/runc'),
    ]);
    const controller = run.inventory.nodes.find((item) => item.name === 'controller-0');
    expect(binariesModule.describe({ run, node: controller, vars: {} }, binariesArgs.parse(args))).toEqual([]);
  });
});

describe('binaries on a node (real sshd)', () => {
  let remote: RemoteNode;
  let artifacts: string;
  let bin: string;

  beforeAll(async () => {
    remote = await remoteNode();
    artifacts = await mkdtemp(join(tmpdir(), 'binaries-artifacts-'));
    for (const name of [...KUBE, 'etcd', 'etcdctl', ...CNI]) {
      await writeFile(join(artifacts, name), `#!/bin/sh\necho ${name}\n${'x'.repeat(10_000)}\n`);
      await chmod(join(artifacts, name), 0o755);
    }
    execFileSync('sh', ['-c', 'sha256sum etcd etcdctl kube-* cni-* > SHA256SUMS'], { cwd: artifacts });
  });

  afterAll(async () => {
    await remote?.stop();
    if (artifacts) await rm(artifacts, { recursive: true, force: true });
  });

  beforeEach(async () => {
    bin = await mkdtemp(join(remote.root, 'bin-'));
  });

  function context(run: RunContext = { ...remote.run, options: { ...remote.run.options, artifactsDir: artifacts } }) {
    return testTaskContext(run, remote.node, remote.transport);
  }

  it('installs the files of its role once, then finds them converged', async () => {
    const ctx = context();
    const args = { role: 'controller', files: [...KUBE], dir: bin };
    const first = await converge(binariesModule, ctx, args);
    expect(first.check).toMatchObject({ changed: true, reason: KUBE.map((name) => `${name}: upload (missing)`).join('; ') });
    expect(first.applied).toEqual({ changed: true, reason: `installed ${KUBE.join(', ')}` });
    for (const name of KUBE) {
      expect(await readFile(join(bin, name))).toEqual(await readFile(join(artifacts, name)));
      expect((await stat(join(bin, name))).mode & 0o777).toBe(0o755);
    }

    const second = await converge(binariesModule, context(), args);
    expect(second.check).toEqual({ changed: false, reason: `sha256 matches: ${KUBE.join(', ')} (Kubernetes v1.32.3)` });
    expect(second.applied).toBeUndefined();
  });

  it('installs the CNI plugins of the artifacts directory under their plugin names on a worker', async () => {
    const worker = { ...remote.node, roles: ['worker' as const] };
    const args = { role: 'worker', files: [...CNI], dir: bin };
    const first = await converge(binariesModule, testTaskContext({ ...remote.run, options: { ...remote.run.options, artifactsDir: artifacts } }, worker, remote.transport), args);
    expect(first.applied).toEqual({ changed: true, reason: `installed ${CNI.join(', ')}` });
    expect(first.check).toMatchObject({ diff: expect.stringContaining(`${join(bin, 'host-local')}: upload (missing) -> sha256 `) });
    for (const name of CNI) expect(await readFile(join(bin, name.slice('cni-'.length)))).toEqual(await readFile(join(artifacts, name)));
    expect((await readdir(bin)).sort()).toEqual(['bridge', 'host-local', 'loopback', 'portmap']);
    const second = await converge(binariesModule, testTaskContext({ ...remote.run, options: { ...remote.run.options, artifactsDir: artifacts } }, worker, remote.transport), args);
    expect(second.check).toEqual({ changed: false, reason: `sha256 matches: ${CNI.join(', ')} (CNI plugins v1.6.1)` });
  });

  it('replaces only a file whose content or mode drifted', async () => {
    const args = { role: 'controller', files: [...KUBE], dir: bin };
    await converge(binariesModule, context(), args);
    await writeFile(join(bin, 'kube-scheduler'), 'something else');
    await chmod(join(bin, 'kube-apiserver'), 0o644);
    const result = await converge(binariesModule, context(), args);
    const size = (await stat(join(artifacts, 'kube-scheduler'))).size;
    expect(result.check).toMatchObject({ changed: true, reason: `kube-apiserver: set mode 0644 -> 0755; kube-scheduler: upload (content differs: 14 -> ${size} bytes)` });
    expect(await readFile(join(bin, 'kube-scheduler'))).toEqual(await readFile(join(artifacts, 'kube-scheduler')));
    expect((await stat(join(bin, 'kube-apiserver'))).mode & 0o777).toBe(0o755);
  });

  it('remembers each file by its stamp, and still finds one rewritten with the same size and mtime', async () => {
    const run: RunContext = { ...remote.run, options: { ...remote.run.options, artifactsDir: artifacts } };
    const args = { role: 'controller', files: [...KUBE], dir: bin };
    await converge(binariesModule, context(run), args);
    const dest = join(bin, 'kube-scheduler');
    expect(run.state.knownFile(remote.node.name, dest)).toEqual({ stamp: expect.stringMatching(/^\d+\|/), sha256: createHash('sha256').update(await readFile(join(artifacts, 'kube-scheduler'))).digest('hex') });
    expect((await converge(binariesModule, context(run), args)).check.changed).toBe(false);
    const before = await stat(dest);
    const bytes = await readFile(dest);
    bytes[bytes.length - 2] = 'y'.charCodeAt(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(dest, bytes);
    await utimes(dest, before.atime, before.mtime);
    const result = await converge(binariesModule, context(run), args);
    expect(result.check).toMatchObject({ changed: true, reason: 'kube-scheduler: upload (content differs: sha256)' });
    expect(await readFile(dest)).toEqual(await readFile(join(artifacts, 'kube-scheduler')));
  });

  it('does nothing on a node without the role, without connecting', async () => {
    const ctx = testTaskContext({ ...remote.run, options: { ...remote.run.options, artifactsDir: artifacts } }, remote.node);
    expect(await binariesModule.check(ctx, binariesArgs.parse({ role: 'etcd', files: ['etcd', 'etcdctl'], dir: bin }))).toEqual({ changed: false, reason: 'not an etcd node: nothing to install' });
  });

  it('refuses to install a file that does not match SHA256SUMS, and installs nothing', async () => {
    const tampered = await mkdtemp(join(tmpdir(), 'binaries-tampered-'));
    try {
      execFileSync('cp', ['-a', `${artifacts}/.`, tampered]);
      await writeFile(join(tampered, 'kube-controller-manager'), 'evil');
      const run = { ...remote.run, options: { ...remote.run.options, artifactsDir: tampered } };
      const error = await binariesModule.check(testTaskContext(run, remote.node, remote.transport), binariesArgs.parse({ role: 'controller', files: [...KUBE], dir: bin })).catch((caught: unknown) => caught as Error);
      expect((error as Error).message).toBe(
        `sha256 mismatch for ${join(tampered, 'kube-controller-manager')}: expected ${sha(await readFile(join(artifacts, 'kube-controller-manager')))} (from ${join(tampered, 'SHA256SUMS')}), got ${sha('evil')}`,
      );
    } finally {
      await rm(tampered, { recursive: true, force: true });
    }
  });

  describe('downloading (release server on 127.0.0.1)', () => {
    let server: ReleaseServer;
    const saved = { ...process.env };
    const etcdBinary = Buffer.from('etcd from the release tarball\n'.repeat(100));
    const etcdctlBinary = Buffer.from('etcdctl from the release tarball\n'.repeat(100));

    beforeAll(async () => {
      server = await startReleaseServer();
      const work = await mkdtemp(join(tmpdir(), 'binaries-release-'));
      const top = join(work, 'etcd-v3.5.16-linux-amd64');
      await mkdir(top);
      await writeFile(join(top, 'etcd'), etcdBinary);
      await writeFile(join(top, 'etcdctl'), etcdctlBinary);
      execFileSync('tar', ['-czf', join(work, 'etcd.tar.gz'), '-C', work, 'etcd-v3.5.16-linux-amd64']);
      const tarball = await readFile(join(work, 'etcd.tar.gz'));
      await rm(work, { recursive: true, force: true });
      server.files.set('/etcd/v3.5.16/etcd-v3.5.16-linux-amd64.tar.gz', tarball);
      server.files.set('/etcd/v3.5.16/SHA256SUMS', `${sha(tarball)}  etcd-v3.5.16-linux-amd64.tar.gz\n`);
      process.env.HARDWAY_ETCD_RELEASE_URL = `${server.url}/etcd`;
      process.env.HARDWAY_KUBERNETES_RELEASE_URL = `${server.url}/k8s`;
    });

    afterAll(async () => {
      process.env.HARDWAY_ETCD_RELEASE_URL = saved.HARDWAY_ETCD_RELEASE_URL;
      process.env.HARDWAY_KUBERNETES_RELEASE_URL = saved.HARDWAY_KUBERNETES_RELEASE_URL;
      if (saved.HARDWAY_ETCD_RELEASE_URL === undefined) delete process.env.HARDWAY_ETCD_RELEASE_URL;
      if (saved.HARDWAY_KUBERNETES_RELEASE_URL === undefined) delete process.env.HARDWAY_KUBERNETES_RELEASE_URL;
      await server?.close();
    });

    it('fetches the release for the node architecture into the cache once and installs from it', async () => {
      const spec = clusterSpecSchema.parse({ ...labSpecInput, artifacts: { cacheDir: 'artifact-cache' } });
      const run: RunContext = { ...remote.run, spec };
      const node = { ...remote.node, roles: ['etcd' as const] };
      const args = { role: 'etcd', files: ['etcd', 'etcdctl'], dir: bin };
      const ctx = testTaskContext(run, node, remote.transport);
      const first = await converge(binariesModule, ctx, args);
      expect(first.applied).toEqual({ changed: true, reason: 'installed etcd, etcdctl' });
      expect(await readFile(join(bin, 'etcd'))).toEqual(etcdBinary);
      expect(await readFile(join(bin, 'etcdctl'))).toEqual(etcdctlBinary);
      expect(ctx.lines).toEqual([`downloading ${server.url}/etcd/v3.5.16/etcd-v3.5.16-linux-amd64.tar.gz`]);
      expect((await stat(join(remote.clusterDir, 'artifact-cache/etcd/v3.5.16/linux-amd64/etcd'))).isFile()).toBe(true);

      server.requests.length = 0;
      const second = await converge(binariesModule, testTaskContext(run, node, remote.transport), args);
      expect(second.check).toEqual({ changed: false, reason: 'sha256 matches: etcd, etcdctl (etcd v3.5.16)' });
      expect(server.requests).toEqual([]);
    });
  });

  describe('downloading worker releases (release server on 127.0.0.1, mirror variables)', () => {
    let server: ReleaseServer;
    const names = ['HARDWAY_KUBERNETES_RELEASE_URL', 'HARDWAY_CONTAINERD_RELEASE_URL', 'HARDWAY_RUNC_RELEASE_URL', 'HARDWAY_CNI_RELEASE_URL'] as const;
    const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));

    beforeAll(async () => {
      server = await startReleaseServer();
      const urls = serveWorkerReleases(server, await buildWorkerArchives());
      process.env.HARDWAY_KUBERNETES_RELEASE_URL = urls.kubernetes;
      process.env.HARDWAY_CONTAINERD_RELEASE_URL = urls.containerd;
      process.env.HARDWAY_RUNC_RELEASE_URL = urls.runc;
      process.env.HARDWAY_CNI_RELEASE_URL = urls.cniPlugins;
    });

    afterAll(async () => {
      for (const name of names) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
      await server?.close();
    });

    it('installs each playbook task\'s files under their install names, then downloads nothing', async () => {
      const spec = clusterSpecSchema.parse({ ...labSpecInput, artifacts: { cacheDir: 'worker-cache' } });
      const run: RunContext = { ...remote.run, spec };
      const worker = { ...remote.node, roles: ['worker' as const] };
      const sbin = await mkdtemp(join(remote.root, 'sbin-'));
      const cni = await mkdtemp(join(remote.root, 'cni-'));
      const tasks = [
        { role: 'worker', files: ['kubelet', 'kube-proxy'], dir: bin },
        { role: 'worker', files: ['containerd', 'containerd-shim-runc-v2', 'ctr'], dir: bin },
        { role: 'worker', files: ['runc'], dir: sbin },
        { role: 'worker', files: [...CNI], dir: cni },
      ];
      for (const args of tasks) expect((await converge(binariesModule, testTaskContext(run, worker, remote.transport), args)).applied).toMatchObject({ changed: true });
      for (const name of ['kubelet', 'kube-proxy', 'containerd', 'containerd-shim-runc-v2', 'ctr'] as const) expect(await readFile(join(bin, name))).toEqual(workerBinaries[name]);
      expect(await readFile(join(sbin, 'runc'))).toEqual(workerBinaries.runc);
      expect((await stat(join(sbin, 'runc'))).mode & 0o777).toBe(0o755);
      for (const plugin of ['bridge', 'host-local', 'loopback', 'portmap'] as const) expect(await readFile(join(cni, plugin))).toEqual(workerBinaries[plugin]);
      expect((await readdir(cni)).sort()).toEqual(['bridge', 'host-local', 'loopback', 'portmap']);

      server.requests.length = 0;
      const again = [];
      for (const args of tasks) again.push((await converge(binariesModule, testTaskContext(run, worker, remote.transport), args)).check.reason);
      expect(again).toEqual([
        'sha256 matches: kubelet, kube-proxy (Kubernetes v1.32.3)',
        'sha256 matches: containerd, containerd-shim-runc-v2, ctr (containerd v1.7.24)',
        'sha256 matches: runc (runc v1.2.3)',
        `sha256 matches: ${CNI.join(', ')} (CNI plugins v1.6.1)`,
      ]);
      expect(server.requests).toEqual([]);
    });
  });
});

describe('uploadProgress', () => {
  it('logs at most every 2 s and then the end, and nothing for a file sent within 2 s', () => {
    const lines: string[] = [];
    let clock = 0;
    const progress = uploadProgress((line) => lines.push(line), 'kube-apiserver -> /usr/local/bin/kube-apiserver', () => clock);
    const total = 110 * 1024 * 1024;
    for (clock = 0; clock < 5_000; clock += 100) progress((clock / 10_000) * total, total);
    progress(total, total);
    expect(lines).toEqual([
      'uploading kube-apiserver -> /usr/local/bin/kube-apiserver: 22 of 110 MiB (20%)',
      'uploading kube-apiserver -> /usr/local/bin/kube-apiserver: 44 of 110 MiB (40%)',
      'uploading kube-apiserver -> /usr/local/bin/kube-apiserver: 110 of 110 MiB (100%)',
    ]);
    const quick: string[] = [];
    const small = uploadProgress((line) => quick.push(line), 'etcdctl', () => 0);
    small(10, 20);
    small(20, 20);
    expect(quick).toEqual([]);
  });
});

describe('playbooks/60-binaries.yaml', () => {
  it('loads, runs on all nodes after hosts, and each replaced binary owes a restart of the service running it', async () => {
    const file = join(projectRoot, 'playbooks', '60-binaries.yaml');
    const playbook = parsePlaybook(await readFile(file, 'utf8'), file, new ModuleRegistry([binariesModule]));
    expect(playbook).toMatchObject({ step: 'binaries', needs: ['hosts'], hosts: { kind: 'all' } });
    // The worker tasks are the lead's to write; the control plane's are pinned here.
    const controlPlane = playbook.tasks.filter((task) => (task.args as { role?: string }).role !== 'worker');
    expect(controlPlane.map((task) => [task.module, task.args, task.notify])).toEqual([
      ['binaries', { role: 'etcd', files: ['etcd'] }, ['etcd: restart etcd']],
      ['binaries', { role: 'etcd', files: ['etcdctl'] }, []],
      ['binaries', { role: 'controller', files: ['kube-apiserver'] }, ['control-plane: restart kube-apiserver']],
      ['binaries', { role: 'controller', files: ['kube-controller-manager'] }, ['control-plane: restart kube-controller-manager']],
      ['binaries', { role: 'controller', files: ['kube-scheduler'] }, ['control-plane: restart kube-scheduler']],
    ]);
  });
});
