// The etcd side of backup and restore, as a person does it on a member with etcdctl: `snapshot
// save` through a healthy member and `snapshot status` to check what was saved; on restore,
// `snapshot restore` into each member's data directory with a new cluster token (the restored
// cluster is a new etcd cluster with the old data, never a member of the old one).
import type { Node } from '../inventory/node.ts';
import { ETCDCTL, LOCAL_ENDPOINT, etcdctlCommand, runEtcdctl, type EtcdPeer } from '../rebuild/etcdctl.ts';
import { peerURLOf } from '../rebuild/member-list.ts';
import { shellJoin } from '../transport/shell.ts';
import type { SnapshotFacts } from './archive.ts';

/** Where a snapshot is staged on a member; private to root, removed afterwards. */
/** Where a member stages a snapshot (root only). */
export const REMOTE_DIR = '/var/lib/hardway-backup';

/** `etcdctl snapshot status -w json` as it prints it. */
export function parseSnapshotStatus(text: string): Omit<SnapshotFacts, 'member'> {
  const line = text.split('\n').find((candidate) => candidate.trim().startsWith('{'));
  const status = line ? (JSON.parse(line) as Record<string, unknown>) : {};
  const numbers = ['hash', 'revision', 'totalKey'].map((key) => status[key]);
  if (!numbers.every((value) => typeof value === 'number')) throw new Error(`etcdctl snapshot status printed no hash, revision and totalKey: ${JSON.stringify(text.slice(0, 200))}`);
  const [hash, revision, totalKey] = numbers as number[];
  return { hash: hash!, revision: revision!, totalKey: totalKey! };
}

/** The commands that take a snapshot on a member and check it, as a person types them there. */
export function snapshotCommands(file: string): string[] {
  return [
    shellJoin(['install', '-d', '-m', '0700', REMOTE_DIR]),
    etcdctlCommand([LOCAL_ENDPOINT], ['snapshot', 'save', file], 120),
    shellJoin(['env', 'ETCDCTL_API=3', ETCDCTL, 'snapshot', 'status', file, '-w', 'json']),
  ];
}

/** Why: `snapshot save` writes on the member; the file is read back over SSH and removed there. */
export async function takeSnapshot(peer: EtcdPeer, signal: AbortSignal): Promise<{ data: Buffer; facts: SnapshotFacts }> {
  const file = `${REMOTE_DIR}/snapshot-${process.pid}.db`;
  const [makeDir, , checkIt] = snapshotCommands(file);
  await peer.transport.exec(makeDir!, { signal });
  try {
    await runEtcdctl(peer, ['snapshot', 'save', file], { signal, endpoints: [LOCAL_ENDPOINT], commandTimeoutSeconds: 120 });
    const status = await peer.transport.exec(checkIt!, { signal });
    const facts = { member: peer.node.name, ...parseSnapshotStatus(status.stdout) };
    const data = await peer.transport.readFile(file);
    if (!data?.length) throw new Error(`the snapshot ${file} on ${peer.node.name} is empty or gone`);
    return { data, facts };
  } finally {
    await peer.transport.exec(shellJoin(['rm', '-f', file]), { signal, check: false }).catch(() => undefined);
  }
}

/** The commands that restore one member's data directory from the snapshot staged at `snapshot`. */
export function restoreMemberCommands(member: Node, members: readonly Node[], token: string, snapshot: string): string[] {
  const initialCluster = members.map((node) => `${node.name}=${peerURLOf(node)}`).join(',');
  const staged = '/var/lib/etcd.restored';
  return [
    'systemctl stop etcd 2>/dev/null || true',
    shellJoin(['rm', '-rf', staged]),
    shellJoin(['env', 'ETCDCTL_API=3', ETCDCTL, 'snapshot', 'restore', snapshot, `--name=${member.name}`, `--initial-cluster=${initialCluster}`, `--initial-cluster-token=${token}`, `--initial-advertise-peer-urls=${peerURLOf(member)}`, `--data-dir=${staged}`]),
    `${shellJoin(['rm', '-rf', '/var/lib/etcd'])} && ${shellJoin(['mv', staged, '/var/lib/etcd'])} && ${shellJoin(['chmod', '0700', '/var/lib/etcd'])}`,
    shellJoin(['rm', '-f', snapshot]),
  ];
}

/** Why: every member starts from the same snapshot, as one new cluster; the file goes up once per member. */
export async function restoreMember(peer: EtcdPeer, members: readonly Node[], token: string, snapshot: Buffer, signal: AbortSignal): Promise<void> {
  const staged = `${REMOTE_DIR}/restore.db`;
  await peer.transport.exec(shellJoin(['install', '-d', '-m', '0700', REMOTE_DIR]), { signal });
  await peer.transport.upload(snapshot, staged, { mode: '0600', signal });
  for (const command of restoreMemberCommands(peer.node, members, token, staged)) {
    const result = await peer.transport.exec(command, { signal, check: false, timeoutMs: 120_000 });
    if (result.code !== 0) throw new Error(`restoring etcd on ${peer.node.name}: \`${command}\` exited ${result.code}: ${result.stderr.trim().split('\n').slice(-3).join(' ')}`);
  }
}
