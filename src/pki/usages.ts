// cfssl's usage names ("signing", "key encipherment", "server auth") mapped to X.509 key usage bits
// and extended key usage OIDs, both ways, so ca-config.json profiles mean what cfssl means by them.

/** cfssl name -> forge keyUsage flag. */
export const KEY_USAGES: Record<string, string> = {
  signing: 'digitalSignature',
  'digital signature': 'digitalSignature',
  'content commitment': 'nonRepudiation',
  'key encipherment': 'keyEncipherment',
  'key agreement': 'keyAgreement',
  'data encipherment': 'dataEncipherment',
  'cert sign': 'keyCertSign',
  'crl sign': 'cRLSign',
  'encipher only': 'encipherOnly',
  'decipher only': 'decipherOnly',
};

/** cfssl name -> extended key usage OID. */
export const EXT_KEY_USAGES: Record<string, string> = {
  any: '2.5.29.37.0',
  'server auth': '1.3.6.1.5.5.7.3.1',
  'client auth': '1.3.6.1.5.5.7.3.2',
  'code signing': '1.3.6.1.5.5.7.3.3',
  'email protection': '1.3.6.1.5.5.7.3.4',
  's/mime': '1.3.6.1.5.5.7.3.4',
  'ipsec end system': '1.3.6.1.5.5.7.3.5',
  'ipsec tunnel': '1.3.6.1.5.5.7.3.6',
  'ipsec user': '1.3.6.1.5.5.7.3.7',
  timestamping: '1.3.6.1.5.5.7.3.8',
  'ocsp signing': '1.3.6.1.5.5.7.3.9',
};

export const KNOWN_USAGES = [...Object.keys(KEY_USAGES), ...Object.keys(EXT_KEY_USAGES)];

/** What a list of cfssl usages asks for, in comparable form. */
export interface UsageSet {
  /** forge keyUsage flags, sorted. */
  keyUsage: string[];
  /** Extended key usage OIDs, sorted. */
  extKeyUsage: string[];
}

/** Why: a profile's usages and a certificate's extensions are compared in one form. */
export function usageSet(usages: readonly string[]): UsageSet {
  const keyUsage = new Set<string>();
  const extKeyUsage = new Set<string>();
  for (const usage of usages) {
    const flag = KEY_USAGES[usage];
    if (flag) keyUsage.add(flag);
    const oid = EXT_KEY_USAGES[usage];
    if (oid) extKeyUsage.add(oid);
  }
  return { keyUsage: [...keyUsage].sort(), extKeyUsage: [...extKeyUsage].sort() };
}

/** Equal as sets: the order a profile lists usages in does not matter. */
export function sameUsages(a: UsageSet, b: UsageSet): boolean {
  return a.keyUsage.join(',') === b.keyUsage.join(',') && a.extKeyUsage.join(',') === b.extKeyUsage.join(',');
}

/** Readable names for messages: "digitalSignature, keyEncipherment, server auth". */
export function describeUsages(set: UsageSet): string {
  const names = Object.fromEntries(Object.entries(EXT_KEY_USAGES).map(([name, oid]) => [oid, name]));
  return [...set.keyUsage, ...set.extKeyUsage.map((oid) => names[oid] ?? oid)].join(', ');
}
