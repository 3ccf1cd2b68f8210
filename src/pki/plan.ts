// Decides, without writing anything, what the pki step must do for a selection of the catalogue:
// which JSON inputs to (re)write, which certificates to reuse or issue and why, which modes to fix.
// check() reports this plan; apply() carries it out (apply.ts).
import { parseCaConfig, renderCaConfig, resolveProfile } from './ca-config.ts';
import { loadCa, type CaOnDisk } from './ca.ts';
import { catalog, selectEntries, type CaName, type CatalogEntry } from './catalog.ts';
import { requestedSubject, subjectDifference } from './certificate-info.ts';
import { parseCsrJson, renderCsrJson, type CertRequest } from './csr-json.ts';
import { parseDuration, wholeDays } from './duration.ts';
import { readGeneratedRecord, type GeneratedRecord } from './generated-record.ts';
import { leafReissueReason, missingHosts } from './reissue.ts';
import type { CertPlan, JsonPlan, ModeFix, PkiEnv, PkiPlan, PlanOptions } from './plan-types.ts';
import { planKeyPair } from './keypair-plan.ts';
import { DIR_MODE, displayPath, KEY_MODE, modeOf, octal, PKI_DIR, pkiFiles, readOptional } from './store.ts';
import { sha256Buffer } from '../artifacts/checksum.ts';

/** Why: one pure-ish decision (reads only) shared by check, apply, `pki renew` and the bench. */
export async function planPki(env: PkiEnv, options: PlanOptions = {}): Promise<PkiPlan> {
  const entries = selectEntries(catalog(env.spec, env.inventory), options.names);
  const record = await readGeneratedRecord(env.clusterDir);
  const notes: string[] = [];
  const renewBeforeMs = parseDuration(env.spec.pki.renewBefore, { file: 'cluster.yaml', field: 'pki.renewBefore' });

  const hasLeaves = entries.some((entry) => entry.kind === 'leaf');
  const caConfig = hasLeaves ? await planJson(env, pkiFiles.caConfig, renderCaConfig(env.spec), record, notes) : undefined;
  const config = caConfig ? parseCaConfig(caConfig.text, displayPath(env.clusterDir, caConfig.file)) : undefined;

  const cas = new Map<string, CaOnDisk>();
  const caState = async (name: CaName): Promise<CaOnDisk> => {
    let state = cas.get(name);
    if (!state) {
      state = await loadCa(env.clusterDir, name, env.now);
      cas.set(name, state);
    }
    return state;
  };
  const selectedCas = new Set(entries.filter((entry) => entry.kind === 'ca').map((entry) => entry.name));

  const certs: CertPlan[] = [];
  for (const entry of entries) {
    if (entry.kind === 'keypair') {
      certs.push({ entry, request: undefined, csrJson: undefined, profile: undefined, ...(await planKeyPair(env, entry)) });
      continue;
    }
    const csrJson = await planJson(env, pkiFiles.csrJson(entry.name), renderCsrJson(entry, env.spec), record, notes);
    const request = parseCsrJson(csrJson.text, displayPath(env.clusterDir, csrJson.file), env.spec.pki.keySize);
    if (csrJson.source === 'file') notes.push(...missingHosts(env, entry, request));

    if (entry.kind === 'ca') {
      const state = await caState(entry.name as CaName);
      certs.push({ entry, request, csrJson, profile: undefined, ...planCa(env, entry, request, state, renewBeforeMs, notes) });
      continue;
    }

    const profile = resolveProfile(config!, entry.profile!, displayPath(env.clusterDir, pkiFiles.caConfig));
    const signer = entry.signer!;
    const signerState = await caState(signer);
    const base = { entry, request, csrJson, profile };
    if (signerState.status !== 'present') {
      const why = selectedCas.has(signer) ? `its CA ${signer} is new` : `its CA ${signer} is not created yet`;
      certs.push({ ...base, action: 'issue', reason: `issue: ${why}` });
      continue;
    }
    if (options.force?.has(entry.name)) {
      certs.push({ ...base, action: 'issue', reason: 'reissue: renewal requested' });
      continue;
    }
    const why = await leafReissueReason(env, entry, request, profile, signerState.ca.info, renewBeforeMs);
    certs.push(why ? { ...base, action: 'issue', reason: `${why === 'missing' ? 'issue' : 'reissue'}: ${why}` } : { ...base, action: 'reuse', reason: 'using existing' });
  }
  // A CA created in this plan makes every leaf it signs new, even one that looked reusable.
  for (const plan of certs) {
    const signer = plan.entry.signer;
    const signerPlan = certs.find((other) => other.entry.name === signer);
    if (plan.action === 'reuse' && signerPlan && signerPlan.action !== 'reuse') Object.assign(plan, { action: 'issue', reason: `reissue: its CA ${signer} is new` });
  }

  return { env, caConfig, certs, modeFixes: await planModes(env, entries), notes, record };
}

