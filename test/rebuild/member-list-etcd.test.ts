// The member list parser against the real etcdctl (Debian's etcd on this machine): a one-member
// cluster on 127.0.0.1 plus an added learner, printed as simple, table and JSON; the IDs read from
// text equal the exact IDs in the JSON (read as decimal text, never as numbers).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMemberAdded, parseMemberList } from '../../src/rebuild/member-list.ts';
import { etcdBinary, freePort, start, waitFor, type Started } from '../standins/fixtures.ts';

const etcdctl = ['/usr/bin/etcdctl', '/usr/local/bin/etcdctl'].find((path) => existsSync(path));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(etcdctl!, args, { env: { ...process.env, ETCDCTL_API: '3' } }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

describe.skipIf(!etcdctl || !existsSync(etcdBinary))('member list parsing against the real etcdctl', () => {
  let dir = '';
  let etcd: Started | undefined;
  let endpoint = '';
  let learnerId = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-members-'));
    const client = await freePort();
    const peer = await freePort();
    endpoint = `http://127.0.0.1:${client}`;
    etcd = start(etcdBinary, [
      '--name=one',
      `--data-dir=${join(dir, 'data')}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=one=http://127.0.0.1:${peer}`,
    ]);
    await waitFor('etcd to answer', 20_000, async () => (await run([`--endpoints=${endpoint}`, 'endpoint', 'health'])).code === 0);
    const added = await run([`--endpoints=${endpoint}`, 'member', 'add', 'two', '--learner', `--peer-urls=http://127.0.0.1:${await freePort()}`]);
    expect(added.code).toBe(0);
    learnerId = parseMemberAdded(added.stdout);
  }, 40_000);

  afterAll(async () => {
    await etcd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads the same members from the simple and table forms as the JSON holds', async () => {
    const json = (await run([`--endpoints=${endpoint}`, 'member', 'list', '-w', 'json'])).stdout;
    const exact = [...json.matchAll(/"ID":(\d+)/g)].map((match) => BigInt(match[1]!).toString(16)).sort();
    const simple = parseMemberList((await run([`--endpoints=${endpoint}`, 'member', 'list', '-w', 'simple'])).stdout);
    const table = parseMemberList((await run([`--endpoints=${endpoint}`, 'member', 'list', '-w', 'table'])).stdout);
    expect(simple.map((member) => member.id).sort()).toEqual(exact);
    expect(table).toEqual(simple);
    expect(simple).toContainEqual(expect.objectContaining({ id: learnerId, status: 'unstarted', name: '', learner: true, clientURLs: [] }));
    expect(simple).toContainEqual(expect.objectContaining({ status: 'started', name: 'one', learner: false, clientURLs: [endpoint] }));
  });
});
