// The kube-apiserver stand-in against a real etcd (Debian's) with certificates made by openssl:
// right certificates serve /healthz; a wrong CA, a missing SAN or a mismatched key stop it with
// an error that names the file and the missing name, as the real binary's failures would.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptionConfig, freePort, httpsGet, issue, makeCA, runToExit, startEtcd, startStandin, waitFor, type EtcdMember, type Started } from './fixtures.ts';
import { apiserverArgs, makeTestPki, type TestPki } from './pki.ts';

let dir: string;
let pki: TestPki;
let etcd: EtcdMember;
const started: Started[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'standin-apiserver-'));
  pki = await makeTestPki(dir);
  etcd = await startEtcd(join(dir, 'etcd'), pki.etcdServer, pki.etcdCA.cert, { ca: pki.etcdCA.cert, client: pki.etcdClient });
});

afterAll(async () => {
  for (const process of started) await process.stop();
  await etcd?.process.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function startApiserver(etcdUrl: string, overrides: Record<string, string> = {}) {
  const port = await freePort();
  const apiserver = startStandin('kube-apiserver', apiserverArgs(pki, etcdUrl, port, overrides));
  started.push(apiserver);
  const base = `https://127.0.0.1:${port}`;
  await waitFor('the apiserver stand-in to serve', 15_000, async () => {
    if (apiserver.child.exitCode !== null) throw new Error(`exited ${apiserver.child.exitCode}: ${apiserver.stderr()}`);
    return (await httpsGet(`${base}/version`, { ca: pki.ca.cert })).status === 200;
  });
  return { apiserver, base };
}

async function expectFailure(overrides: Record<string, string>, etcdUrl = etcd.url) {
  const port = await freePort();
  const result = await runToExit(startStandin('kube-apiserver', apiserverArgs(pki, etcdUrl, port, overrides), { HARDWAY_STANDIN_WAIT_SECONDS: '3' }));
  expect(result.code).not.toBe(0);
  return result.stderr;
}

describe('kube-apiserver stand-in', () => {
  it('serves health, version and authorization like the real apiserver when the certificates are right', async () => {
    const { base } = await startApiserver(etcd.url);
    for (const path of ['/healthz', '/livez', '/readyz']) {
      expect(await httpsGet(`${base}${path}`, { ca: pki.ca.cert })).toEqual({ status: 200, body: 'ok' });
    }
    const verbose = await httpsGet(`${base}/readyz?verbose`, { ca: pki.ca.cert });
    expect(verbose.body).toContain('[+]etcd ok');
    const version = JSON.parse((await httpsGet(`${base}/version`, { ca: pki.ca.cert })).body) as { gitVersion: string; major: string; minor: string };
    expect(version).toMatchObject({ gitVersion: 'v1.32.3', major: '1', minor: '32' });

    // Anonymous requests get only the public-info paths (system:public-info-viewer).
    const anonymous = await httpsGet(`${base}/api`, { ca: pki.ca.cert });
    expect(anonymous.status).toBe(403);
    expect(anonymous.body).toContain('system:anonymous');
    const admin = await httpsGet(`${base}/api`, { ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key });
    expect(admin.status).toBe(200);
    expect(JSON.parse(admin.body)).toMatchObject({ kind: 'APIVersions' });

    // RBAC on the leader-election lease: the right identity may read it, a typo in the CN may not.
    const lease = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler';
    expect((await httpsGet(`${base}${lease}`, { ca: pki.ca.cert, cert: pki.scheduler.cert, key: pki.scheduler.key })).status).toBe(404);
    const typo = await issue(dir, pki.ca, 'typo-scheduler', { cn: 'system:system:kube-scheduler', o: 'system:kube-scheduler', usages: ['client'] });
    const denied = await httpsGet(`${base}${lease}`, { ca: pki.ca.cert, cert: typo.cert, key: typo.key });
    expect(denied.status).toBe(403);
    expect(denied.body).toContain('User \\"system:system:kube-scheduler\\" cannot get resource \\"leases\\"');
  });

  it('refuses a client certificate that --client-ca-file did not sign', async () => {
    const { base } = await startApiserver(etcd.url);
    await expect(httpsGet(`${base}/api`, { ca: pki.ca.cert, cert: pki.etcdClient.cert, key: pki.etcdClient.key })).rejects.toThrow();
    expect((await httpsGet(`${base}/healthz`, { ca: pki.ca.cert })).status).toBe(200);
  });

  it('answers /healthz and /readyz with 500 once its etcd is gone, /version still 200', async () => {
    const ownEtcd = await startEtcd(join(dir, 'etcd-lost'), pki.etcdServer, pki.etcdCA.cert, { ca: pki.etcdCA.cert, client: pki.etcdClient });
    try {
      const { base } = await startApiserver(ownEtcd.url);
      expect((await httpsGet(`${base}/healthz`, { ca: pki.ca.cert })).status).toBe(200);
      await ownEtcd.process.stop();
      const down = await waitFor('healthz to report etcd down', 10_000, async () => {
        const result = await httpsGet(`${base}/healthz`, { ca: pki.ca.cert });
        return result.status === 500 ? result : undefined;
      });
      expect(down.body).toContain('[-]etcd failed');
      expect((await httpsGet(`${base}/readyz`, { ca: pki.ca.cert })).status).toBe(500);
      expect((await httpsGet(`${base}/version`, { ca: pki.ca.cert })).status).toBe(200);
    } finally {
      await ownEtcd.process.stop();
    }
  });

  it('exits naming --etcd-cafile when etcd presents a certificate from another CA', async () => {
    const stderr = await expectFailure({ 'etcd-cafile': pki.ca.cert });
    expect(stderr).toContain('certificate signed by unknown authority');
    expect(stderr).toContain(`--etcd-cafile=${pki.ca.cert}`);
    expect(stderr).toContain(etcd.url);
  });

  it('exits naming the missing name when the etcd server certificate lacks the address it is reached at', async () => {
    const noLoopback = await issue(dir, pki.etcdCA, 'etcd-server-no-loopback', { cn: 'etcd-0', hosts: ['etcd-0', 'localhost', '127.0.0.2'], usages: ['server', 'client'] });
    const badEtcd = await startEtcd(join(dir, 'etcd-bad-san'), noLoopback, pki.etcdCA.cert, { ca: pki.etcdCA.cert, client: pki.etcdClient });
    try {
      const stderr = await expectFailure({}, badEtcd.url);
      expect(stderr).toContain('certificate is valid for etcd-0, localhost, 127.0.0.2, not 127.0.0.1');
    } finally {
      await badEtcd.process.stop();
    }
  });

  it('exits naming the serving certificate when it lacks the kubernetes Service IP', async () => {
    const noServiceIP = await issue(dir, pki.ca, 'apiserver-no-service-ip', { cn: 'kube-apiserver', hosts: ['kubernetes', '127.0.0.1'], usages: ['server'] });
    const stderr = await expectFailure({ 'tls-cert-file': noServiceIP.cert, 'tls-private-key-file': noServiceIP.key });
    expect(stderr).toContain(`serving certificate ${noServiceIP.cert} (--tls-cert-file) has no SAN 10.32.0.1`);
    // The right certificate for another service CIDR: the check follows the flag, not a constant.
    const other = await expectFailure({ 'service-cluster-ip-range': '10.96.0.0/12' });
    expect(other).toContain('has no SAN 10.96.0.1');
  });

  it('exits when a key does not match its certificate, or a file is missing', async () => {
    const mismatch = await expectFailure({ 'tls-private-key-file': pki.admin.key });
    expect(mismatch).toContain('tls: private key does not match public key');
    expect(mismatch).toContain(pki.apiserver.cert);
    const missing = await expectFailure({ 'etcd-certfile': join(dir, 'nope.pem') });
    expect(missing).toContain(`--etcd-certfile: open ${join(dir, 'nope.pem')}: no such file or directory`);
    const notAKey = join(dir, 'not-a-key.pem');
    await writeFile(notAKey, 'hello\n');
    const badKey = await expectFailure({ 'service-account-signing-key-file': notAKey });
    expect(badKey).toContain('--service-account-signing-key-file');
    expect(badKey).toContain('does not contain a valid RSA or ECDSA private key');
  });

  it('exits when the encryption config has a key of the wrong size or is not an EncryptionConfiguration', async () => {
    // The real apiserver takes AES-128/192/256 keys for aescbc; anything else stops it.
    const odd = await encryptionConfig(join(dir, 'encryption-20.yaml'), 20);
    const stderr = await expectFailure({ 'encryption-provider-config': odd });
    expect(stderr).toContain('aescbc key must be 16, 24 or 32 bytes, got 20');
    const secret = /secret: (\S+)/.exec(await readFile(odd, 'utf8'))?.[1];
    expect(secret).toBeTruthy();
    expect(stderr).not.toContain(secret);
    const wrongKind = join(dir, 'encryption-kind.yaml');
    await writeFile(wrongKind, 'kind: Config\napiVersion: v1\n');
    expect(await expectFailure({ 'encryption-provider-config': wrongKind })).toContain('no kind "Config" is registered');
  });

  it('exits after the bound when no etcd member is reachable', async () => {
    const closed = `https://127.0.0.1:${await freePort()}`;
    const stderr = await expectFailure({}, closed);
    expect(stderr).toContain(`failed to reach any etcd server of --etcd-servers=${closed}`);
    expect(stderr).toContain('connection refused');
  });

  it('exits when its etcd client certificate is from another CA (etcd rejects it)', async () => {
    const otherCA = await makeCA(join(dir, 'other'), 'other-ca');
    const stranger = await issue(join(dir, 'other'), otherCA, 'stranger', { cn: 'stranger', usages: ['client'] });
    const stderr = await expectFailure({ 'etcd-certfile': stranger.cert, 'etcd-keyfile': stranger.key });
    expect(stderr).toMatch(/unknown certificate authority|certificate required|tls:/);
    expect(stderr).toContain('failed to reach any etcd server');
  });
});
