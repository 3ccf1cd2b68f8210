// The reuse rules of DESIGN §6 on a real catalogue: what a re-run keeps, what it reissues and why,
// what it refuses (exit 2), and that files a person brings (CSR JSON, a CA) are honoured.
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import { BACKDATE_MS, issueCertificate } from '../../src/pki/issue.ts';
import { generateRsaKey } from '../../src/pki/keys.ts';
import { planChanges, planPki } from '../../src/pki/plan.ts';
import type { PkiPlan } from '../../src/pki/plan-types.ts';
import { copyCluster, envFor, ensure, makeTempDir, openssl, removeDir, sansOf, snapshot, specInput } from './fixture.ts';

let base: string;
const scratch: string[] = [];

beforeAll(async () => {
  base = await makeTempDir();
  await ensure(envFor(base));
});
afterAll(() => removeDir(base));
afterEach(async () => {
  for (const dir of scratch.splice(0)) await removeDir(dir);
});

async function copy(): Promise<string> {
  const dir = await copyCluster(base);
  scratch.push(dir);
  return dir;
}

function actions(plan: PkiPlan): Record<string, string> {
  return Object.fromEntries(plan.certs.filter((cert) => cert.action !== 'reuse').map((cert) => [cert.entry.name, cert.reason]));
}

function changedFiles(before: Map<string, Buffer>, after: Map<string, Buffer>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((name) => !before.get(name)?.equals(after.get(name) ?? Buffer.alloc(0)) || !after.has(name)).sort();
}

async function specErrorOf(promise: Promise<unknown>): Promise<SpecError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  throw new Error('expected a SpecError');
}

