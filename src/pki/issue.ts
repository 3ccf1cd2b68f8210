// Builds and signs X.509 certificates and PKCS#10 requests with node-forge, getting right what
// forge leaves to the caller (PITFALLS): sha256, positive random serials, AKI = issuer SKI, IP SANs
// as IPs, a backdated notBefore.
import { randomBytes, type KeyObject } from 'node:crypto';
import type forge from 'node-forge';
import { forgeLibrary } from './forge-library.ts';
import { splitHosts } from './catalog.ts';
import type { SubjectName } from './csr-json.ts';
import { nativeSigner } from './keys.ts';
import { EXT_KEY_USAGES, KEY_USAGES } from './usages.ts';

/** Clock skew between the workstation and the nodes must not make a fresh cert "not yet valid". */
export const BACKDATE_MS = 5 * 60_000;

export interface Subject {
  cn: string;
  names: SubjectName[];
}

/** A CA as a signer: its subject (copied as the leaf's issuer), its key id (the leaf's AKI), its key. */
export interface Issuer {
  subjectFields: forge.pki.CertificateField[];
  /** The CA's subject exactly as encoded in its certificate (DER, binary string). */
  subjectDer: string;
  /** The CA's subject key identifier, hex. */
  keyId: string;
  privateKey: KeyObject;
}

/** Everything that goes into one certificate; issueCertificate adds nothing but serial and key ids. */
export interface CertificateOrder {
  subject: Subject;
  hosts: string[];
  publicKeyPem: string;
  isCA: boolean;
  /** cfssl usage names. */
  usages: string[];
  notBefore: Date;
  notAfter: Date;
  /** Undefined: self-signed with `selfKey`. */
  issuer?: Issuer;
  /** The subject's own private key, used only when self-signing. */
  selfKey?: KeyObject;
}

/** Why: one function decides every field of every certificate hardway makes. */
export function issueCertificate(order: CertificateOrder): string {
  const cert = forgeLibrary().pki.createCertificate();
  cert.publicKey = forgeLibrary().pki.publicKeyFromPem(order.publicKeyPem);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = order.notBefore;
  cert.validity.notAfter = order.notAfter;
  const subject = subjectAttributes(order.subject);
  cert.setSubject(subject);
  cert.setIssuer(order.issuer ? order.issuer.subjectFields : subject);

  const ownKeyId = forgeLibrary().pki.getPublicKeyFingerprint(cert.publicKey, { type: 'RSAPublicKey', md: forgeLibrary().md.sha1.create(), encoding: 'binary' }) as string;
  const issuerKeyId = order.issuer ? forgeLibrary().util.hexToBytes(order.issuer.keyId) : ownKeyId;
  const extensions: object[] = [
    { name: 'basicConstraints', critical: true, cA: order.isCA },
    { name: 'keyUsage', critical: true, ...keyUsageFlags(order.usages) },
  ];
  const ekus = extKeyUsageFlags(order.usages);
  if (Object.keys(ekus).length) extensions.push({ name: 'extKeyUsage', ...ekus });
  extensions.push({ name: 'subjectKeyIdentifier', subjectKeyIdentifier: forgeLibrary().util.bytesToHex(ownKeyId) });
  extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: issuerKeyId });
  if (order.hosts.length) extensions.push({ name: 'subjectAltName', altNames: altNames(order.hosts) });
  cert.setExtensions(extensions);

  const signingKey = order.issuer?.privateKey ?? order.selfKey;
  if (!signingKey) throw new Error('a self-signed certificate needs its own key');
  signTbs(cert, signingKey, order.issuer?.subjectDer);
  return forgeLibrary().pki.certificateToPem(cert);
}

/** forge fields its typings leave out, set the way forge's own cert.sign() sets them. */
interface SignableCertificate {
  signatureOid: string;
  siginfo: { algorithmOid: string };
  tbsCertificate: forge.asn1.Asn1;
  md: forge.md.MessageDigest;
  signature: string;
}

