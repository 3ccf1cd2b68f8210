// Reads a certificate (hardway's, cfssl's, openssl's) into the facts the reuse rules and
// `pki inspect` compare: subject, SANs, validity, usages, key, SKI/AKI. Node's X509Certificate
// does the parsing and the signature checks; forge's ASN.1 reader gives the extensions.
import { X509Certificate, type KeyObject } from 'node:crypto';
import type forge from 'node-forge';
import { forgeLibrary } from './forge-library.ts';
import type { SubjectName } from './csr-json.ts';
import type { Subject } from './issue.ts';
import { EXT_KEY_USAGES, type UsageSet } from './usages.ts';

export const NAME_KEYS = ['C', 'ST', 'L', 'O', 'OU'] as const;
export type NameKey = (typeof NAME_KEYS)[number];

/** A subject flattened for comparison: every value of each attribute, sorted. */
export interface SubjectSummary {
  cn: string;
  names: Record<NameKey, string[]>;
}

/** The facts about one certificate that the reuse rules and `pki inspect` use. */
export interface CertificateInfo {
  pem: string;
  x509: X509Certificate;
  subject: SubjectSummary;
  issuer: SubjectSummary;
  /** The subject as forge attributes, to be copied as a leaf's issuer. */
  subjectFields: forge.pki.CertificateField[];
  /** The subject's DER exactly as in the certificate (binary string). */
  subjectDer: string;
  dns: string[];
  ips: string[];
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  usages: UsageSet;
  keyType: string;
  keyBits: number;
  serialHex: string;
  /** Hex, lower case. */
  subjectKeyId: string | undefined;
  authorityKeyId: string | undefined;
}

/** Why: every rule about an existing certificate reads it through here. Throws on unreadable input. */
export function readCertificate(pem: string): CertificateInfo {
  const x509 = new X509Certificate(pem);
  const der = forgeLibrary().util.createBuffer(x509.raw.toString('binary'));
  const tbs = (forgeLibrary().asn1.fromDer(der).value as forge.asn1.Asn1[])[0]!;
  const fields = tbs.value as forge.asn1.Asn1[];
  const offset = fields[0]?.tagClass === forgeLibrary().asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  const issuerFields = decodeFields(forgeInternals().RDNAttributesAsArray(fields[offset + 2]!));
  const subjectFields = decodeFields(forgeInternals().RDNAttributesAsArray(fields[offset + 4]!));
  const extensionsNode = fields.find((field) => field.tagClass === forgeLibrary().asn1.Class.CONTEXT_SPECIFIC && field.type === 3);
  const extensions = extensionsNode ? forgeInternals().certificateExtensionsFromAsn1(extensionsNode) : [];
  const find = (name: string) => extensions.find((extension) => extension.name === name);

  const altNames = (find('subjectAltName')?.altNames ?? []) as { type: number; value: string; ip?: string }[];
  const keyUsage = find('keyUsage');
  const extKeyUsage = find('extKeyUsage');
  const details = x509.publicKey.asymmetricKeyDetails;
  return {
    pem,
    x509,
    subject: summarize(subjectFields),
    issuer: summarize(issuerFields),
    subjectFields,
    subjectDer: forgeLibrary().asn1.toDer(fields[offset + 4]!).getBytes(),
    dns: altNames.filter((name) => name.type === 2).map((name) => name.value),
    ips: altNames.filter((name) => name.type === 7 && name.ip).map((name) => name.ip as string),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    isCA: Boolean(find('basicConstraints')?.cA),
    usages: {
      keyUsage: keyUsage ? KEY_USAGE_FLAGS.filter((flag) => keyUsage[flag] === true).sort() : [],
      extKeyUsage: extKeyUsage ? ekuOids(extKeyUsage) : [],
    },
    keyType: x509.publicKey.asymmetricKeyType ?? 'unknown',
    keyBits: details?.modulusLength ?? 0,
    serialHex: x509.serialNumber.toLowerCase(),
    subjectKeyId: (find('subjectKeyIdentifier')?.subjectKeyIdentifier as string | undefined)?.toLowerCase(),
    authorityKeyId: authorityKeyId(find('authorityKeyIdentifier')),
  };
}

