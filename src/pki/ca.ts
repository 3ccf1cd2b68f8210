// Loads a CA (hardway's or cfssl-made `ca.pem` + `ca-key.pem`) and refuses one it must not use:
// a key that doesn't match, an expired or non-CA certificate. A CA is never replaced silently.
import { createHash, type KeyObject } from 'node:crypto';
import { SpecError } from '../errors.ts';
import { readCertificate, keyMatches, type CertificateInfo } from './certificate-info.ts';
import type { Issuer } from './issue.ts';
import { readPrivateKey } from './keys.ts';
import { displayPath, pkiFiles, readOptional } from './store.ts';

/** A CA that passed every check: usable to sign. */
export interface LoadedCa {
  name: string;
  info: CertificateInfo;
  privateKey: KeyObject;
}

/** What is on disk for a CA. */
export type CaOnDisk = { status: 'missing' } | { status: 'key-only'; keyPem: string } | { status: 'present'; ca: LoadedCa };

const KEEP_HINT =
  'hardway never replaces a CA by itself. Restore the pair from a backup; or, to start a new CA, move both files aside: ' +
  'the next `hardway provision --step pki` creates a new one and reissues every certificate it signs.';

/** Why: every use of a CA goes through these checks, so a broken CA stops the run with exit 2. */
export async function loadCa(clusterDir: string, name: string, now: Date): Promise<CaOnDisk> {
  const certFile = pkiFiles.cert(name);
  const keyFile = pkiFiles.key(name);
  const [certPem, keyPem] = await Promise.all([readOptional(clusterDir, certFile), readOptional(clusterDir, keyFile)]);
  const shownCert = displayPath(clusterDir, certFile);
  const shownKey = displayPath(clusterDir, keyFile);
  if (certPem === undefined) return keyPem === undefined ? { status: 'missing' } : { status: 'key-only', keyPem };
  if (keyPem === undefined) {
    throw new SpecError(`${shownCert} exists but its key ${shownKey} does not: hardway cannot sign with this CA`, { file: shownKey }, { hint: KEEP_HINT });
  }
  let info: CertificateInfo;
  try {
    info = readCertificate(certPem);
  } catch (error) {
    throw new SpecError(`${shownCert} is not a readable PEM certificate (${(error as Error).message})`, { file: shownCert }, { hint: KEEP_HINT });
  }
  let privateKey: KeyObject;
  try {
    privateKey = readPrivateKey(keyPem);
  } catch (error) {
    throw new SpecError(`${shownKey} is not a readable unencrypted PEM private key (${(error as Error).message})`, { file: shownKey }, { hint: KEEP_HINT });
  }
  if (info.keyType !== 'rsa' || privateKey.asymmetricKeyType !== 'rsa') {
    throw new SpecError(`${shownCert} has key type ${info.keyType}; hardway signs with RSA CAs only (node-forge signs RSA only)`, { file: shownCert }, {
      hint: 'Make the CA with `"key": {"algo": "rsa", "size": 2048}` in ca-csr.json, or let hardway create it.',
    });
  }
  if (!info.isCA) throw new SpecError(`${shownCert} is not a CA certificate (basicConstraints CA:FALSE or absent)`, { file: shownCert }, { hint: KEEP_HINT });
  if (!keyMatches(info, privateKey)) {
    throw new SpecError(`${shownKey} does not match ${shownCert}: the key is not the one the certificate was made for`, { file: shownKey }, { hint: KEEP_HINT });
  }
  if (info.notAfter.getTime() <= now.getTime()) {
    throw new SpecError(`${shownCert} expired on ${info.notAfter.toISOString()}: nothing it signs would be trusted`, { file: shownCert }, { hint: KEEP_HINT });
  }
  return { status: 'present', ca: { name, info, privateKey } };
}

/** The CA as the issuer of a leaf. */
export function issuerOf(ca: LoadedCa): Issuer {
  return { subjectFields: ca.info.subjectFields, subjectDer: ca.info.subjectDer, keyId: ca.info.subjectKeyId ?? publicKeyId(ca), privateKey: ca.privateKey };
}

/** RFC 5280 §4.2.1.2 method 1, for a CA made without an SKI. */
function publicKeyId(ca: LoadedCa): string {
  return sha1Hex(ca.info.x509.publicKey.export({ type: 'pkcs1', format: 'der' }));
}

function sha1Hex(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}
