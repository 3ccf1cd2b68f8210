// Carries out a PKI plan: writes the JSON inputs, generates every new key at once on the thread
// pool, self-signs new CAs, signs leaves, writes `<name>.pem`, `<name>-key.pem` (0600), `<name>.csr`.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HardwayError } from '../errors.ts';
import { issuerOf, loadCa, type LoadedCa } from './ca.ts';
import { readCertificate } from './certificate-info.ts';
import { parseDuration } from './duration.ts';
import { updateGeneratedRecord } from './generated-record.ts';
import { BACKDATE_MS, createCsr, issueCertificate, type Subject } from './issue.ts';
import { generateRsaKey, keyPairOf, readPrivateKey, type KeyPair } from './keys.ts';
import type { CertPlan, PkiPlan } from './plan-types.ts';
import { chmodClusterFile, DIR_MODE, KEY_MODE, PKI_DIR, pkiFiles, PUBLIC_MODE, readOptional, writeClusterFile } from './store.ts';
import { CA_USAGES } from './catalog.ts';

/** What apply did, one line per file group, for the task log and the CLI. */
export interface PkiApplyResult {
  lines: string[];
  /** Names of certificates and key pairs made or remade. */
  issued: string[];
}

/** Why: the only writer of PKI files; each write is atomic and keys are written before certificates. */
export async function applyPkiPlan(plan: PkiPlan): Promise<PkiApplyResult> {
  const { env } = plan;
  const lines: string[] = [];
  const issued: string[] = [];
  await assertSignersExist(plan);
  await mkdir(join(env.clusterDir, PKI_DIR), { recursive: true, mode: DIR_MODE });

  const jsonPlans = [plan.caConfig, ...plan.certs.map((cert) => cert.csrJson)].filter((json) => json !== undefined);
  for (const json of jsonPlans.filter((json) => json.write)) {
    await writeClusterFile(env.clusterDir, json.file, json.text, PUBLIC_MODE);
    lines.push(`wrote ${json.file}`);
  }

  // Every new key at once: generateKeyPair runs on libuv's thread pool, off the event loop.
  const needKey = plan.certs.filter((cert) => cert.action === 'create-ca' || cert.action === 'issue' || cert.action === 'create-keypair');
  const keys = new Map<string, KeyPair>(
    await Promise.all(needKey.map(async (cert) => [cert.entry.name, await generateRsaKey(cert.request?.keySize ?? env.spec.pki.keySize)] as const)),
  );

  const cas = new Map<string, LoadedCa>();
  for (const cert of plan.certs.filter((item) => item.action === 'create-ca' || item.action === 'self-sign-ca')) {
    const keyPair = keys.get(cert.entry.name) ?? (await existingKeyPair(env.clusterDir, cert.entry.name));
    await writeIssued(env.clusterDir, cert, keyPair, selfSigned(plan, cert, keyPair), cert.action === 'create-ca');
    const loaded = await loadCa(env.clusterDir, cert.entry.name, env.now);
    if (loaded.status === 'present') cas.set(cert.entry.name, loaded.ca);
    issued.push(cert.entry.name);
    lines.push(`${cert.entry.name}: ${cert.reason.replace(/^create/, 'created')}`);
  }

  for (const cert of plan.certs.filter((item) => item.action === 'issue')) {
    const signer = cert.entry.signer!;
    let ca = cas.get(signer);
    if (!ca) {
      const loaded = await loadCa(env.clusterDir, signer, env.now);
      if (loaded.status !== 'present') throw missingCa(cert.entry.name, signer);
      ca = loaded.ca;
      cas.set(signer, ca);
    }
    const keyPair = keys.get(cert.entry.name)!;
    const request = cert.request!;
    const pem = issueCertificate({
      subject: { cn: request.cn, names: request.names },
      hosts: request.hosts,
      publicKeyPem: keyPair.publicPem,
      isCA: false,
      usages: cert.profile!.usages,
      notBefore: new Date(env.now.getTime() - BACKDATE_MS),
      notAfter: new Date(env.now.getTime() + cert.profile!.expiryMs),
      issuer: issuerOf(ca),
    });
    await writeIssued(env.clusterDir, cert, keyPair, pem, true);
    issued.push(cert.entry.name);
    lines.push(`${cert.entry.name}: ${cert.reason.replace(/^(re)?issue/, (word) => `${word}d`)}`);
  }

  for (const cert of plan.certs.filter((item) => item.action === 'create-keypair' || item.action === 'write-public-key')) {
    const keyPair = keys.get(cert.entry.name) ?? (await existingKeyPair(env.clusterDir, cert.entry.name));
    if (cert.action === 'create-keypair') await writeClusterFile(env.clusterDir, pkiFiles.key(cert.entry.name), keyPair.privatePem, KEY_MODE);
    await writeClusterFile(env.clusterDir, pkiFiles.cert(cert.entry.name), keyPair.publicPem, PUBLIC_MODE);
    issued.push(cert.entry.name);
    lines.push(`${cert.entry.name}: ${cert.reason}`);
  }

  for (const fix of plan.modeFixes) {
    await chmodClusterFile(env.clusterDir, fix.file, fix.to);
    lines.push(`chmod ${fix.to.toString(8)} ${fix.file}`);
  }

  const generated = Object.fromEntries(jsonPlans.filter((json) => json.source === 'generated').map((json) => [json.file, json.text]));
  await updateGeneratedRecord(env.clusterDir, generated);
  return { lines, issued };
}

