// `hardway backup [--out FILE]` and `hardway restore FILE`: an etcd snapshot with the cluster
// directory's PKI, encryption config, spec and state in one checked archive, and a cluster brought
// back from it onto fresh machines of the same spec (same PKI and encryption key, so Secrets
// decrypt; a new etcd cluster token).
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { BACKUP_FORMAT, clusterFiles, readBackup, SNAPSHOT_PATH, writeBackup } from '../backup/archive.ts';
import { restoreMember, takeSnapshot } from '../backup/snapshot.ts';
import type { TranscriptEntry } from '../modules/module.ts';
import { LOCAL } from '../engine/state.ts';
import { PrerequisiteError, TaskError, UsageError } from '../errors.ts';
import type { EtcdPeer } from '../rebuild/etcdctl.ts';
import { findHealthyPeer } from '../rebuild/peer.ts';
import { createSshPool } from '../transport/pool.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { globalOptions, openCluster, type CliIO, type GlobalOptions, type LoadedCluster } from './common.ts';
import { confirm } from './confirm.ts';
import { provisionAction } from './provision.ts';
import { BEFORE_ETCD } from './scale.ts';
import { backupEntries, restoreMemberEntries, restorePkiEntry } from './backup-transcript.ts';
import { createTranscript } from './transcript.ts';

/** Members are probed with short retries: a machine that is gone is reported in seconds. */
const PROBE_RETRY = { totalMs: 8_000, authMs: 8_000 };

export function registerBackupCommands(program: Command, io: CliIO): void {
  program
    .command('backup')
    .description('save an etcd snapshot (through a healthy member) with the PKI, encryption config, spec and state in one archive (mode 0600)')
    .option('--out <file>', 'where to write the archive (default: backups/CLUSTER-TIME.tar.gz in the cluster directory)')
    .option('--transcript <file>', 'write a bash script of what the backup did, as etcdctl, ssh and tar lines')
    .addHelpText('after', '\nThe archive holds private keys and the encryption key: keep it as you keep pki/.\n\nExamples:\n  hardway backup\n  hardway backup --out /srv/backups/prod.tar.gz && sha256sum -c /srv/backups/prod.tar.gz.sha256')
    .action(async (flags: { out?: string; transcript?: string }, command: Command) => {
      await backupAction(globalOptions(command), flags, io);
    });
  program
    .command('restore')
    .description('bring the cluster back from a backup onto fresh machines of the same spec: every etcd member from the snapshot, then every step')
    .argument('<file>', 'an archive written by hardway backup')
    .option('--yes', 'do not ask for confirmation', false)
    .option('--force', 'restore even though etcd members of this cluster still answer (their data is replaced)', false)
    .option('--artifacts-dir <dir>', 'take binaries from this directory (with SHA256SUMS) instead of downloading')
    .option('--transcript <file>', 'write a bash script of what the restore did: the etcd restore on every member and every step')
    .addHelpText('after', '\nExamples:\n  hardway destroy --yes && hardway restore backups/prod-20261202T1530Z.tar.gz --yes')
    .action(async (file: string, flags: RestoreFlags, command: Command) => {
      await restoreAction(globalOptions(command), file, flags, io);
    });
}

function etcdPeers(cluster: LoadedCluster, log: (line: string) => void) {
  const pool = createSshPool({ clusterDir: cluster.clusterDir, ssh: cluster.spec.ssh, env: process.env, retry: PROBE_RETRY, log });
  const members = cluster.inventory.nodes.etcd().filter((node) => node.sshAddress);
  return {
    pool,
    members,
    /** The first member that answers healthy; undefined when none does. */
    healthy: (signal: AbortSignal) => findHealthyPeer(members, pool, signal, log).catch((error: unknown) => {
      if (error instanceof TaskError) return undefined;
      throw error;
    }),
    reachable: async (signal: AbortSignal) => {
      const peers: EtcdPeer[] = [];
      for (const node of members) {
        const transport = await pool.get(node, signal).catch(() => undefined);
        if (transport) peers.push({ node, transport });
      }
      return peers;
    },
  };
}

const timestamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

interface RestoreFlags {
  yes: boolean;
  force: boolean;
  artifactsDir?: string;
  transcript?: string;
}

