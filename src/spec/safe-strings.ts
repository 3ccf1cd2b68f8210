// What a spec string may be, by what it is: a DNS name, a user name, an IP, a path, a Debian suite.
// Spec strings reach systemd units that run as root, shell commands and argv (ssh, debootstrap),
// so each is validated as what it is at `validate` time: a newline can never add a unit directive,
// and a leading "-" can never become an option of a program hardway runs.
import { isIP } from 'node:net';
import { z } from 'zod';

/** C0 and C1 control characters, DEL, and the Unicode line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
}

const LABEL = /^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$/;

/** An RFC 1123 host name: dot-separated labels of letters, digits and inner "-", at most 253 characters. */
export function isDnsName(value: string): boolean {
  if (value.length < 1 || value.length > 253) return false;
  return value.split('.').every((label) => LABEL.test(label));
}

/** A SAN entry: an IP address, a DNS name, or a wildcard DNS name (`*.example.com`). */
export function isSanName(value: string): boolean {
  if (isIP(value) !== 0) return true;
  return value.startsWith('*.') ? isDnsName(value.slice(2)) : isDnsName(value);
}

/** Where SSH connects: an IP address or a DNS name (never something ssh could read as an option). */
export function isHostAddress(value: string): boolean {
  return isIP(value) !== 0 || isDnsName(value);
}

/** A POSIX-portable login name as useradd and OpenSSH accept it; never starts with "-". */
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

export const dnsName = z
  .string()
  .max(253, { message: 'must be a DNS name of at most 253 characters' })
  .refine(isDnsName, { message: 'must be a DNS name like api.example.com: letters, digits, "-" and dots, no spaces or control characters' });

export const hostAddress = z
  .string()
  .max(253, { message: 'must be an IP address or a DNS name of at most 253 characters' })
  .refine(isHostAddress, { message: 'must be an IP address or a DNS name like node1.example.com (no spaces, no leading "-")' });

export const sanName = z
  .string()
  .max(253, { message: 'must be a DNS name or IP address of at most 253 characters' })
  .refine(isSanName, { message: 'must be a DNS name (like api.example.com or *.example.com) or an IP address' });

export const userName = z.string().regex(USER, { message: 'must be a user name like root or admin: letters, digits, "_", "." and "-", not starting with "-", at most 32 characters' });

/** A local path from the spec: any characters a file name may have, except control characters. */
export const localPath = z
  .string()
  .min(1, { message: 'must not be empty' })
  .max(4096, { message: 'must be a path of at most 4096 characters' })
  .refine((value) => !hasControlCharacters(value), { message: 'must be a path without newlines or other control characters' });

/** An X.509 subject attribute (pki.names): printable, bounded (RFC 5280's upper bound is 64). */
export const subjectText = z
  .string()
  .min(1, { message: 'must not be empty (leave the field out instead)' })
  .max(64, { message: 'must be at most 64 characters (the X.509 upper bound)' })
  .refine((value) => !hasControlCharacters(value), { message: 'must not contain newlines or other control characters' });

/** countryName is two letters (ISO 3166), as X.520 requires. */
export const countryCode = z.string().regex(/^[A-Z]{2}$/, { message: 'must be a two-letter country code like US' });

/** A Debian suite or codename: bookworm, trixie, stable, sid. */
export const debianSuite = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, { message: 'must be a Debian suite like bookworm or trixie (lowercase letters, digits and "-")' });

/** An http(s) URL without whitespace or control characters (URL parsing would silently drop them). */
export const httpUrl = z
  .string()
  .max(2048, { message: 'must be a URL of at most 2048 characters' })
  .refine((value) => !/\s/.test(value) && !hasControlCharacters(value), { message: 'must be a URL without spaces, newlines or control characters' })
  .refine(isHttpUrl, { message: 'must be an http:// or https:// URL' });

function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\/[^/?#]/i.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

export const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, { message: 'must be an AWS region like us-east-1' });
export const awsAvailabilityZone = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}[a-z](-[a-z]+-\d{1,2}[a-z])?$/, { message: 'must be an availability zone like us-east-1a' });
export const awsInstanceType = z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}\.[a-z0-9]{1,20}$/, { message: 'must be an EC2 instance type like t3.medium' });

/** A DNS domain for cluster names (cluster.local): lowercase labels. */
export const clusterDomain = z
  .string()
  .max(253)
  .refine((value) => value === value.toLowerCase() && isDnsName(value), { message: 'must be a DNS domain like cluster.local (lowercase letters, digits, "-" and dots)' });