/**
 * What forge's cert.sign() does, with two differences: the issuer name is the CA's subject byte for
 * byte (forge would re-encode it, flattening multi-valued RDNs and changing string types, and then
 * chain building fails), and OpenSSL computes the RSA signature.
 */
function signTbs(cert: forge.pki.Certificate, key: KeyObject, issuerDer: string | undefined): void {
  const signable = cert as unknown as SignableCertificate;
  const oid = forgeLibrary().pki.oids.sha256WithRSAEncryption!;
  signable.signatureOid = oid;
  signable.siginfo.algorithmOid = oid;
  const tbs = (forgeLibrary().pki as unknown as { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  // TBSCertificate: [0] version, serialNumber, signature, issuer, ...
  if (issuerDer) (tbs.value as forge.asn1.Asn1[])[3] = forgeLibrary().asn1.fromDer(issuerDer);
  const md = forgeLibrary().md.sha256.create();
  md.update(forgeLibrary().asn1.toDer(tbs).getBytes());
  signable.tbsCertificate = tbs;
  signable.md = md;
  signable.signature = nativeSigner(key).sign(md);
}

/** The PKCS#10 request cfssljson writes as `<name>.csr`: subject, key and SANs, signed by the key. */
export function createCsr(subject: Subject, hosts: string[], publicKeyPem: string, privateKey: KeyObject): string {
  const csr = forgeLibrary().pki.createCertificationRequest();
  csr.publicKey = forgeLibrary().pki.publicKeyFromPem(publicKeyPem);
  csr.setSubject(subjectAttributes(subject));
  if (hosts.length) csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: altNames(hosts) }] }]);
  csr.sign(nativeSigner(privateKey) as unknown as forge.pki.rsa.PrivateKey, forgeLibrary().md.sha256.create());
  return forgeLibrary().pki.certificationRequestToPem(csr);
}

/**
 * 20 random bytes with the top bit clear (a positive INTEGER, PITFALLS #349) and the next bit set
 * (never a leading zero byte, so the DER stays minimal and the serial never zero, #1147).
 */
export function randomSerial(): string {
  const bytes = randomBytes(20);
  bytes[0] = ((bytes[0] ?? 0) & 0x3f) | 0x40;
  return bytes.toString('hex');
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const NAME_ORDER = ['C', 'ST', 'L', 'O', 'OU'] as const;

/** Subject attributes in Go's order (C, ST, L, O, OU, CN); PrintableString when it fits, else UTF8. */
export function subjectAttributes(subject: Subject): forge.pki.CertificateField[] {
  const attributes: forge.pki.CertificateField[] = [];
  for (const key of NAME_ORDER) {
    for (const name of subject.names) {
      const value = name[key];
      if (value) attributes.push(attribute(key, value));
    }
  }
  attributes.push(attribute('CN', subject.cn));
  return attributes;
}

function attribute(shortName: string, value: string): forge.pki.CertificateField {
  return { shortName, value, valueTagClass: (PRINTABLE.test(value) ? forgeLibrary().asn1.Type.PRINTABLESTRING : forgeLibrary().asn1.Type.UTF8) as unknown as forge.asn1.Class };
}

function altNames(hosts: string[]): object[] {
  const { dns, ips } = splitHosts(hosts);
  // PITFALLS (forge #714): an IP SAN must be `ip:`, type 7; `value:` writes a corrupt entry.
  return [...dns.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))];
}

function keyUsageFlags(usages: string[]): Record<string, boolean> {
  const flags: Record<string, boolean> = {};
  for (const usage of usages) {
    const flag = KEY_USAGES[usage];
    if (flag) flags[flag] = true;
  }
  return flags;
}

/** forge writes known EKUs by name and unknown ones by OID (a known OID passed as OID breaks). */
function extKeyUsageFlags(usages: string[]): Record<string, boolean> {
  const flags: Record<string, boolean> = {};
  for (const usage of usages) {
    const oid = EXT_KEY_USAGES[usage];
    if (!oid) continue;
    const name = forgeLibrary().pki.oids[oid];
    flags[name && !name.includes('.') ? name : oid] = true;
  }
  return flags;
}
