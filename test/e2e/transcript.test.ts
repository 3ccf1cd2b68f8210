// `hardway up --transcript FILE` on the lab, then the transcript replayed by hand: the machines are
// destroyed and made again (`provision --step infra`), bash runs the transcript's node steps with
// ssh/scp, and hardway then finds nothing to change and its verify step accepts the cluster.
// Root and Linux only; builds its own cluster and destroys it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardway } from '../helpers/cli.ts';
import { artifactsDir, expectOk, freeSubnet, labLeftovers, labSpec, requireRoot } from './lab-helpers.ts';

const exec = promisify(execFile);


describe('lab: a transcript of `up`, replayed by hand', () => {
  const name = `tr${randomBytes(2).toString('hex')}`;
  let subnet = '';
  let dir = '';
  let artifacts = '';
  let transcript = '';
  const cli = (...args: string[]) => hardway(['-c', join(dir, 'cluster.yaml'), ...args], { timeoutMs: 600_000 });

  beforeAll(async () => {
    requireRoot();
    subnet = await freeSubnet('10.247');
    artifacts = await artifactsDir();
    dir = await mkdtemp(join(tmpdir(), 'hardway-transcript-e2e-'));
    transcript = join(dir, 'up-transcript.sh');
    const spec = await labSpec('cluster.yaml', name, subnet);
    await writeFile(join(dir, 'cluster.yaml'), spec);
  });

  afterAll(async () => {
    if (dir) {
      const destroyed = await cli('destroy', '--yes');
      expect(destroyed.code, destroyed.stderr).toBe(0);
      expect(await labLeftovers(name)).toEqual([]);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is a bash script that passes bash -n and shellcheck, with ssh/scp per node and no secret in it', async () => {
    expectOk(await cli('up', '--artifacts-dir', artifacts, '--transcript', transcript));
    const text = await readFile(transcript, 'utf8');
    await exec('bash', ['-n', transcript]);
    const findings = await exec('shellcheck', ['--format=gcc', transcript]).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(findings).toBe('');

    const ssh = '-i ssh/id_ed25519 -o IdentitiesOnly=yes -o UserKnownHostsFile=known_hosts -o StrictHostKeyChecking=accept-new';
    expect(text).toContain(`cd ${dir}\n`);
    expect(text).toMatch(/^steps=\(infra pki kubeconfigs encryption hosts binaries etcd control-plane loadbalancer kubelet-access verify\)$/m);
    expect(text).toContain('cfssl gencert -initca pki/ca-csr.json | cfssljson -bare pki/ca');
    expect(text).toContain('kubectl config set-credentials admin --client-certificate=pki/admin.pem --client-key=pki/admin-key.pem --embed-certs=true --kubeconfig=kubeconfigs/admin.kubeconfig');
    expect(text).toContain(`scp ${ssh} pki/etcd-server-etcd-1-key.pem root@${subnet}.21:/etc/etcd/server-key.pem\n`);
    expect(text).toContain(`scp ${ssh} ${artifacts}/kube-apiserver root@${subnet}.11:/usr/local/bin/kube-apiserver\n`);
    expect(text).toContain(`ssh ${ssh} root@${subnet}.20 'cat > /etc/systemd/system/etcd.service' <<'EOF'\n`);
    expect(text).toContain(`  --name=etcd-2 \\\n`);
    expect(text).toContain(`ssh ${ssh} root@${subnet}.22 'systemctl --no-block start etcd'\n`);
    expect(text).toContain(`ssh ${ssh} root@${subnet}.30 'cat > /etc/haproxy/haproxy.cfg.hardway-new' <<'EOF'\n`);
    // The etcd members start one after the other; the once-wait for all of them comes after the last.
    expect(text.indexOf(`root@${subnet}.22 'systemctl --no-block start etcd'`)).toBeLessThan(text.indexOf('# Wait until every member is healthy'));

    // Secrets: keys and the encryption key are files referenced by path, never their content.
    const encryption = await readFile(join(dir, 'encryption-config.yaml'), 'utf8');
    const secret = /secret: (\S+)/.exec(encryption)![1]!;
    expect(text).not.toContain(secret);
    expect(text).not.toMatch(/PRIVATE KEY/);
    for (const file of (await readdir(join(dir, 'pki'))).filter((entry) => entry.endsWith('-key.pem'))) {
      const body = (await readFile(join(dir, 'pki', file), 'utf8')).split('\n')[2]!;
      expect(text, file).not.toContain(body);
    }
  });

  it('replayed by bash against freshly created nodes, yields a cluster hardway finds converged and verify accepts', async () => {
    expectOk(await cli('destroy', '--yes'));
    // New machines have new host keys: forget the old ones (the transcript pins the new ones).
    await rm(join(dir, 'known_hosts'), { force: true });
    expectOk(await cli('provision', '--step', 'infra'));
    const fresh = await cli('ssh', 'etcd-0', '--', 'test -e /etc/systemd/system/etcd.service && echo installed || echo fresh');
    expectOk(fresh);
    expect(fresh.stdout.trim()).toBe('fresh');

    // The workstation steps (pki, kubeconfigs, encryption) need cfssl and kubectl: their files are
    // still in the cluster directory, so only the node steps are replayed, then the transcript's own verify.
    const replay = await exec('bash', [transcript, 'hosts', 'binaries', 'etcd', 'control-plane', 'loadbalancer', 'kubelet-access', 'verify'], { cwd: dir, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 }).catch(
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(replay.stderr.includes('Host key verification failed'), replay.stderr).toBe(false);
    expect('code' in replay ? replay.code : 0, `${replay.stderr.slice(-3000)}`).toBe(0);
    // The transcript's verify step: curl -fsS through TLS to /healthz of every apiserver and the LB.
    expect(replay.stdout).toContain('"gitVersion": "v1.20.2"');

    // hardway now runs every step: nothing is left to change, and its verify step passes.
    const verify = await cli('provision', '--step', 'verify', '--with-deps', '--artifacts-dir', artifacts, '--json');
    expectOk(verify);
    const report = JSON.parse(verify.stdout) as { steps: string[]; totals: { changed: number; failed: number }; results: { step: string; node: string; task: string; status: string; reason: string }[] };
    expect(report.steps).toEqual(['pki', 'kubeconfigs', 'encryption', 'hosts', 'binaries', 'etcd', 'control-plane', 'loadbalancer', 'verify']);
    expect(report.results.filter((result) => result.status !== 'ok').map((result) => `${result.step} ${result.node} ${result.task}: ${result.reason}`)).toEqual([]);
    expect(report.totals).toMatchObject({ changed: 0, failed: 0 });
    // The workers check does not apply to a cluster without workers: reported as skipped, not run.
    expect(report.results.filter((result) => result.step === 'verify' && result.task === 'Every worker is registered and Ready').map((result) => result.reason)).toEqual(['skipped: only when the cluster has a worker node']);
    expect(report.results.filter((result) => result.step === 'verify' && !result.reason.startsWith('skipped: ')).map((result) => result.task)).toEqual([
      'Every etcd member is healthy over mutual TLS',
      'Every API server answers /healthz and /version',
      'The API answers /healthz through the load balancer',
      'Every API server, and the load balancer, stores an object and reads it back',
      'One kube-controller-manager and one kube-scheduler hold their leader leases',
    ]);
  });
});
