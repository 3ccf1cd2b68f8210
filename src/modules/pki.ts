// Task module `pki` (local): makes the CAs, certificates and the service-account key pair of the
// catalogue that the task names, reusing what is still right and saying why anything is remade.
import { z } from 'zod';
import { applyPkiPlan } from '../pki/apply.ts';
import { catalog, selectEntries } from '../pki/catalog.ts';
import { describePki } from '../pki/describe.ts';
import { planChanges, planLines, planPki } from '../pki/plan.ts';
import type { PkiPlan } from '../pki/plan-types.ts';
import { type CheckResult, defineModule } from './module.ts';
import { shellQuote } from '../transport/shell.ts';
import { pkiEnv } from './pki-env.ts';

const args = z.strictObject({
  /** Catalogue names, `*` wildcards allowed (`etcd-server-*`); all certificates when omitted. */
  certs: z.array(z.string().min(1)).min(1).optional(),
});

/** Why: one module for every certificate keeps the reuse rules in one place (src/pki/plan.ts). */
export const pkiModule = defineModule({
  name: 'pki',
  where: 'local',
  summary: 'Create the CAs and issue the certificates of the catalogue as cfssl-style files in pki/',
  args,
  async check(ctx, { certs }): Promise<CheckResult<PkiPlan>> {
    const plan = await planPki(pkiEnv(ctx.run), { names: certs });
    for (const note of plan.notes) ctx.log(`note: ${note}`);
    if (!planChanges(plan)) {
      const names = plan.certs.map((cert) => cert.entry.name);
      return { changed: false, reason: names.length ? `using existing ${names.join(', ')}` : 'no certificate of the catalogue matches' };
    }
    const lines = planLines(plan);
    return { changed: true, reason: lines.join('; '), diff: lines.map((line) => `+ ${line}`).join('\n'), plan };
  },
  async apply(ctx, { certs }, change) {
    const plan = change.plan ?? (await planPki(pkiEnv(ctx.run), { names: certs }));
    const result = await applyPkiPlan(plan);
    for (const line of result.lines) ctx.log(line);
    const reason = planLines(plan).join('; ');
    return { changed: true, reason: reason || result.lines.join('; ') };
  },
  describe(ctx, { certs }, plan) {
    if (!plan) return describePki(selectEntries(catalog(ctx.run.spec, ctx.run.inventory), certs), ctx.run.spec);
    // What this run makes: the certificates not reused, and the modes it corrects.
    const made = plan.certs.filter((cert) => cert.action !== 'reuse').map((cert) => cert.entry);
    return [...(made.length ? describePki(made, ctx.run.spec) : []), ...plan.modeFixes.map((fix) => `chmod ${fix.to.toString(8)} ${shellQuote(fix.file)}`)];
  },
});
