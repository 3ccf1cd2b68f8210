// Member lists as etcdctl prints them: 64-bit hex IDs (some above 2^63, some short because etcd
// prints %x), an unstarted learner without a name, several peer URLs, client log lines mixed in.
import { describe, expect, it } from 'vitest';
import { findMemberOf, normalizeMemberId, parseMemberAdded, parseMemberList } from '../../src/rebuild/member-list.ts';

const simple = `2e1c3c6351bd281c, started, etcd-2, https://10.243.77.22:2380, https://10.243.77.22:2379, false
7361f08176891f, unstarted, , https://10.243.77.21:2380, , true
a385777caf91b4a6, started, etcd-0, https://10.243.77.20:2380,https://10.9.9.20:2380, https://10.243.77.20:2379, false
`;

const table = `+------------------+-----------+--------+---------------------------+---------------------------+------------+
|        ID        |  STATUS   |  NAME  |        PEER ADDRS         |       CLIENT ADDRS        | IS LEARNER |
+------------------+-----------+--------+---------------------------+---------------------------+------------+
|   7361f08176891f | unstarted |        | https://10.243.77.21:2380 |                           |       true |
| 2e1c3c6351bd281c |   started | etcd-2 | https://10.243.77.22:2380 | https://10.243.77.22:2379 |      false |
| ffffffffffffff01 |   started | etcd-0 | https://10.243.77.20:2380 | https://10.243.77.20:2379 |      false |
+------------------+-----------+--------+---------------------------+---------------------------+------------+
{"level":"warn","ts":"2026-11-22T03:20:17.107462Z","logger":"etcd-client","msg":"retrying of unary invoker failed","error":"rpc error: code = Unavailable desc = etcdserver: leader changed"}
`;

describe('parseMemberList', () => {
  it('reads the simple form, IDs as exact hex text', () => {
    expect(parseMemberList(simple)).toEqual([
      { id: '2e1c3c6351bd281c', status: 'started', name: 'etcd-2', peerURLs: ['https://10.243.77.22:2380'], clientURLs: ['https://10.243.77.22:2379'], learner: false },
      { id: '7361f08176891f', status: 'unstarted', name: '', peerURLs: ['https://10.243.77.21:2380'], clientURLs: [], learner: true },
      { id: 'a385777caf91b4a6', status: 'started', name: 'etcd-0', peerURLs: ['https://10.243.77.20:2380', 'https://10.9.9.20:2380'], clientURLs: ['https://10.243.77.20:2379'], learner: false },
    ]);
  });

  it('reads the table form by its header and skips borders and log lines', () => {
    const members = parseMemberList(table);
    expect(members.map((member) => [member.id, member.status, member.name, member.learner])).toEqual([
      ['7361f08176891f', 'unstarted', '', true],
      ['2e1c3c6351bd281c', 'started', 'etcd-2', false],
      ['ffffffffffffff01', 'started', 'etcd-0', false],
    ]);
    expect(members[2]!.clientURLs).toEqual(['https://10.243.77.20:2379']);
  });

  it('reads etcd 3.3 lines without the learner column as voters', () => {
    expect(parseMemberList('8e9e05c52164694d, started, infra1, http://localhost:2380, http://localhost:2379\n')).toEqual([
      { id: '8e9e05c52164694d', status: 'started', name: 'infra1', peerURLs: ['http://localhost:2380'], clientURLs: ['http://localhost:2379'], learner: false },
    ]);
  });

  it('ignores lines that are not members', () => {
    expect(parseMemberList('Error: context deadline exceeded\n{"level":"warn"}\n\n')).toEqual([]);
  });

  it('keeps what JSON numbers would round away', () => {
    // The reason for text parsing (etcd #9535): the JSON form's ID for a385777caf91b4a6.
    const rounded = (JSON.parse('{"ID":11782955377489982630}') as { ID: number }).ID;
    expect(BigInt(rounded).toString(16)).not.toBe('a385777caf91b4a6');
    expect(parseMemberList(simple)[2]!.id).toBe('a385777caf91b4a6');
  });
});

describe('normalizeMemberId', () => {
  it('compares IDs printed with and without leading zeros', () => {
    expect(normalizeMemberId('007361F08176891F')).toBe('7361f08176891f');
    expect(normalizeMemberId(' a385777caf91b4a6 ')).toBe('a385777caf91b4a6');
  });

  it('refuses what is not a 64-bit hex ID', () => {
    expect(() => normalizeMemberId('11782955377489982630')).toThrow(/not an etcd member ID/);
    expect(() => normalizeMemberId('xyz')).toThrow(/not an etcd member ID/);
  });
});

describe('parseMemberAdded', () => {
  it('takes the new ID from etcdctl member add (padded with spaces)', () => {
    const output = 'Member   7361f08176891f added to cluster 3f31f515088a32db\n\nETCD_NAME="etcd-1"\nETCD_INITIAL_CLUSTER_STATE="existing"\n';
    expect(parseMemberAdded(output)).toBe('7361f08176891f');
  });

  it('fails when no ID is printed', () => {
    expect(() => parseMemberAdded('Error: etcdserver: unhealthy cluster')).toThrow(/no member ID/);
  });
});

describe('findMemberOf', () => {
  it('finds a node by peer URL even before its member has a name', () => {
    const members = parseMemberList(simple);
    expect(findMemberOf(members, { name: 'etcd-1', internalIP: '10.243.77.21' })?.id).toBe('7361f08176891f');
    expect(findMemberOf(members, { name: 'etcd-0', internalIP: '10.243.77.20' })?.id).toBe('a385777caf91b4a6');
    expect(findMemberOf(members, { name: 'etcd-3', internalIP: '10.243.77.23' })).toBeUndefined();
  });
});
