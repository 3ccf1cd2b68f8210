// Parsing what `etcdctl member list` and `member add` print. Member IDs are 64-bit: JSON output
// rounds them (etcd #9535), so they are read as hex text from the simple or table output and kept
// as strings, compared after normalising (etcd prints them with %x: no fixed width).

/** One member as etcdctl lists it. */
export interface EtcdMember {
  /** Lower-case hex without leading zeros, e.g. `7361f08176891f`. */
  id: string;
  status: 'started' | 'unstarted';
  /** Empty until the member has started once. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  learner: boolean;
}

const HEX_ID = /^[0-9a-f]{1,16}$/i;

/** Why: the same member printed by different commands must compare equal (`00ab` is `ab`). */
export function normalizeMemberId(text: string): string {
  const trimmed = text.trim();
  if (!HEX_ID.test(trimmed)) throw new Error(`"${text}" is not an etcd member ID (1-16 hex digits)`);
  return BigInt(`0x${trimmed}`).toString(16);
}

function splitURLs(text: string): string[] {
  return text
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
}

function member(fields: { id: string; status: string; name: string; peers: string; clients: string; learner?: string }): EtcdMember | undefined {
  if (!HEX_ID.test(fields.id.trim())) return undefined;
  const status = fields.status.trim();
  if (status !== 'started' && status !== 'unstarted') return undefined;
  return {
    id: normalizeMemberId(fields.id),
    status,
    name: fields.name.trim(),
    peerURLs: splitURLs(fields.peers),
    clientURLs: splitURLs(fields.clients),
    learner: fields.learner?.trim() === 'true',
  };
}

/** `ID, status, name, peer URLs, client URLs[, is learner]` (URLs of one member joined by a bare comma). */
function parseSimple(lines: string[]): EtcdMember[] {
  const members: EtcdMember[] = [];
  for (const line of lines) {
    const fields = line.split(', ');
    if (fields.length !== 5 && fields.length !== 6) continue;
    const [id = '', status = '', name = '', peers = '', clients = '', learner] = fields;
    const parsed = member({ id, status, name, peers, clients, learner });
    if (parsed) members.push(parsed);
  }
  return members;
}

/** The `-w table` form: a header row names the columns; borders and log lines are skipped. */
function parseTable(lines: string[]): EtcdMember[] {
  const rows = lines.filter((line) => line.trim().startsWith('|')).map((line) => line.trim().slice(1, -1).split('|').map((cell) => cell.trim()));
  const header = rows.find((row) => row.includes('ID') && row.includes('STATUS'));
  if (!header) return [];
  const column = (name: string) => header.indexOf(name);
  const members: EtcdMember[] = [];
  for (const row of rows) {
    if (row === header) continue;
    const cell = (name: string) => (column(name) >= 0 ? (row[column(name)] ?? '') : '');
    const parsed = member({ id: cell('ID'), status: cell('STATUS'), name: cell('NAME'), peers: cell('PEER ADDRS'), clients: cell('CLIENT ADDRS'), learner: cell('IS LEARNER') });
    if (parsed) members.push(parsed);
  }
  return members;
}

/** Why: preflight and every phase decide from the member list; both output forms parse the same. */
export function parseMemberList(text: string): EtcdMember[] {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  return lines.some((line) => line.trim().startsWith('|')) ? parseTable(lines) : parseSimple(lines);
}

/** Why: `member add` prints `Member <id> added to cluster <cid>`; the new ID is needed to promote it. */
export function parseMemberAdded(text: string): string {
  const match = /Member\s+([0-9a-f]+)\s+added to cluster/i.exec(text);
  if (!match?.[1]) throw new Error(`no member ID in the output of etcdctl member add: ${text.trim().slice(0, 200)}`);
  return normalizeMemberId(match[1]);
}

/** The peer URL hardway gives a member: its internal IP on 2380. */
export function peerURLOf(node: { internalIP: string }): string {
  return `https://${node.internalIP}:2380`;
}

/** Why: an unstarted member has no name yet; its peer URL is what identifies the node. */
export function findMemberOf(members: readonly EtcdMember[], node: { name: string; internalIP: string }): EtcdMember | undefined {
  const url = peerURLOf(node);
  return members.find((candidate) => candidate.peerURLs.includes(url)) ?? members.find((candidate) => candidate.name === node.name);
}