async function backupAction(options: GlobalOptions, flags: { out?: string; transcript?: string }, io: CliIO): Promise<void> {
  const cluster = await openCluster(options, io);
  if (!cluster.inventory.nodes.etcd().some((node) => cluster.state.stepRecord('etcd', node.name)?.status === 'done')) {
    throw new UsageError(`cluster ${cluster.spec.name} has no etcd to back up yet`, { hint: 'Build it first: hardway up' });
  }
  const out = resolve(flags.out ?? join(cluster.clusterDir, 'backups', `${cluster.spec.name}-${timestamp()}.tar.gz`));
  await mkdir(dirname(out), { recursive: true, mode: 0o700 });
  const abort = new AbortController();
  const { pool, members, healthy } = etcdPeers(cluster, (line) => options.verbose && io.stderr(`${line}\n`));
  try {
    const peer = await healthy(abort.signal);
    if (!peer) throw new TaskError(`no etcd member of ${cluster.spec.name} answers healthy: nothing to take a snapshot from`, {}, { hint: 'hardway status shows the members; bring one back (hardway rebuild NODE) and run it again.' });
    const { data, facts } = await takeSnapshot(peer, abort.signal);
    const files = await clusterFiles(cluster.clusterDir, cluster.specFile);
    files.set(SNAPSHOT_PATH, data);
    const written = await writeBackup(out, {
      manifest: { format: BACKUP_FORMAT, cluster: cluster.spec.name, createdAt: new Date().toISOString(), etcd: facts, etcdMembers: members.map((node) => node.name) },
      files,
    });
    if (flags.transcript) {
      const transcript = createTranscript(cluster, false);
      for (const entry of backupEntries(cluster, peer.node, out)) transcript.add(entry);
      await transcript.write(flags.transcript);
    }
    const summary = { file: out, sha256: written.sha256, bytes: written.bytes, etcd: facts, files: files.size };
    io.stdout(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `backed up ${cluster.spec.name}: etcd snapshot through ${facts.member} (revision ${facts.revision}, ${facts.totalKey} keys, hash ${facts.hash}) and ${files.size - 1} cluster files\nwrote ${out} (${written.bytes} bytes, mode 0600); check it with: sha256sum -c ${out}.sha256\n`);
  } finally {
    await pool.closeAll();
  }
}

async function restoreAction(options: GlobalOptions, file: string, flags: RestoreFlags, io: CliIO): Promise<void> {
  const backup = await readBackup(resolve(file));
  let cluster = await openCluster(options, io);
  const { manifest } = backup;
  if (manifest.cluster !== cluster.spec.name) throw new UsageError(`${file} is a backup of cluster ${manifest.cluster}, not of ${cluster.spec.name}`);
  const names = cluster.inventory.nodes.etcd().map((node) => node.name);
  if (names.join(',') !== manifest.etcdMembers.join(',')) {
    throw new UsageError(`the backup's etcd members (${manifest.etcdMembers.join(', ')}) differ from this spec's (${names.join(', ')})`, { hint: 'Restore onto the spec the backup was taken with (its cluster.yaml is in the archive), then scale.' });
  }
  const abort = new AbortController();
  const log = (line: string) => options.verbose && io.stderr(`${line}\n`);
  // A running cluster's data would be replaced: refused unless asked for.
  if (cluster.state.stepRecord('infra', LOCAL)?.status === 'done') {
    const probe = etcdPeers(cluster, log);
    try {
      const alive = await probe.healthy(abort.signal);
      if (alive && !flags.force) throw new UsageError(`etcd of cluster ${cluster.spec.name} is running (${alive.node.name} answers healthy): restoring would replace its data`, { hint: 'Destroy the cluster first (hardway destroy --yes), or pass --force to replace the running data.' });
    } finally {
      await probe.pool.closeAll();
    }
  }
  if (!flags.yes) await confirm(io, `Restore cluster ${cluster.spec.name} from ${file} (etcd revision ${manifest.etcd.revision}, ${manifest.etcd.totalKey} keys, taken ${manifest.createdAt})?`);

  // The same PKI and encryption key as the backed-up cluster: its Secrets decrypt, its kubeconfigs work.
  for (const [path, data] of backup.files) {
    if (!path.startsWith('pki/') && path !== 'encryption-config.yaml') continue;
    const target = join(cluster.clusterDir, path);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await writeFileAtomic(target, data, { mode: path.endsWith('.pem') && !path.endsWith('-key.pem') ? 0o644 : 0o600 });
  }
  io.stdout(`put back pki/ and encryption-config.yaml from ${file}\n`);
  // The restore is three runs; one transcript holds them in order, written at the end.
  const entries: TranscriptEntry[] = [];
  const sink = flags.transcript ? { add: (entry: TranscriptEntry) => void entries.push(entry) } : undefined;
  const token = `${cluster.spec.name}-etcd-restored-${randomBytes(4).toString('hex')}`;
  const run = { dryRun: false, artifactsDir: flags.artifactsDir, ...(sink ? { transcriptSink: sink } : {}) };
  sink?.add(restorePkiEntry(resolve(file)));
  await provisionAction(options, { steps: BEFORE_ETCD }, run, io, 'restore');

  cluster = await openCluster(options, io);
  const snapshot = backup.files.get(SNAPSHOT_PATH)!;
  const { pool, members, reachable } = etcdPeers(cluster, log);
  try {
    const reached = await reachable(abort.signal);
    if (reached.length !== members.length) throw new PrerequisiteError(`cannot reach every etcd member to restore it (reached ${reached.map((peer) => peer.node.name).join(', ') || 'none'})`, { hint: 'hardway status shows the machines; run the restore again once they answer.' });
    await Promise.all(reached.map((peer) => restoreMember(peer, members, token, snapshot, abort.signal)));
    io.stdout(`restored etcd on ${members.map((node) => node.name).join(', ')} from the snapshot (revision ${manifest.etcd.revision}), cluster token ${token}\n`);
    for (const entry of restoreMemberEntries(members, token)) sink?.add(entry);
  } finally {
    await pool.closeAll();
  }
  await provisionAction(options, {}, run, io, 'restore');
  if (flags.transcript) {
    const transcript = createTranscript(await openCluster(options, io), false);
    for (const entry of entries) transcript.add(entry);
    await transcript.write(flags.transcript);
  }
}
