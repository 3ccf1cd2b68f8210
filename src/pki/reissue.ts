// The reuse rules for leaves (DESIGN §6): a leaf is reissued only when missing, unreadable, not
// matching its key, signed by another CA, expiring within the renew window, or when its subject,
// SANs, usages or key size differ from what is asked; otherwise it is reused.
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import type { SigningProfile } from './ca-config.ts';
import { splitHosts, type CatalogEntry } from './catalog.ts';
import { formatSubject, keyMatches, readCertificate, requestedSubject, signedBy, subjectDifference, type CertificateInfo } from './certificate-info.ts';
import type { CertRequest } from './csr-json.ts';
import { wholeDays } from './duration.ts';
import { readPrivateKey } from './keys.ts';
import type { PkiEnv } from './plan-types.ts';
import { displayPath, pkiFiles, readOptional } from './store.ts';
import { describeUsages, sameUsages, usageSet } from './usages.ts';

/** Hosts the cluster uses that an edited CSR JSON leaves out (a note, not a change). */
export function missingHosts(env: PkiEnv, entry: CatalogEntry, request: CertRequest): string[] {
  const asked = new Set(request.hosts.map((host) => normalizeHost(host)));
  const missing = entry.hosts.filter((host) => !asked.has(normalizeHost(host)));
  return missing.length ? [`${displayPath(env.clusterDir, pkiFiles.csrJson(entry.name))} lacks hosts the cluster uses: ${missing.join(', ')}`] : [];
}

/** Why a leaf must be reissued (DESIGN §6), or undefined when it can be reused. */
export async function leafReissueReason(env: PkiEnv, entry: CatalogEntry, request: CertRequest, profile: SigningProfile, ca: CertificateInfo, renewBeforeMs: number): Promise<string | undefined> {
  const [certPem, keyPem] = await Promise.all([readOptional(env.clusterDir, pkiFiles.cert(entry.name)), readOptional(env.clusterDir, pkiFiles.key(entry.name))]);
  if (certPem === undefined) return 'missing';
  if (keyPem === undefined) return 'key missing';
  let info: CertificateInfo;
  try {
    info = readCertificate(certPem);
  } catch (error) {
    return `unreadable certificate (${(error as Error).message})`;
  }
  if (info.keyType !== 'rsa') return `${info.keyType} key (hardway issues RSA)`;
  let key: KeyObject;
  try {
    key = readPrivateKey(keyPem);
  } catch {
    return 'unreadable key';
  }
  if (!keyMatches(info, key)) return 'key does not match the certificate';
  if (!signedBy(info, ca)) return `signed by another CA (${formatSubject(info.issuer)})`;
  const left = info.notAfter.getTime() - env.now.getTime();
  if (left <= 0) return `expired on ${info.notAfter.toISOString().slice(0, 10)}`;
  if (left <= renewBeforeMs) return `expires on ${info.notAfter.toISOString().slice(0, 10)}, in ${wholeDays(left)} days (renew window ${wholeDays(renewBeforeMs)} days)`;
  const subject = subjectDifference(info.subject, requestedSubject(request));
  if (subject) return `subject differs: ${subject}`;
  const sans = sanDifference(info, request.hosts);
  if (sans) return `SANs differ: ${sans}`;
  const asked = usageSet(profile.usages);
  if (!sameUsages(info.usages, asked)) return `usages differ: has ${describeUsages(info.usages)}, profile asks ${describeUsages(asked)}`;
  if (info.keyBits !== request.keySize) return `key is ${info.keyBits} bits, ${request.keySize} asked`;
  return undefined;
}

/** "+lb.example.com, -10.0.0.5": what the request adds and drops; empty when the sets are equal. */
export function sanDifference(info: Pick<CertificateInfo, 'dns' | 'ips'>, hosts: readonly string[]): string {
  const asked = splitHosts(hosts);
  const have = new Set([...info.dns, ...info.ips].map(normalizeHost));
  const want = new Set([...asked.dns, ...asked.ips].map(normalizeHost));
  const added = [...want].filter((host) => !have.has(host)).map((host) => `+${host}`);
  const removed = [...have].filter((host) => !want.has(host)).map((host) => `-${host}`);
  return [...added, ...removed].join(', ');
}

function normalizeHost(host: string): string {
  if (isIP(host) === 6) return host.toLowerCase().replace(/(^|:)0+(?=[0-9a-f])/g, '$1');
  return host.toLowerCase();
}

