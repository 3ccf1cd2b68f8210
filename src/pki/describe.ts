// The shell a person would type to make the same files with cfssl (and openssl for the
// service-account key pair), for `explain` and `--transcript`. Keys are referenced by path only.
import { withInput, type DescribedLine } from '../modules/described.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import { renderCaConfig } from './ca-config.ts';
import type { CatalogEntry } from './catalog.ts';
import { renderCsrJson } from './csr-json.ts';
import { PKI_DIR, pkiFiles } from './store.ts';

/** Why: learners see cfssl's commands, and can run them instead of hardway if they wish. */
export function describePki(entries: readonly CatalogEntry[], spec: ClusterSpec): DescribedLine[] {
  const lines: DescribedLine[] = [`mkdir -p -m 700 ${PKI_DIR}`];
  if (entries.some((entry) => entry.kind === 'leaf')) lines.push(jsonFile(pkiFiles.caConfig, renderCaConfig(spec), true));
  for (const entry of entries) {
    const base = `${PKI_DIR}/${entry.name}`;
    if (entry.kind === 'keypair') {
      lines.push(`openssl genrsa -out ${pkiFiles.key(entry.name)} ${spec.pki.keySize}`, `openssl rsa -in ${pkiFiles.key(entry.name)} -pubout -out ${pkiFiles.cert(entry.name)}`);
      lines.push(`chmod 600 ${pkiFiles.key(entry.name)}`);
      continue;
    }
    lines.push(jsonFile(pkiFiles.csrJson(entry.name), renderCsrJson(entry, spec), false));
    if (entry.kind === 'ca') {
      lines.push(`cfssl gencert -initca ${pkiFiles.csrJson(entry.name)} | cfssljson -bare ${base}`);
    } else {
      lines.push(
        `cfssl gencert -ca=${pkiFiles.cert(entry.signer!)} -ca-key=${pkiFiles.key(entry.signer!)} -config=${pkiFiles.caConfig} -profile=${entry.profile} ${pkiFiles.csrJson(entry.name)} | cfssljson -bare ${base}`,
      );
    }
  }
  return lines;
}

/** A JSON file written from a heredoc, on one line so a transcript stays readable. */
function jsonFile(file: string, json: string, onlyIfMissing: boolean): DescribedLine {
  return withInput(`${onlyIfMissing ? `[ -f ${file} ] || ` : ''}cat > ${file}`, `${JSON.stringify(JSON.parse(json))}\n`);
}
