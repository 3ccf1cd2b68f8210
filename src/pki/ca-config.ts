// cfssl's `pki/ca-config.json`: signing profiles (usages and expiry) that `cfssl gencert -profile=`
// selects. hardway writes it from the spec and reads it back, so an edited or cfssl-made one wins.
import { z } from 'zod';
import { SpecError } from '../errors.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import { PROFILE_USAGES, type ProfileName } from './catalog.ts';
import { parseExpiry } from './duration.ts';
import { formatJson, parseJsonFile } from './json-file.ts';
import { KNOWN_USAGES } from './usages.ts';

const usage = z.string().refine((value) => KNOWN_USAGES.includes(value), { message: `must be a cfssl usage: ${KNOWN_USAGES.join(', ')}` });

const signingPolicy = z.object({
  usages: z.array(usage).optional(),
  expiry: z.string().optional(),
});

/** The part of cfssl's config that signing reads; auth keys, remotes and the rest are ignored. */
export const caConfigSchema = z.object({
  signing: z.object({
    default: signingPolicy.default({}),
    profiles: z.record(z.string(), signingPolicy).default({}),
  }),
});

export type CaConfig = z.output<typeof caConfigSchema>;

/** What a profile resolves to: cfssl usages and the expiry in ms. */
export interface SigningProfile {
  usages: string[];
  expiryMs: number;
}

const HINT = "Fix the file (cfssl's ca-config.json format), or delete it and hardway writes it again from cluster.yaml.";

/** Why: the default profiles follow the catalogue; the expiry follows spec.pki.certExpiry. */
export function renderCaConfig(spec: ClusterSpec): string {
  const expiry = spec.pki.certExpiry;
  const profiles = Object.fromEntries(Object.entries(PROFILE_USAGES).map(([name, usages]) => [name, { usages, expiry }]));
  return formatJson({ signing: { default: { expiry }, profiles } });
}

/** Read ca-config.json (hardway's or cfssl's); every expiry is checked here, naming its field. */
export function parseCaConfig(text: string, file: string): CaConfig {
  const config = parseJsonFile(caConfigSchema, text, file, HINT);
  if (config.signing.default.expiry) parseExpiry(config.signing.default.expiry, { file, field: 'signing.default.expiry' });
  for (const [name, profile] of Object.entries(config.signing.profiles)) {
    if (profile.expiry) parseExpiry(profile.expiry, { file, field: `signing.profiles.${name}.expiry` });
  }
  return config;
}

/** The usages and expiry cfssl would use for `-profile=NAME`; throws naming the missing profile. */
export function resolveProfile(config: CaConfig, name: ProfileName, file: string): SigningProfile {
  const profile = config.signing.profiles[name];
  if (!profile) {
    throw new SpecError(`${file} signing.profiles: has no "${name}" profile, which the catalogue signs with`, { file, field: `signing.profiles.${name}` }, { hint: HINT });
  }
  const usages = profile.usages ?? config.signing.default.usages ?? PROFILE_USAGES[name];
  const expiry = profile.expiry ?? config.signing.default.expiry;
  if (!expiry) throw new SpecError(`${file} signing.profiles.${name}.expiry: no expiry here nor in signing.default`, { file, field: `signing.profiles.${name}.expiry` }, { hint: HINT });
  return { usages, expiryMs: parseExpiry(expiry, { file, field: `signing.profiles.${name}.expiry` }) };
}