/** Before writing anything: every leaf to issue needs a CA on disk or one made by this same plan. */
async function assertSignersExist(plan: PkiPlan): Promise<void> {
  const made = new Set(plan.certs.filter((cert) => cert.action === 'create-ca' || cert.action === 'self-sign-ca').map((cert) => cert.entry.name));
  for (const cert of plan.certs.filter((item) => item.action === 'issue')) {
    const signer = cert.entry.signer!;
    if (made.has(signer)) continue;
    if ((await loadCa(plan.env.clusterDir, signer, plan.env.now)).status !== 'present') throw missingCa(cert.entry.name, signer);
  }
}

function missingCa(name: string, signer: string): HardwayError {
  return new HardwayError(`cannot issue ${name}: its CA ${pkiFiles.cert(signer)} does not exist yet`, {
    hint: 'Create the CAs first: `hardway provision --step pki` makes them before the certificates they sign.',
  });
}

function selfSigned(plan: PkiPlan, cert: CertPlan, keyPair: KeyPair): string {
  const { env } = plan;
  const request = cert.request!;
  const expiryMs = request.caExpiryMs ?? parseDuration(env.spec.pki.caExpiry, { file: 'cluster.yaml', field: 'pki.caExpiry' });
  return issueCertificate({
    subject: { cn: request.cn, names: request.names } satisfies Subject,
    hosts: request.hosts,
    publicKeyPem: keyPair.publicPem,
    isCA: true,
    usages: CA_USAGES,
    notBefore: new Date(env.now.getTime() - BACKDATE_MS),
    notAfter: new Date(env.now.getTime() + expiryMs),
    selfKey: keyPair.privateKey,
  });
}

/** Key first, then certificate: a crash in between leaves a pair that no longer matches, reissued next run. */
async function writeIssued(clusterDir: string, cert: CertPlan, keyPair: KeyPair, pem: string, writeKey: boolean): Promise<void> {
  const name = cert.entry.name;
  const request = cert.request!;
  if (writeKey) await writeClusterFile(clusterDir, pkiFiles.key(name), keyPair.privatePem, KEY_MODE);
  await writeClusterFile(clusterDir, pkiFiles.cert(name), pem, PUBLIC_MODE);
  const csr = createCsr({ cn: request.cn, names: request.names }, request.hosts, keyPair.publicPem, keyPair.privateKey);
  await writeClusterFile(clusterDir, pkiFiles.csr(name), csr, PUBLIC_MODE);
  // A certificate hardway cannot read back is a bug here, not a problem to find next run.
  readCertificate(pem);
}

async function existingKeyPair(clusterDir: string, name: string): Promise<KeyPair> {
  const pem = await readOptional(clusterDir, pkiFiles.key(name));
  if (pem === undefined) throw new HardwayError(`${pkiFiles.key(name)} disappeared while the pki step ran`);
  return keyPairOf(readPrivateKey(pem));
}