/** An RSA CA made by the openssl CLI, as a person brings one (PKCS#8 key, openssl's extensions). */
function opensslCa(dir: string, cn: string): void {
  openssl([
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '365',
    '-keyout', join(dir, 'pki/ca-key.pem'), '-out', join(dir, 'pki/ca.pem'), '-subj', `/O=Example/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

describe('re-running the pki step', () => {
  it('reuses everything and writes nothing: same bytes, same mtimes', async () => {
    const dir = await copy();
    const before = snapshot(dir);
    const mtimes = async () => Promise.all([...(await before).keys()].map(async (file) => (await stat(join(dir, file))).mtimeMs));
    const mtimesBefore = await mtimes();
    const { plan } = await ensure(envFor(dir));
    expect(planChanges(plan)).toBe(false);
    expect(new Set(plan.certs.map((cert) => cert.reason))).toEqual(new Set(['using existing']));
    expect(changedFiles(await before, await snapshot(dir))).toEqual([]);
    expect(await mtimes()).toEqual(mtimesBefore);
  });

  it('reissues only kube-apiserver when the load balancer name changes, and says why', async () => {
    const dir = await copy();
    const before = await snapshot(dir);
    const { plan } = await ensure(envFor(dir, { ...specInput, loadBalancer: { dnsName: 'api2.pkitest.example' } }));
    expect(actions(plan)).toEqual({ 'kube-apiserver': 'reissue: SANs differ: +api2.pkitest.example, -api.pkitest.example' });
    expect(changedFiles(before, await snapshot(dir))).toEqual([
      '.hardway/pki-generated.json',
      'pki/kube-apiserver-csr.json',
      'pki/kube-apiserver-key.pem',
      'pki/kube-apiserver.csr',
      'pki/kube-apiserver.pem',
    ]);
    expect(sansOf(join(dir, 'pki/kube-apiserver.pem'))).toContain('DNS:api2.pkitest.example');
    expect(openssl(['verify', '-CAfile', join(dir, 'pki/ca.pem'), join(dir, 'pki/kube-apiserver.pem')])).toContain(': OK');
  });

  it('reissues only the leaf that is missing, or whose key no longer matches', async () => {
    const dir = await copy();
    await rm(join(dir, 'pki/admin.pem'));
    await writeFile(join(dir, 'pki/kube-scheduler-key.pem'), await readFile(join(dir, 'pki/admin-key.pem')));
    const { plan } = await ensure(envFor(dir));
    expect(actions(plan)).toEqual({ admin: 'issue: missing', 'kube-scheduler': 'reissue: key does not match the certificate' });
    expect(planChanges(await planPki(envFor(dir)))).toBe(false);
  });

  it('reissues every leaf inside the renew window, but never a CA', async () => {
    const dir = await copy();
    const before = await snapshot(dir);
    const { plan } = await ensure(envFor(dir, { ...specInput, pki: { ...specInput.pki, renewBefore: '9000h' } }));
    const reissued = actions(plan);
    expect(Object.keys(reissued)).toHaveLength(13);
    expect(reissued.admin).toMatch(/^reissue: expires on \d{4}-\d\d-\d\d, in 36\d days \(renew window 375 days\)$/);
    expect(reissued).not.toHaveProperty('ca');
    expect(reissued).not.toHaveProperty('etcd-ca');
    expect(reissued).not.toHaveProperty('service-account');
    const after = await snapshot(dir);
    expect(after.get('pki/ca.pem')).toEqual(before.get('pki/ca.pem'));
    expect(after.get('pki/etcd-ca-key.pem')).toEqual(before.get('pki/etcd-ca-key.pem'));
  });

  it('reissues the leaves of a CA that was replaced by a person, and only those', async () => {
    const dir = await copy();
    opensslCa(dir, 'Replacement CA');
    const { plan } = await ensure(envFor(dir));
    const reissued = actions(plan);
    expect(Object.keys(reissued).sort()).toEqual(['admin', 'apiserver-kubelet-client', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
    expect(reissued.admin).toContain('signed by another CA');
    for (const name of Object.keys(reissued)) expect(openssl(['verify', '-CAfile', join(dir, 'pki/ca.pem'), join(dir, `pki/${name}.pem`)])).toContain(': OK');
  });

  it('restores 0600 on a key and 0700 on the pki directory', async () => {
    const dir = await copy();
    await chmod(join(dir, 'pki/admin-key.pem'), 0o644);
    await chmod(join(dir, 'pki'), 0o755);
    const { plan } = await ensure(envFor(dir));
    expect(plan.modeFixes.map((fix) => fix.file).sort()).toEqual(['pki', 'pki/admin-key.pem']);
    expect((await stat(join(dir, 'pki/admin-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'pki'))).mode & 0o777).toBe(0o700);
  });
});

describe('files a person brings', () => {
  it('honours an edited CSR JSON, and keeps honouring it when cluster.yaml changes', async () => {
    const dir = await copy();
    const file = join(dir, 'pki/kube-apiserver-csr.json');
    const csr = JSON.parse(await readFile(file, 'utf8'));
    csr.hosts.push('extra.by-hand.example');
    csr.names[0].OU = 'Platform';
    await writeFile(file, JSON.stringify(csr));
    const { plan } = await ensure(envFor(dir));
    expect(actions(plan)).toEqual({ 'kube-apiserver': 'reissue: subject differs: OU=CA (asked OU=Platform)' });
    expect(plan.notes.join('\n')).toContain('pki/kube-apiserver-csr.json differs from what cluster.yaml asks');
    expect(sansOf(join(dir, 'pki/kube-apiserver.pem'))).toContain('DNS:extra.by-hand.example');
    expect(openssl(['x509', '-in', join(dir, 'pki/kube-apiserver.pem'), '-noout', '-subject'])).toContain('OU = Platform');

    const again = await planPki(envFor(dir, { ...specInput, loadBalancer: { dnsName: 'other.example' } }));
    expect(actions(again)).toEqual({});
    expect(again.notes.join('\n')).toContain('lacks hosts the cluster uses: other.example');
    expect(JSON.parse(await readFile(file, 'utf8')).names[0].OU).toBe('Platform');
  });

  it('uses a CA made elsewhere (openssl, PKCS#8 key) before the first run, and signs with it', async () => {
    const dir = await makeTempDir();
    scratch.push(dir);
    await mkdir(join(dir, 'pki'), { mode: 0o700 });
    opensslCa(dir, 'Brought CA');
    const caBefore = await readFile(join(dir, 'pki/ca.pem'));
    const { plan } = await ensure(envFor(dir), { names: ['ca', 'admin', 'kube-apiserver'] });
    expect(plan.certs.find((cert) => cert.entry.name === 'ca')?.reason).toBe('using existing');
    expect(await readFile(join(dir, 'pki/ca.pem'))).toEqual(caBefore);
    for (const name of ['admin', 'kube-apiserver']) {
      const pem = join(dir, `pki/${name}.pem`);
      expect(openssl(['verify', '-CAfile', join(dir, 'pki/ca.pem'), pem])).toContain(': OK');
      expect(openssl(['x509', '-in', pem, '-noout', '-issuer'])).toContain('CN = Brought CA');
    }
  });

  it('copies a brought CA subject byte for byte as issuer (multi-valued RDN, UTF-8), so chains verify', async () => {
    const dir = await makeTempDir();
    scratch.push(dir);
    await mkdir(join(dir, 'pki'), { mode: 0o700 });
    openssl([
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30', '-utf8', '-multivalue-rdn',
      '-keyout', join(dir, 'pki/ca-key.pem'), '-out', join(dir, 'pki/ca.pem'), '-subj', '/O=Example+OU=Platform/CN=Zürich CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await ensure(envFor(dir), { names: ['ca', 'admin'] });
    expect(openssl(['verify', '-CAfile', join(dir, 'pki/ca.pem'), join(dir, 'pki/admin.pem')])).toContain(': OK');
    const issuer = openssl(['x509', '-in', join(dir, 'pki/admin.pem'), '-noout', '-issuer', '-nameopt', 'RFC2253,-esc_msb']);
    const subject = openssl(['x509', '-in', join(dir, 'pki/ca.pem'), '-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb']);
    expect(issuer.replace('issuer=', '')).toBe(subject.replace('subject=', ''));
    expect(issuer).toContain('Zürich CA');
  });
});

describe('refusals (exit 2, naming the file)', () => {
  it('refuses malformed CSR JSON', async () => {
    const dir = await copy();
    await writeFile(join(dir, 'pki/admin-csr.json'), '{"CN": "admin", "hosts": "not-a-list"}');
    const error = await specErrorOf(planPki(envFor(dir)));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('admin-csr.json hosts:');
    expect(error.where.field).toBe('hosts');
  });

  it('refuses a CA key that does not match the CA certificate', async () => {
    const dir = await copy();
    await writeFile(join(dir, 'pki/ca-key.pem'), (await generateRsaKey(2048)).privatePem);
    const error = await specErrorOf(planPki(envFor(dir)));
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/ca-key\.pem does not match .*ca\.pem/);
    expect(error.hint).toContain('never replaces a CA');
  });

  it('refuses an expired CA', async () => {
    const dir = await copy();
    const key = await generateRsaKey(2048);
    const now = Date.now();
    const expired = issueCertificate({
      subject: { cn: 'etcd-ca', names: [] },
      hosts: [],
      publicKeyPem: key.publicPem,
      isCA: true,
      usages: ['cert sign', 'crl sign'],
      notBefore: new Date(now - 400 * 86_400_000 - BACKDATE_MS),
      notAfter: new Date(now - 86_400_000),
      selfKey: key.privateKey,
    });
    await writeFile(join(dir, 'pki/etcd-ca.pem'), expired);
    await writeFile(join(dir, 'pki/etcd-ca-key.pem'), key.privatePem);
    const error = await specErrorOf(planPki(envFor(dir)));
    expect(error.message).toMatch(/etcd-ca\.pem expired on \d{4}-/);
    expect(error.where.file).toMatch(/etcd-ca\.pem$/);
  });

  it('refuses a brought CA with an ECDSA key (forge signs RSA only), and reissues an ECDSA leaf as RSA', async () => {
    const dir = await copy();
    const ec = (name: string, ca: boolean) =>
      openssl([
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
        '-keyout', join(dir, `pki/${name}-key.pem`), '-out', join(dir, `pki/${name}.pem`), '-subj', `/CN=${name}`,
        ...(ca ? ['-addext', 'basicConstraints=critical,CA:TRUE'] : []),
      ]);
    ec('admin', false);
    const { plan } = await ensure(envFor(dir), { names: ['admin'] });
    expect(actions(plan)).toEqual({ admin: 'reissue: ec key (hardway issues RSA)' });
    expect(openssl(['x509', '-in', join(dir, 'pki/admin.pem'), '-noout', '-text'])).toContain('rsaEncryption');
    ec('etcd-ca', true);
    const error = await specErrorOf(planPki(envFor(dir)));
    expect(error.message).toMatch(/etcd-ca\.pem has key type ec; hardway signs with RSA CAs only/);
  });

  it('refuses a CA certificate whose key is gone, instead of making a new CA', async () => {
    const dir = await copy();
    await rm(join(dir, 'pki/ca-key.pem'));
    const error = await specErrorOf(planPki(envFor(dir)));
    expect(error.message).toMatch(/ca\.pem exists but its key .*ca-key\.pem does not/);
  });

  it('self-signs a new ca.pem from a ca-key.pem left without its certificate', async () => {
    const dir = await copy();
    const key = await readFile(join(dir, 'pki/ca-key.pem'));
    await rm(join(dir, 'pki/ca.pem'));
    const { plan } = await ensure(envFor(dir), { names: ['ca'] });
    expect(actions(plan)).toEqual({ ca: 'create pki/ca.pem from the existing pki/ca-key.pem' });
    expect(await readFile(join(dir, 'pki/ca-key.pem'))).toEqual(key);
    expect(openssl(['verify', '-CAfile', join(dir, 'pki/ca.pem'), join(dir, 'pki/admin.pem')])).toContain(': OK');
  });
});
