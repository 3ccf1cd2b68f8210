// The whole catalogue made once, then every certificate looked at with the real openssl CLI.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '../../src/pki/catalog.ts';
import { generateRsaKey } from '../../src/pki/keys.ts';
import { envFor, ensure, makeTempDir, openssl, opensslStatus, removeDir, sansOf, x509Text } from './fixture.ts';

let dir: string;
const started = new Date();
const env = () => envFor(dir, undefined, started);
const pki = (file: string) => join(dir, 'pki', file);

beforeAll(async () => {
  dir = await makeTempDir();
  await ensure(env());
});
afterAll(() => removeDir(dir));

const entries = () => catalog(env().spec, env().inventory);
const leaves = () => entries().filter((entry) => entry.kind === 'leaf');
const certs = () => entries().filter((entry) => entry.kind !== 'keypair');

const texts = new Map<string, string>();
/** `openssl x509 -text` of pki/<name>.pem, run once per certificate. */
function textOf(name: string): string {
  let text = texts.get(name);
  if (!text) {
    text = x509Text(pki(`${name}.pem`));
    texts.set(name, text);
  }
  return text;
}

/** The lines of one extension in the -text output: its header line and the value lines under it. */
function extension(name: string, title: string): string {
  const lines = textOf(name).split('\n');
  const start = lines.findIndex((line) => line.trim().startsWith(`${title}:`));
  if (start < 0) return '';
  const header = lines[start]!.trim();
  const values: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!/^ {16}/.test(line)) break;
    values.push(line.trim());
  }
  return [header, ...values].join('\n');
}

