// Reads members out of a .tar.gz/.tgz in memory with node-tar (ustar, GNU long names, pax), so the
// etcd, containerd and CNI plugin release archives unpack the same on every workstation without a
// `tar` binary.
import { Parser, type ReadEntry } from 'tar';

/**
 * Why: only a few binaries are wanted from each release archive. Returns them keyed as `wanted`
 * names them; `./bridge` and `bridge` are the same member (the CNI archive stores `./bridge`).
 */
export async function extractTarGz(archive: Uint8Array, wanted: readonly string[]): Promise<Map<string, Buffer>> {
  const byPath = new Map(wanted.map((name) => [withoutDotSlash(name), name] as const));
  const found = new Map<string, Buffer>();
  let entries = 0;
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        entries++;
        const key = byPath.get(withoutDotSlash(entry.path));
        if (entry.type !== 'File' || key === undefined) return entry.resume();
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () => found.set(key, Buffer.concat(chunks)));
      },
    });
    parser.on('error', (error: Error) => reject(new Error(`not a tar archive: ${error.message}`)));
    parser.on('warn', (_code: string, message: string) => reject(new Error(`not a tar archive: ${message}`)));
    parser.on('end', () => resolve());
    parser.end(Buffer.from(archive));
  });
  if (entries === 0) throw new Error('not a tar archive: no entries');
  return found;
}

function withoutDotSlash(path: string): string {
  return path.replace(/^(\.\/)+/, '');
}
