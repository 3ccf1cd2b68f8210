// IPv4 arithmetic for subnets and fixed node addresses, without a dependency for 30 lines.

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

export function intToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export interface Cidr {
  network: number;
  bits: number;
  size: number;
}

export function parseCidr(cidr: string): Cidr {
  const [address = '', bits = '32'] = cidr.split('/');
  const prefix = Number(bits);
  const size = 2 ** (32 - prefix);
  return { network: ipToInt(address) - (ipToInt(address) % size), bits: prefix, size };
}

export function cidrContains(cidr: string, ip: string): boolean {
  const { network, size } = parseCidr(cidr);
  const value = ipToInt(ip);
  return value >= network && value < network + size;
}

export function cidrsOverlap(a: string, b: string): boolean {
  const left = parseCidr(a);
  const right = parseCidr(b);
  return left.network < right.network + right.size && right.network < left.network + left.size;
}

/** The address at `offset` inside the subnet (offset 1 = the first host). */
export function addressInCidr(cidr: string, offset: number): string {
  return intToIp(parseCidr(cidr).network + offset);
}

/** The index-th /24 inside a larger CIDR (10.200.0.0/16, 1 -> 10.200.1.0/24): one worker's pod range. */
export function subnet24(cidr: string, index: number): string {
  return `${intToIp(parseCidr(cidr).network + index * 256)}/24`;
}

/** True when the CIDR's address has no host bits set (10.0.0.0/24, not 10.0.0.5/24). */
export function isNetworkAddress(cidr: string): boolean {
  const [address = ''] = cidr.split('/');
  return parseCidr(cidr).network === ipToInt(address);
}