/** forge functions its typings leave out (lib/x509.js exports them on forge.pki). */
const forgeInternals = () =>
  forgeLibrary().pki as unknown as {
    RDNAttributesAsArray(rdn: forge.asn1.Asn1): forge.pki.CertificateField[];
    certificateExtensionsFromAsn1(extensions: forge.asn1.Asn1): Extension[];
  };

interface Extension {
  name: string;
  id: string;
  critical: boolean;
  value: string;
  [key: string]: unknown;
}

const KEY_USAGE_FLAGS = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'];

function ekuOids(extension: Extension): string[] {
  const known = new Set(Object.values(EXT_KEY_USAGES));
  const oids: string[] = [];
  for (const [key, value] of Object.entries(extension)) {
    if (value !== true || key === 'critical') continue;
    const oid = key.includes('.') ? key : forgeLibrary().pki.oids[key];
    if (oid && (known.has(oid) || key.includes('.'))) oids.push(oid);
  }
  return oids.sort();
}

function authorityKeyId(extension: Extension | undefined): string | undefined {
  if (!extension) return undefined;
  const sequence = forgeLibrary().asn1.fromDer(extension.value);
  const keyId = (sequence.value as forge.asn1.Asn1[]).find((item) => item.tagClass === forgeLibrary().asn1.Class.CONTEXT_SPECIFIC && item.type === 0);
  return keyId ? forgeLibrary().util.bytesToHex(keyId.value as string).toLowerCase() : undefined;
}

function decodeFields(fields: forge.pki.CertificateField[]): forge.pki.CertificateField[] {
  return fields.map((field) => ((field.valueTagClass as unknown) === forgeLibrary().asn1.Type.UTF8 ? { ...field, value: forgeLibrary().util.decodeUtf8(String(field.value)) } : field));
}

function summarize(fields: forge.pki.CertificateField[]): SubjectSummary {
  const names: Record<NameKey, string[]> = { C: [], ST: [], L: [], O: [], OU: [] };
  let cn = '';
  for (const field of fields) {
    const value = String(field.value);
    if (field.shortName === 'CN') cn = value;
    else if ((NAME_KEYS as readonly string[]).includes(field.shortName ?? '')) names[field.shortName as NameKey].push(value);
  }
  for (const key of NAME_KEYS) names[key].sort();
  return { cn, names };
}

/** The subject a CSR JSON asks for, in the same flattened form. */
export function requestedSubject(subject: Subject): SubjectSummary {
  const names: Record<NameKey, string[]> = { C: [], ST: [], L: [], O: [], OU: [] };
  for (const name of subject.names as SubjectName[]) for (const key of NAME_KEYS) if (name[key]) names[key].push(name[key]);
  for (const key of NAME_KEYS) names[key].sort();
  return { cn: subject.cn, names };
}

/** "CN=admin, O=system:masters" for messages. */
export function formatSubject(subject: SubjectSummary): string {
  const parts = [`CN=${subject.cn}`];
  for (const key of NAME_KEYS) for (const value of subject.names[key]) parts.push(`${key}=${value}`);
  return parts.join(', ');
}

/** What differs between two subjects, e.g. "O=system:masters (asked O=admins)"; empty when equal. */
export function subjectDifference(actual: SubjectSummary, asked: SubjectSummary): string {
  const differences: string[] = [];
  if (actual.cn !== asked.cn) differences.push(`CN=${actual.cn} (asked CN=${asked.cn})`);
  for (const key of NAME_KEYS) {
    const have = actual.names[key].join('+');
    const want = asked.names[key].join('+');
    if (have !== want) differences.push(`${key}=${have || '(none)'} (asked ${key}=${want || '(none)'})`);
  }
  return differences.join(', ');
}

/** True when `certificate` was signed by `ca`'s key and names it as issuer. */
export function signedBy(certificate: CertificateInfo, ca: CertificateInfo): boolean {
  return certificate.x509.checkIssued(ca.x509) && certificate.x509.verify(ca.x509.publicKey);
}

/** True when the private key is the certificate's (OpenSSL compares the public halves). */
export function keyMatches(certificate: CertificateInfo, privateKey: KeyObject): boolean {
  try {
    return certificate.x509.checkPrivateKey(privateKey);
  } catch {
    return false;
  }
}
