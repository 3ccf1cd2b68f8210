// `image: { archive, name }` (remote): side-loads a docker-save archive from the artifacts directory
// into containerd's k8s.io namespace on a worker, so pods run without a registry (air-gapped
// clusters, the lab). The imported image carries a label with the archive's sha256: the same
// archive is never imported twice, a new one replaces the image.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { parseSha256Sums, sha256File } from '../artifacts/checksum.ts';
import { artifactsLocation } from '../artifacts/resolve.ts';
import { TaskError } from '../errors.ts';
import { shellQuote } from '../transport/shell.ts';
import { type TaskContext, defineModule } from './module.ts';
import { onWorkstation, upload } from './described.ts';
import { readFact } from './remote-support.ts';

/** The label that ties an imported image to the archive it came from. */
export const ARCHIVE_LABEL = 'hardway.archive-sha256';
const REMOTE_DIR = '/var/lib/hardway/images';
const CTR = 'ctr -n k8s.io';

const args = z.strictObject({
  /** A docker-save archive in the artifacts directory, listed in its SHA256SUMS. */
  archive: z.string().regex(/^[a-z0-9][-a-z0-9._]*\.tar$/, { message: 'must be an archive file name like pause.tar' }),
  /** The image reference inside the archive, e.g. k8s.gcr.io/pause:3.2. */
  name: z.string().regex(/^[a-z0-9][-a-z0-9._/]*:[A-Za-z0-9][-A-Za-z0-9._]*$/, { message: 'must be an image reference like registry/name:tag' }),
});
type Args = z.output<typeof args>;

interface Archive {
  path: string;
  sha256: string;
}

/** Why: an image reaches nodes only verified against the artifacts directory's SHA256SUMS. */
async function localArchive(ctx: Pick<TaskContext, 'run'>, archive: string): Promise<Archive> {
  const location = artifactsLocation(ctx.run);
  if (location.kind !== 'directory') {
    throw new TaskError(`the image ${archive} comes from an artifacts directory, and this run has none`, {}, { hint: 'Build the images with scripts/build-images.sh DIR (or scripts/fill-artifacts.sh DIR) and pass --artifacts-dir DIR, or set artifacts.dir in the spec.' });
  }
  const path = join(location.dir, archive);
  const sumsPath = join(location.dir, 'SHA256SUMS');
  const sums = parseSha256Sums(await readFile(sumsPath, 'utf8').catch(() => '')).sums;
  const expected = sums.get(archive);
  if (!expected) throw new TaskError(`${sumsPath} has no line for ${archive}`, { file: sumsPath }, { hint: 'Build the images with scripts/build-images.sh DIR, which lists them there.' });
  const actual = await (ctx.run.hashes ? ctx.run.hashes.sha256(path) : sha256File(path)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new TaskError(`the artifacts directory ${location.dir} has no ${archive}`, { file: path }, { hint: 'Build the images with scripts/build-images.sh DIR.' });
    throw error;
  });
  if (actual !== expected) throw new TaskError(`sha256 mismatch for ${path}: expected ${expected} (from ${sumsPath}), got ${actual}`, { file: path });
  return { path, sha256: actual };
}

/** The label value of `ctr images ls` for one image: its LABELS column holds `key=value,...`. */
export function importedArchiveSha(listing: string, name: string): string | undefined {
  for (const line of listing.split('\n')) {
    const columns = line.trim().split(/\s+/);
    if (columns[0] !== name) continue;
    const labels = columns.at(-1) ?? '';
    for (const label of labels.split(',')) {
      const [key, value] = label.split('=');
      if (key === ARCHIVE_LABEL) return value;
    }
    return '';
  }
  return undefined;
}

function listCommand(args: Args): string {
  return `${CTR} images ls name==${shellQuote(args.name)}`;
}

function importCommands(args: Args, sha256: string): string[] {
  const remote = `${REMOTE_DIR}/${args.archive}`;
  return [
    `${CTR} images import ${shellQuote(remote)}`,
    `${CTR} images label ${shellQuote(args.name)} ${ARCHIVE_LABEL}=${sha256}`,
    `rm -f ${shellQuote(remote)}`,
  ];
}

/** Why: pods need their images on the node before they start, with no registry to pull from. */
export const imageModule = defineModule({
  name: 'image',
  where: 'remote',
  summary: 'Import a docker-save archive from the artifacts directory into containerd (k8s.io namespace)',
  args,
  async reads(_ctx, taskArgs) {
    return [listCommand(taskArgs)];
  },
  async check(ctx, taskArgs) {
    const archive = await localArchive(ctx, taskArgs.archive);
    const imported = importedArchiveSha(await readFact(ctx, listCommand(taskArgs)), taskArgs.name);
    if (imported === archive.sha256) return { changed: false, reason: `${taskArgs.name} imported from this ${taskArgs.archive}` };
    return { changed: true, reason: imported === undefined ? `import ${taskArgs.name} (missing)` : `import ${taskArgs.name} again (${taskArgs.archive} changed)` };
  },
  async apply(ctx, taskArgs) {
    const archive = await localArchive(ctx, taskArgs.archive);
    const transport = await ctx.connect();
    await transport.exec(`mkdir -p ${REMOTE_DIR}`, { signal: ctx.signal });
    await transport.upload({ path: archive.path }, `${REMOTE_DIR}/${taskArgs.archive}`, { mode: '0600', signal: ctx.signal });
    for (const command of importCommands(taskArgs, archive.sha256)) await transport.exec(command, { signal: ctx.signal });
    return { changed: true, reason: `imported ${taskArgs.name}` };
  },
  describe(ctx, taskArgs) {
    const location = artifactsLocation(ctx.run);
    const source = location.kind === 'directory' ? join(location.dir, taskArgs.archive) : taskArgs.archive;
    return [
      onWorkstation(`sha256sum ${shellQuote(source)}   # must match the line in SHA256SUMS`),
      `mkdir -p ${REMOTE_DIR}`,
      upload(source, `${REMOTE_DIR}/${taskArgs.archive}`),
      ...importCommands(taskArgs, '"$(sha256sum ' + shellQuote(`${REMOTE_DIR}/${taskArgs.archive}`) + " | cut -d' ' -f1)\""),
    ];
  },
});
