// A backup archive: one .tar.gz (mode 0600) holding the etcd snapshot and everything a cluster
// directory needs to bring the cluster back (the PKI with its keys, the encryption config, the spec
// and the state), a MANIFEST.json naming each file with its sha256, and a FILE.sha256 next to it
// that `sha256sum -c` checks. Reading one verifies every file against the manifest.
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { create, extract } from 'tar';
import { UsageError } from '../errors.ts';
import { sha256Buffer } from '../artifacts/checksum.ts';

export const BACKUP_FORMAT = 'hardway-backup/1';
export const SNAPSHOT_PATH = 'etcd/snapshot.db';

export interface SnapshotFacts {
  /** The member the snapshot was taken through. */
  member: string;
  revision: number;
  totalKey: number;
  hash: number;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  cluster: string;
  createdAt: string;
  etcd: SnapshotFacts;
  /** The etcd members of the cluster the snapshot came from: a restore needs the same names. */
  etcdMembers: string[];
  files: { path: string; sha256: string; bytes: number }[];
}

/** Every file below `dir`, as archive paths (forward slashes). */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

/**
 * Why: a backup must be complete and unreadable to others from the first byte: it is staged in a
 * private directory, packed next to its destination under a temporary name with mode 0600 and
 * renamed into place, so a failed run leaves no partial archive.
 */
export async function writeBackup(out: string, input: { manifest: Omit<BackupManifest, 'files'>; files: Map<string, Buffer> }): Promise<{ sha256: string; bytes: number }> {
  const staging = await mkdtemp(join(tmpdir(), 'hardway-backup-'));
  const partial = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  try {
    const files: BackupManifest['files'] = [];
    for (const [path, data] of [...input.files].sort(([a], [b]) => a.localeCompare(b))) {
      await mkdir(dirname(join(staging, path)), { recursive: true, mode: 0o700 });
      await writeFile(join(staging, path), data, { mode: 0o600 });
      files.push({ path, sha256: sha256Buffer(data), bytes: data.length });
    }
    const manifest: BackupManifest = { ...input.manifest, files };
    await writeFile(join(staging, 'MANIFEST.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    await writeFile(partial, '', { mode: 0o600 });
    await create({ gzip: true, file: partial, cwd: staging, portable: true, noMtime: false }, ['MANIFEST.json', ...files.map((file) => file.path)]);
    await chmod(partial, 0o600);
    const archive = await readFile(partial);
    const digest = sha256Buffer(archive);
    await rename(partial, out);
    await writeFile(`${out}.sha256`, `${digest}  ${basename(out)}\n`, { mode: 0o600 });
    return { sha256: digest, bytes: archive.length };
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(partial, { force: true });
  }
}

/** A backup read back and verified: its manifest and its files. */
export interface OpenedBackup {
  manifest: BackupManifest;
  files: Map<string, Buffer>;
}

/** Why: a restore must never start from a damaged or foreign archive; every byte is checked first. */
export async function readBackup(file: string): Promise<OpenedBackup> {
  const archive = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read the backup ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  const side = await readFile(`${file}.sha256`, 'utf8').catch(() => undefined);
  if (side !== undefined && side.split(/\s+/)[0] !== sha256Buffer(archive)) throw new UsageError(`${file} does not match its checksum in ${file}.sha256: the archive is damaged`);
  const into = await mkdtemp(join(tmpdir(), 'hardway-restore-'));
  try {
    const archivePath = join(into, 'archive.tar.gz');
    await writeFile(archivePath, archive, { mode: 0o600 });
    await mkdir(join(into, 'files'), { mode: 0o700 });
    // node-tar refuses absolute paths and `..` (preservePaths is off), so nothing lands outside.
    await extract({ file: archivePath, cwd: join(into, 'files'), strict: true }).catch((error: Error) => {
      throw new UsageError(`${file} is not a hardway backup (${error.message})`);
    });
    const manifestText = await readFile(join(into, 'files', 'MANIFEST.json'), 'utf8').catch(() => undefined);
    if (manifestText === undefined) throw new UsageError(`${file} is not a hardway backup: it has no MANIFEST.json`);
    const manifest = JSON.parse(manifestText) as BackupManifest;
    if (manifest.format !== BACKUP_FORMAT) throw new UsageError(`${file} is a backup of format ${JSON.stringify(manifest.format)}; this hardway reads ${BACKUP_FORMAT}`);
    const files = new Map<string, Buffer>();
    for (const entry of manifest.files) {
      const data = await readFile(join(into, 'files', entry.path)).catch(() => undefined);
      if (!data) throw new UsageError(`${file} lacks ${entry.path}, which its manifest lists`);
      if (sha256Buffer(data) !== entry.sha256) throw new UsageError(`${entry.path} in ${file} does not match the sha256 its manifest gives: the archive is damaged`);
      files.set(entry.path, data);
    }
    const extra = (await filesBelow(join(into, 'files'))).filter((path) => path !== 'MANIFEST.json' && !files.has(path));
    if (extra.length) throw new UsageError(`${file} holds files its manifest does not list: ${extra.join(', ')}`);
    if (!files.has(SNAPSHOT_PATH)) throw new UsageError(`${file} has no etcd snapshot (${SNAPSHOT_PATH})`);
    return { manifest, files };
  } finally {
    await rm(into, { recursive: true, force: true });
  }
}

/** The cluster directory's files a backup keeps, as archive paths: pki/, the encryption config, the spec, the state. */
export async function clusterFiles(clusterDir: string, specFile: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const pki = join(clusterDir, 'pki');
  if ((await stat(pki).catch(() => undefined))?.isDirectory()) for (const path of await filesBelow(pki)) files.set(`pki/${path}`, await readFile(join(pki, path)));
  for (const [path, source] of [
    ['encryption-config.yaml', join(clusterDir, 'encryption-config.yaml')],
    ['cluster.yaml', specFile],
    ['state.json', join(clusterDir, '.hardway', 'state.json')],
  ] as const) {
    const data = await readFile(source).catch(() => undefined);
    if (data) files.set(path, data);
  }
  return files;
}
