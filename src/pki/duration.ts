// Go-style durations as cfssl writes them in ca-config.json and CSR JSON ("8760h", "90m", "1h30m").
import { SpecError, type ErrorWhere } from '../errors.ts';

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
const PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const WHOLE = /^(\d+(\.\d+)?(ms|h|m|s))+$/;

export const HOUR_MS = 3_600_000;
/** 100 years (876000h): beyond it a certificate's dates stop being readable by common tools. */
export const MAX_EXPIRY_MS = 876_000 * HOUR_MS;
/** Certificates shorter than an hour expire before a run that issued them has finished. */
export const MIN_EXPIRY_MS = HOUR_MS;

/** The milliseconds of a duration string, or undefined when it is not one (or not finite). */
export function durationMs(text: string): number | undefined {
  if (text.length > 64 || !WHOLE.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(PART)) total += Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1);
  return Number.isFinite(total) ? total : undefined;
}

/** Why: cfssl expiries are strings; certificates need milliseconds. Throws SpecError naming where. */
export function parseDuration(text: string, where: ErrorWhere = {}): number {
  const ms = durationMs(text);
  if (ms === undefined) {
    throw new SpecError(`"${text.slice(0, 64)}" is not a duration like "8760h" or "30m"`, where, { hint: 'Use hours, as cfssl does: 8760h is one year.' });
  }
  return ms;
}

/** A certificate lifetime: a duration between 1h and 100 years (876000h). */
export function parseExpiry(text: string, where: ErrorWhere = {}): number {
  const ms = parseDuration(text, where);
  const problem = expiryProblem(ms);
  if (problem) throw new SpecError(`"${text}" ${problem}`, where, { hint: 'Use hours, as cfssl does: 8760h is one year, 87600h ten.' });
  return ms;
}

/** Why one message for the spec and for ca-config.json / CSR JSON: the same bounds everywhere. */
export function expiryProblem(ms: number): string | undefined {
  if (ms < MIN_EXPIRY_MS) return 'is too short for a certificate: use at least 1h';
  if (ms > MAX_EXPIRY_MS) return 'is too long: at most 876000h (100 years), or the certificate dates become unreadable';
  return undefined;
}

/** Days, rounded down, for messages ("expires in 12 days"). */
export function wholeDays(ms: number): number {
  return Math.floor(ms / 86_400_000);
}