/** The JSON file to use: hardway's own (rewritten when the spec changed) or a person's edit. */
async function planJson(env: PkiEnv, file: string, generated: string, record: GeneratedRecord, notes: string[]): Promise<JsonPlan> {
  const onDisk = await readOptional(env.clusterDir, file);
  if (onDisk === undefined) return { file, text: generated, source: 'generated', write: true, reason: `write ${file}` };
  if (onDisk === generated) return { file, text: generated, source: 'generated', write: false, reason: 'matches cluster.yaml' };
  if (record.files[file] === sha256Buffer(onDisk)) return { file, text: generated, source: 'generated', write: true, reason: `rewrite ${file}: cluster.yaml changed` };
  notes.push(`${file} differs from what cluster.yaml asks (edited, or made by cfssl): using it as written; delete it to go back to cluster.yaml`);
  return { file, text: onDisk, source: 'file', write: false, reason: 'edited by hand: honoured' };
}

/** A hand-edited kube-apiserver CSR JSON that drops a SAN the cluster needs deserves a warning. */
function planCa(env: PkiEnv, entry: CatalogEntry, request: CertRequest, state: CaOnDisk, renewBeforeMs: number, notes: string[]): Pick<CertPlan, 'action' | 'reason'> {
  if (state.status === 'missing') return { action: 'create-ca', reason: 'create: missing' };
  if (state.status === 'key-only') return { action: 'self-sign-ca', reason: `create ${pkiFiles.cert(entry.name)} from the existing ${pkiFiles.key(entry.name)}` };
  const info = state.ca.info;
  const left = info.notAfter.getTime() - env.now.getTime();
  if (left <= renewBeforeMs) {
    notes.push(
      `${displayPath(env.clusterDir, pkiFiles.cert(entry.name))} expires on ${info.notAfter.toISOString().slice(0, 10)} (in ${wholeDays(left)} days): hardway never replaces a CA by itself; plan a new CA and reissue every certificate`,
    );
  }
  const difference = subjectDifference(info.subject, requestedSubject(request));
  if (difference) notes.push(`${displayPath(env.clusterDir, pkiFiles.csrJson(entry.name))} asks ${difference}, but the existing CA is kept as it is (a CA is never regenerated silently)`);
  return { action: 'reuse', reason: 'using existing' };
}

/** Keys must be 0600 and the pki directory 0700, whoever made them. */
async function planModes(env: PkiEnv, entries: CatalogEntry[]): Promise<ModeFix[]> {
  const fixes: ModeFix[] = [];
  const dirMode = await modeOf(env.clusterDir, PKI_DIR);
  if (dirMode !== undefined && dirMode !== DIR_MODE) fixes.push({ file: PKI_DIR, from: dirMode, to: DIR_MODE });
  for (const entry of entries) {
    const mode = await modeOf(env.clusterDir, pkiFiles.key(entry.name));
    if (mode !== undefined && mode !== KEY_MODE) fixes.push({ file: pkiFiles.key(entry.name), from: mode, to: KEY_MODE });
  }
  return fixes;
}

/** True when carrying out the plan would change anything on disk. */
export function planChanges(plan: PkiPlan): boolean {
  return Boolean(plan.caConfig?.write) || plan.certs.some((cert) => cert.action !== 'reuse' || cert.csrJson?.write) || plan.modeFixes.length > 0;
}

/** One line per change, for check's reason and `plan --diff`. */
export function planLines(plan: PkiPlan): string[] {
  const lines: string[] = [];
  if (plan.caConfig?.write) lines.push(plan.caConfig.reason);
  for (const cert of plan.certs) {
    if (cert.csrJson?.write && cert.action === 'reuse') lines.push(cert.csrJson.reason);
    if (cert.action !== 'reuse') lines.push(`${cert.entry.name}: ${cert.reason}`);
  }
  for (const fix of plan.modeFixes) lines.push(`chmod ${octal(fix.to)} ${fix.file} (was ${octal(fix.from)})`);
  return lines;
}

