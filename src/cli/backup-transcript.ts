// What `hardway backup` and `hardway restore` did, as the lines a person types: for --transcript
// and `hardway explain backup|restore`, from the same commands the operations run.
import { SNAPSHOT_PATH } from '../backup/archive.ts';
import { REMOTE_DIR, restoreMemberCommands, snapshotCommands } from '../backup/snapshot.ts';
import type { TranscriptEntry } from '../modules/module.ts';
import type { Node } from '../inventory/node.ts';
import { comment, upload } from '../modules/described.ts';
import { shellJoin, shellQuote } from '../transport/shell.ts';
import { sshLine, type TranscriptInput } from './transcript.ts';

/** Why: the transcript shows a backup as a person takes it: snapshot on a member, copy, pack. */
export function backupEntries(input: Pick<TranscriptInput, 'spec'>, peer: Node, out: string): TranscriptEntry[] {
  const file = `${REMOTE_DIR}/snapshot.db`;
  const archive = shellQuote(out);
  return [
    // Two pseudo-steps: within one, workstation lines would come before the node's (nodes run in parallel).
    { step: 'etcd-snapshot', task: `Take an etcd snapshot on ${peer.name} and check it (hash, revision, keys)`, node: peer.name, commands: snapshotCommands(file) },
    {
      step: 'backup',
      task: 'Copy the snapshot to the workstation, then remove it from the member',
      node: undefined,
      commands: ['mkdir -p etcd', `${sshLine(input, peer, shellJoin(['cat', file]))} > ${SNAPSHOT_PATH}`, sshLine(input, peer, shellJoin(['rm', '-f', file]))],
    },
    {
      step: 'backup',
      task: 'Pack it with the PKI, the encryption config, the spec and the state: one archive, mode 0600, with its checksum',
      node: undefined,
      commands: [
        comment('hardway backup also writes manifest.json (cluster, members, the snapshot status), which hardway restore reads'),
        `(umask 077 && tar -czf ${archive} ${SNAPSHOT_PATH} pki encryption-config.yaml cluster.yaml -C .hardway state.json)`,
        `sha256sum ${archive} > ${shellQuote(`${out}.sha256`)}`,
      ],
    },
  ];
}

/** The restore's first transcript entry: the PKI and encryption key put back from the archive. */
export function restorePkiEntry(archive: string): TranscriptEntry {
  return {
    step: 'restore-pki',
    task: 'Put back the PKI and the encryption key of the backed-up cluster (its Secrets decrypt, its kubeconfigs work)',
    node: undefined,
    commands: [`mkdir -p restore && tar -xzf ${shellQuote(archive)} -C restore`, 'cp -R restore/pki . && cp restore/encryption-config.yaml .'],
  };
}

/** Why: the transcript shows each member's restore as the commands a person runs on it. */
export function restoreMemberEntries(members: readonly Node[], token: string): TranscriptEntry[] {
  const staged = `${REMOTE_DIR}/restore.db`;
  return members.map((member) => ({
    step: 'etcd-restore',
    task: `Restore ${member.name}'s data directory from the snapshot (a new cluster token, the same members)`,
    node: member.name,
    commands: [shellJoin(['install', '-d', '-m', '0700', REMOTE_DIR]), upload(`restore/${SNAPSHOT_PATH}`, staged), ...restoreMemberCommands(member, members, token, staged)],
  }));
}
