// sha256 of files and the two checksum formats upstream publishes: `sha256sum` output
// (`<hex>  <name>`, etcd's SHA256SUMS, our artifacts dirs) and a bare hex digest (dl.k8s.io's .sha256).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

const HEX = /^[0-9a-f]{64}$/;

/** Why: every artifact is compared by content; streaming (1 MiB reads) keeps 100 MB binaries out of memory. The one file hasher. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The sha256 (hex) of bytes or of a string's UTF-8. */
export function sha256Buffer(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `sha256sum` lines (`<hex>  name` or `<hex> *name`) as name -> hex; malformed lines are reported. */
export function parseSha256Sums(text: string): { sums: Map<string, string>; bad: number[] } {
  const sums = new Map<string, string>();
  const bad: number[] = [];
  text.split('\n').forEach((line, index) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const match = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(trimmed);
    if (!match?.[1] || !match[2]) {
      bad.push(index + 1);
      return;
    }
    sums.set(match[2].replace(/^\.\//, ''), match[1].toLowerCase());
  });
  return { sums, bad };
}

/** A `.sha256` file as dl.k8s.io publishes it: the digest alone (or `sha256sum` format). */
export function parseSingleDigest(text: string): string | undefined {
  const first = text.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  return HEX.test(first) ? first : undefined;
}
