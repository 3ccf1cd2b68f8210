// A new user's first run (issue 13): a dry run of a cluster that was never built shows the whole
// first run on new machines and exits 0, with a transcript that passes bash -n and shellcheck,
// without making keys or connecting anywhere; `plan --diff` likewise. Also what the package holds,
// and the one-line refusal of a Node older than the supported range.
// (Packing, installing into an empty prefix and running from there: scripts/ci-package.sh.)
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardway, hardwayBin } from '../helpers/cli.ts';

const run = promisify(execFile);
const repo = new URL('../../', import.meta.url);
const CONTROL_PLANE_STEPS = ['infra', 'pki', 'kubeconfigs', 'encryption', 'hosts', 'binaries', 'etcd', 'control-plane', 'loadbalancer', 'kubelet-access'];
// The lab example has no workers: the worker steps have nothing to do on it, so its transcript has no functions for them.
// The AWS example has two workers: its transcript sets up their runtime, routes, images and kubelets too.
const STEPS = {
  lab: [...CONTROL_PLANE_STEPS, 'verify'],
  aws: [...CONTROL_PLANE_STEPS, 'container-runtime', 'routes', 'images', 'workers', 'verify'],
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-first-run-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const hasCommand = async (name: string) =>
  run('sh', ['-c', `command -v ${name}`]).then(
    () => true,
    () => false,
  );

/** bash -n, then shellcheck when installed (CI installs it). */
async function lint(path: string): Promise<void> {
  await run('bash', ['-n', path]);
  if (await hasCommand('shellcheck')) await run('shellcheck', [path]);
}

// Nothing may be reached: no AWS (a closed local port stands for its endpoint), no metadata service.
const offline = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' };

async function firstRun(provider: 'lab' | 'aws', env: NodeJS.ProcessEnv) {
  const name = `new-${provider}`;
  const init = await hardway(['init', name, '--provider', provider], { cwd: dir, env });
  expect(init.code, init.stderr).toBe(0);
  const transcript = join(dir, `${name}.sh`);
  const dry = await hardway(['provision', '--dry-run', '--transcript', transcript, '-c', `${name}/cluster.yaml`], { cwd: dir, env });
  return { name, provider, transcript, dry, clusterDir: join(dir, name) };
}

async function expectWholeFirstRun(result: Awaited<ReturnType<typeof firstRun>>, env: NodeJS.ProcessEnv) {
  const { dry, transcript, clusterDir, name, provider } = result;
  expect(dry.code, `${dry.stdout}\n${dry.stderr}`).toBe(0);
  expect(dry.stdout).toMatch(/RECAP \(dry run: nothing was changed\)/);
  expect(dry.stdout).toMatch(/ 0 failed/);
  const script = await readFile(transcript, 'utf8');
  for (const step of STEPS[provider]) expect(script, step).toContain(`step_${step.replaceAll('-', '_')}() {`);
  expect(script).toContain(`steps=(${STEPS[provider].join(' ')})`);
  // Each node gets its files and units as on a fresh machine: the etcd unit, written and started.
  expect(script).toMatch(/cat > \/etc\/systemd\/system\/etcd\.service/);
  expect(script).toMatch(/systemctl --no-block start etcd/);
  // A first start needs no restart: the handlers have nothing to do on new machines.
  expect(script).not.toMatch(/systemctl --no-block restart etcd/);
  await lint(transcript);
  // Nothing made: no SSH key, no certificates, no state, no known_hosts.
  for (const made of ['ssh', 'pki', 'kubeconfigs', 'encryption-config.yaml', 'known_hosts', '.hardway/state.json']) expect(existsSync(join(clusterDir, made)), made).toBe(false);

  const diff = await hardway(['plan', '--diff', '-c', `${name}/cluster.yaml`], { cwd: dir, env });
  expect(diff.code, `${diff.stdout}\n${diff.stderr}`).toBe(0);
  expect(diff.stdout).toMatch(/^etcd: Bootstrap the etcd cluster$/m);
  expect(diff.stdout).toContain('+++ /etc/systemd/system/etcd.service (rendered)');
  expect(existsSync(join(clusterDir, 'ssh'))).toBe(false);
  return script;
}

describe('a dry run of a cluster that was never built', () => {
  it('aws: the provider plan with nothing found, without asking AWS; every step on new instances', async () => {
    const result = await firstRun('aws', offline);
    const script = await expectWholeFirstRun(result, offline);
    expect(result.dry.stdout).toMatch(/would \d+ to create(?: or change)?: create vpc hardway-new-aws-vpc/);
    // Public addresses are known only once the instances exist: the script takes them from the environment.
    expect(script).toContain('#   HARDWAY_ADDR_CONTROLLER_0=ADDRESS   (controller-0, 10.240.0.10)');
    expect(script).toMatch(/admin@"\$HARDWAY_ADDR_ETCD_0" /);
  });

  const labReady = process.getuid?.() === 0 && existsSync('/usr/bin/systemd-nspawn');
  it.skipIf(!labReady)('lab: every machine, bridge and image to create, then every step as on fresh nodes', async () => {
    const env = { ...offline, HARDWAY_CACHE_DIR: join(dir, 'cache') };
    const result = await firstRun('lab', env);
    await expectWholeFirstRun(result, env);
    // A new image cache: the image too is to be made.
    expect(result.dry.stdout).toMatch(/would 8 to create: create image node-bookworm-/);
    const script = await readFile(result.transcript, 'utf8');
    expect(script).toContain('scp -i ssh/id_ed25519');
    expect(script).toContain('root@10.240.0.20');
  });
});

describe('the package', () => {
  it('holds what the commands read and nothing of the tests or sources', async () => {
    // --ignore-scripts: listing must not clean or rebuild this tree's dist/.
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repo, maxBuffer: 16 * 1024 * 1024 });
    const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((file) => file.path);
    for (const wanted of ['bin/hardway.js', 'package.json', 'examples/lab/cluster.yaml', 'examples/aws/cluster.yaml', 'examples/static/cluster.yaml', 'playbooks/70-etcd.yaml', 'units/etcd.service', 'scripts/fill-artifacts.sh']) {
      expect(files, wanted).toContain(wanted);
    }
    expect(files.filter((file) => /^(test|src|bench|docs|\.ci)\/|\.map$/.test(file))).toEqual([]);
  });

  it('bin/hardway.js and "engines" name the same oldest Node', async () => {
    const pkg = JSON.parse(await readFile(new URL('package.json', repo), 'utf8')) as { engines: { node: string } };
    const bin = await readFile(hardwayBin, 'utf8');
    expect(pkg.engines.node).toBe(`>=${/MIN_NODE_MAJOR = (\d+);/.exec(bin)?.[1]}`);
  });

  const oldNode = '/usr/bin/node';
  it('refuses an older Node in one line with exit 3, before loading anything', async (context) => {
    if (!existsSync(oldNode)) return context.skip();
    const { stdout: version } = await run(oldNode, ['-p', 'process.versions.node']);
    if (Number(version.split('.')[0]) >= 22) return context.skip();
    const result = await run(oldNode, [hardwayBin, 'provision', '--dry-run']).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`hardway needs Node.js >= 22 (22 or 24), but this is Node.js v${version.trim()} (${oldNode}); install Node 24 and run it again.\n`);
  });
});
