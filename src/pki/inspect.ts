// What `hardway pki inspect` shows: every certificate of the catalogue (and any other one left in
// pki/) with its subject, SANs, issuer, expiry and days left, and warnings for the renew window.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { catalog, type EntryKind } from './catalog.ts';
import { readCertificate, type CertificateInfo } from './certificate-info.ts';
import { parseDuration, wholeDays } from './duration.ts';
import type { PkiEnv } from './plan-types.ts';
import { PKI_DIR, pkiFiles, readOptional } from './store.ts';

export interface InspectRow {
  name: string;
  /** `extra`: a certificate in pki/ the catalogue no longer lists (a removed node's). */
  kind: EntryKind | 'extra';
  file: string;
  status: 'ok' | 'renew' | 'expired' | 'missing' | 'unreadable';
  cn?: string;
  organizations?: string[];
  sans?: string[];
  issuer?: string;
  notAfter?: string;
  daysLeft?: number;
  serial?: string;
  error?: string;
}

export interface InspectReport {
  rows: InspectRow[];
  warnings: string[];
  renewBeforeDays: number;
}

/** Why: operators check expiry without reading openssl output for 16 files. */
export async function inspectPki(env: PkiEnv): Promise<InspectReport> {
  const renewBeforeMs = parseDuration(env.spec.pki.renewBefore, { file: 'cluster.yaml', field: 'pki.renewBefore' });
  const entries = catalog(env.spec, env.inventory);
  const rows: InspectRow[] = [];
  for (const entry of entries) {
    const file = pkiFiles.cert(entry.name);
    const pem = await readOptional(env.clusterDir, file);
    if (entry.kind === 'keypair') {
      const key = await readOptional(env.clusterDir, pkiFiles.key(entry.name));
      rows.push({ name: entry.name, kind: entry.kind, file, status: pem !== undefined && key !== undefined ? 'ok' : 'missing' });
      continue;
    }
    rows.push(pem === undefined ? { name: entry.name, kind: entry.kind, file, status: 'missing' } : describeCertificate(entry.name, entry.kind, file, pem, env.now, renewBeforeMs));
  }
  const known = new Set(entries.map((entry) => pkiFiles.cert(entry.name)));
  for (const file of await extraCertificates(env.clusterDir, known)) {
    const pem = await readOptional(env.clusterDir, file);
    if (pem?.includes('BEGIN CERTIFICATE')) rows.push(describeCertificate(file.slice(PKI_DIR.length + 1, -'.pem'.length), 'extra', file, pem, env.now, renewBeforeMs));
  }

  const warnings: string[] = [];
  for (const row of rows) {
    const fix = row.kind === 'ca' ? 'a CA is never renewed by hardway: plan a new CA and reissue everything it signs' : `run \`hardway pki renew ${row.name}\``;
    if (row.status === 'expired') warnings.push(`${row.name} expired on ${row.notAfter?.slice(0, 10)}: ${fix}`);
    if (row.status === 'renew') warnings.push(`${row.name} expires on ${row.notAfter?.slice(0, 10)}, in ${row.daysLeft} days (inside the ${wholeDays(renewBeforeMs)}-day renew window): ${fix}`);
    if (row.status === 'unreadable') warnings.push(`${row.file} is unreadable: ${row.error}`);
  }
  const missing = rows.filter((row) => row.status === 'missing').map((row) => row.name);
  if (missing.length) warnings.push(`${missing.length === rows.length ? 'every certificate is' : `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'}`} missing: run \`hardway provision --step pki\``);
  return { rows, warnings, renewBeforeDays: wholeDays(renewBeforeMs) };
}

function describeCertificate(name: string, kind: InspectRow['kind'], file: string, pem: string, now: Date, renewBeforeMs: number): InspectRow {
  let info: CertificateInfo;
  try {
    info = readCertificate(pem);
  } catch (error) {
    return { name, kind, file, status: 'unreadable', error: (error as Error).message };
  }
  const left = info.notAfter.getTime() - now.getTime();
  return {
    name,
    kind,
    file,
    status: left <= 0 ? 'expired' : left <= renewBeforeMs ? 'renew' : 'ok',
    cn: info.subject.cn,
    organizations: info.subject.names.O,
    sans: [...info.dns, ...info.ips],
    issuer: info.issuer.cn,
    notAfter: info.notAfter.toISOString(),
    daysLeft: wholeDays(left),
    serial: info.serialHex,
  };
}

async function extraCertificates(clusterDir: string, known: Set<string>): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(join(clusterDir, PKI_DIR));
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith('.pem') && !name.endsWith('-key.pem'))
    .map((name) => `${PKI_DIR}/${name}`)
    .filter((file) => !known.has(file))
    .sort();
}

/** The report as an aligned table, for a terminal. */
export function formatInspectTable(report: InspectReport): string {
  const header = ['NAME', 'CN', 'O', 'ISSUER', 'NOT AFTER', 'DAYS', 'SANS'];
  const body = report.rows.map((row) => {
    if (row.kind === 'keypair') return [row.name, '(key pair)', '', '', '', '', row.status === 'ok' ? '' : row.status];
    if (row.status === 'missing' || row.status === 'unreadable') return [row.name, `(${row.status})`, '', '', '', '', ''];
    const days = `${row.daysLeft}${row.status === 'ok' ? '' : row.status === 'renew' ? ' !' : ' EXPIRED'}`;
    return [row.name, row.cn ?? '', (row.organizations ?? []).join('+'), row.issuer ?? '', row.notAfter?.slice(0, 10) ?? '', days, (row.sans ?? []).join(',')];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => (cells[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd();
  return `${[header, ...body].map(line).join('\n')}\n`;
}