describe('the certificate catalogue, checked with openssl', () => {
  it('verifies every leaf against its own CA, and not against the other CA', () => {
    for (const leaf of leaves()) {
      const other = leaf.signer === 'ca' ? 'etcd-ca' : 'ca';
      expect(openssl(['verify', '-CAfile', pki(`${leaf.signer}.pem`), pki(`${leaf.name}.pem`)]).trim(), leaf.name).toBe(`${pki(`${leaf.name}.pem`)}: OK`);
      expect(opensslStatus(['verify', '-CAfile', pki(`${other}.pem`), pki(`${leaf.name}.pem`)]).status, leaf.name).not.toBe(0);
    }
  });

  it('gives servers server auth and clients client auth (openssl verify -purpose)', () => {
    for (const leaf of leaves()) {
      const verify = (purpose: string) => opensslStatus(['verify', '-purpose', purpose, '-CAfile', pki(`${leaf.signer}.pem`), pki(`${leaf.name}.pem`)]).status;
      expect(verify('sslserver') === 0, `${leaf.name} as server`).toBe(leaf.profile !== 'client');
      expect(verify('sslclient') === 0, `${leaf.name} as client`).toBe(leaf.profile !== 'server');
    }
  });

  it('signs with sha256WithRSAEncryption and uses 2048-bit RSA keys', () => {
    for (const cert of certs()) {
      const text = textOf(cert.name);
      expect(text.match(/Signature Algorithm: (\S+)/g), cert.name).toEqual(['Signature Algorithm: sha256WithRSAEncryption', 'Signature Algorithm: sha256WithRSAEncryption']);
      expect(text, cert.name).toContain('Public-Key: (2048 bit)');
    }
  });

  it('uses positive random serials of 16 to 20 bytes, all different', () => {
    const serials = certs().map((cert) => /Serial Number:\s*\n\s+([0-9a-f:]+)/.exec(textOf(cert.name))![1]!.replaceAll(':', '').toUpperCase());
    for (const serial of serials) {
      expect(serial.length).toBeGreaterThanOrEqual(32);
      expect(serial.length).toBeLessThanOrEqual(40);
      expect(Number.parseInt(serial[0]!, 16)).toBeLessThan(8);
      expect(BigInt(`0x${serial}`)).toBeGreaterThan(0n);
    }
    expect(new Set(serials).size).toBe(serials.length);
  });

  it('sets the AKI of every certificate to its issuer SKI, and an SKI on every one', () => {
    const ski = (name: string) => extension(name, 'X509v3 Subject Key Identifier').split('\n')[1]!;
    const aki = (name: string) => extension(name, 'X509v3 Authority Key Identifier').split('\n')[1]!.replace(/^keyid:/, '');
    for (const cert of certs()) {
      expect(ski(cert.name), cert.name).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
      expect(aki(cert.name), cert.name).toBe(ski(cert.signer ?? cert.name));
    }
    expect(ski('ca')).not.toBe(ski('etcd-ca'));
  });

  it('makes the CAs CA:TRUE (critical) with only certificate and CRL signing', () => {
    for (const name of ['ca', 'etcd-ca']) {
      expect(extension(name, 'X509v3 Basic Constraints')).toBe('X509v3 Basic Constraints: critical\nCA:TRUE');
      expect(extension(name, 'X509v3 Key Usage')).toBe('X509v3 Key Usage: critical\nCertificate Sign, CRL Sign');
      expect(textOf(name)).not.toContain('Extended Key Usage');
    }
  });

  it('makes leaves CA:FALSE with the usages and EKUs of their profile', () => {
    const ekus = { server: 'TLS Web Server Authentication', client: 'TLS Web Client Authentication', peer: 'TLS Web Server Authentication, TLS Web Client Authentication' };
    for (const leaf of leaves()) {
      expect(extension(leaf.name, 'X509v3 Basic Constraints'), leaf.name).toBe('X509v3 Basic Constraints: critical\nCA:FALSE');
      expect(extension(leaf.name, 'X509v3 Key Usage'), leaf.name).toBe('X509v3 Key Usage: critical\nDigital Signature, Key Encipherment');
      expect(extension(leaf.name, 'X509v3 Extended Key Usage'), leaf.name).toBe(`X509v3 Extended Key Usage: \n${ekus[leaf.profile!]}`.replace(': \n', ':\n'));
    }
  });

  it('puts the catalogue SANs in each leaf, IPs as IP addresses', () => {
    for (const leaf of leaves()) {
      const expected = leaf.hosts.map((host) => (/^[\d.]+$/.test(host) ? `IP Address:${host}` : `DNS:${host}`));
      expect(extension(leaf.name, 'X509v3 Subject Alternative Name').split('\n')[1]?.split(', ').sort() ?? [], leaf.name).toEqual(expected.sort());
    }
    expect(sansOf(pki('kube-apiserver.pem'))).toEqual(
      expect.arrayContaining(['IP Address:10.32.0.1', 'DNS:kubernetes.default.svc.cluster.local', 'DNS:api.pkitest.example', 'IP Address:10.240.0.30', 'DNS:api.example.org', 'IP Address:192.0.2.7', 'IP Address:127.0.0.1']),
    );
  });

  it.each([
    ['admin', 'CN = admin', 'O = system:masters'],
    ['apiserver-kubelet-client', 'CN = kube-apiserver-kubelet-client', 'O = Kubernetes'],
    ['kube-controller-manager', 'CN = system:kube-controller-manager', 'O = system:kube-controller-manager'],
    ['kube-scheduler', 'CN = system:kube-scheduler', 'O = system:kube-scheduler'],
    ['etcd-server-etcd-1', 'CN = etcd-1', 'O = Kubernetes'],
    ['ca', 'CN = Kubernetes', 'O = Kubernetes'],
  ])('%s has subject %s, %s', (name, cn, organization) => {
    const subject = /Subject: (.*)/.exec(textOf(name))![1]!;
    expect(subject).toContain(cn);
    expect(subject).toContain(organization);
  });

  it('backdates notBefore by about five minutes; leaves last a year, CAs ten', () => {
    const dates = (name: string) => {
      const text = openssl(['x509', '-in', pki(`${name}.pem`), '-noout', '-startdate', '-enddate']);
      const [start, end] = text.trim().split('\n').map((line) => new Date(line.split('=')[1]!).getTime());
      return { start: start!, end: end! };
    };
    const minute = 60_000;
    const now = Math.floor(started.getTime() / 1000) * 1000;
    for (const cert of certs()) {
      const { start, end } = dates(cert.name);
      expect(now - start, cert.name).toBe(5 * minute);
      const years = cert.kind === 'ca' ? 10 : 1;
      expect(end - now, cert.name).toBe(years * 8760 * 60 * minute);
    }
  });

  it('writes keys 0600, certificates and CSRs 0644, the pki directory 0700', async () => {
    const mode = async (file: string) => (await stat(file)).mode & 0o777;
    expect(await mode(join(dir, 'pki'))).toBe(0o700);
    for (const entry of entries()) {
      expect(await mode(pki(`${entry.name}-key.pem`)), entry.name).toBe(0o600);
      expect(await mode(pki(`${entry.name}.pem`)), entry.name).toBe(0o644);
    }
  });

  it('writes each key as cfssljson does (PKCS#1) and matching its certificate', () => {
    for (const cert of certs()) {
      const key = pki(`${cert.name}-key.pem`);
      expect(openssl(['rsa', '-in', key, '-noout', '-check']).trim(), cert.name).toBe('RSA key ok');
      const fromKey = openssl(['rsa', '-in', key, '-pubout'], undefined);
      const fromCert = openssl(['x509', '-in', pki(`${cert.name}.pem`), '-noout', '-pubkey']);
      expect(fromCert, cert.name).toBe(fromKey);
    }
  });

  it('writes a self-signed PKCS#10 request per certificate with the same subject and SANs', () => {
    const text = openssl(['req', '-in', pki('kube-apiserver.csr'), '-noout', '-verify', '-text']);
    expect(text).toContain('CN = kube-apiserver');
    expect(text).toContain('DNS:kubernetes.default.svc');
    expect(text).toContain('IP Address:10.32.0.1');
    for (const cert of certs()) expect(opensslStatus(['req', '-in', pki(`${cert.name}.csr`), '-noout', '-verify']).output, cert.name).toContain('verify OK');
  });

  it('makes the service-account key pair: a private key and its public key', () => {
    const fromKey = openssl(['rsa', '-in', pki('service-account-key.pem'), '-pubout']);
    expect(openssl(['pkey', '-pubin', '-in', pki('service-account.pem')])).toBe(fromKey);
  });
});

describe('key generation', () => {
  it('runs off the event loop: timers fire while four keys are generated in parallel', async () => {
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks += 1;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const keys = await Promise.all([2048, 2048, 2048, 2048].map((bits) => generateRsaKey(bits)));
    running = false;
    expect(new Set(keys.map((key) => key.publicPem)).size).toBe(4);
    expect(ticks).toBeGreaterThan(4);
  });
});
