// Reads members out of a .tar.gz/.tgz in memory (ustar, with GNU long names and pax paths), so the
// etcd, containerd and CNI plugin release archives unpack the same on every workstation without a
// `tar` binary.
import { gunzipSync } from 'node:zlib';

const BLOCK = 512;

/**
 * Why: only a few binaries are wanted from each release archive. Returns them keyed as `wanted`
 * names them; `./bridge` and `bridge` are the same member (the CNI archive stores `./bridge`).
 */
export function extractTarGz(archive: Uint8Array, wanted: readonly string[]): Map<string, Buffer> {
  const byPath = new Map(wanted.map((name) => [withoutDotSlash(name), name] as const));
  const data = gunzipSync(archive);
  const found = new Map<string, Buffer>();
  let offset = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (offset + BLOCK <= data.length) {
    const header = data.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    if (!checksumOk(header)) throw new Error(`not a tar archive: bad header checksum at byte ${offset}`);
    const size = parseOctal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] ?? 0);
    const body = data.subarray(offset + BLOCK, offset + BLOCK + size);
    if (body.length < size) throw new Error(`truncated tar archive: ${size} bytes announced at byte ${offset}`);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;

    if (type === 'L') {
      longName = cString(body);
      continue;
    }
    if (type === 'x') {
      paxPath = paxRecord(body, 'path') ?? paxPath;
      continue;
    }
    if (type === 'g') continue;
    const prefix = cString(header.subarray(345, 500));
    const name = paxPath ?? longName ?? (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
    longName = undefined;
    paxPath = undefined;
    const key = byPath.get(withoutDotSlash(name));
    if ((type === '0' || type === '\0') && key !== undefined) found.set(key, Buffer.from(body));
  }
  return found;
}

function withoutDotSlash(path: string): string {
  return path.replace(/^(\.\/)+/, '');
}

function checksumOk(header: Uint8Array): boolean {
  const stored = parseOctal(header.subarray(148, 156));
  let sum = 0;
  for (let index = 0; index < BLOCK; index++) sum += index >= 148 && index < 156 ? 32 : (header[index] ?? 0);
  return sum === stored;
}

function parseOctal(field: Uint8Array): number {
  // GNU base-256 for sizes over 8 GiB: not needed for release binaries.
  const text = cString(field).trim();
  return text ? Number.parseInt(text, 8) : 0;
}

function cString(field: Uint8Array): string {
  const end = field.indexOf(0);
  return Buffer.from(end === -1 ? field : field.subarray(0, end)).toString('utf8');
}

function paxRecord(body: Uint8Array, key: string): string | undefined {
  // Records are "<length> <key>=<value>\n" with <length> in bytes, the record included.
  const bytes = Buffer.from(body);
  let position = 0;
  while (position < bytes.length) {
    const space = bytes.indexOf(0x20, position);
    if (space === -1) break;
    const length = Number(bytes.subarray(position, space).toString('ascii'));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = bytes.subarray(space + 1, position + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals !== -1 && record.slice(0, equals) === key) return record.slice(equals + 1);
    position += length;
  }
  return undefined;
}
