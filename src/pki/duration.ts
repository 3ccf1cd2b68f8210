// Go-style durations as cfssl writes them in ca-config.json and CSR JSON ("8760h", "90m", "1h30m").
import { SpecError, type ErrorWhere } from '../errors.ts';

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
const PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const WHOLE = /^(\d+(\.\d+)?(ms|h|m|s))+$/;

/** Why: cfssl expiries are strings; certificates need milliseconds. Throws SpecError naming where. */
export function parseDuration(text: string, where: ErrorWhere = {}): number {
  if (!WHOLE.test(text)) {
    throw new SpecError(`"${text}" is not a duration like "8760h" or "30m"`, where, { hint: 'Use hours, as cfssl does: 8760h is one year.' });
  }
  let total = 0;
  for (const match of text.matchAll(PART)) total += Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1);
  return total;
}

/** Days, rounded down, for messages ("expires in 12 days"). */
export function wholeDays(ms: number): number {
  return Math.floor(ms / 86_400_000);
}
