// `hardway rebuild` against a real lab cluster (3 etcd, 2 controllers, haproxy), run as a user runs
// the CLI: 10,000 keys survive an etcd member rebuild and are read back from the new member; a
// rebuild that would lose quorum is refused; a controller is rebuilt while /healthz through the
// load balancer is polled every 100 ms without one failure; a machine killed outright is rebuilt;
// a rebuild interrupted by SIGTERM is finished by running it again. Needs root on Linux.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/engine/state.ts';
import { deriveInventory } from '../../src/inventory/derive.ts';
import { createLabProvider } from '../../src/providers/lab/index.ts';
import { parseMemberList, type EtcdMember } from '../../src/rebuild/member-list.ts';
import { loadSpecFile } from '../../src/spec/load.ts';
import { hardway, hardwayBin, type CliResult } from '../helpers/cli.ts';
import { artifactsDir, freeSubnet, labLeftovers, requireRoot } from './lab-helpers.ts';

const KEYS = 10_000;
const PREFIX = '/rebuild-test/';

/** Writes KEYS keys through etcd's JSON gateway, 100 puts per transaction (etcd allows 128). */
const WRITER = `
import base64, http.client, json, ssl
ctx = ssl.create_default_context(cafile="/etc/etcd/ca.pem")
ctx.load_cert_chain("/etc/etcd/server.pem", "/etc/etcd/server-key.pem")
conn = http.client.HTTPSConnection("127.0.0.1", 2379, context=ctx)
b64 = lambda text: base64.b64encode(text.encode()).decode()
for start in range(0, ${KEYS}, 100):
    ops = [{"requestPut": {"key": b64("${PREFIX}%05d" % i), "value": b64("value-%d" % i)}} for i in range(start, start + 100)]
    conn.request("POST", "/v3/kv/txn", json.dumps({"success": ops}), {"Content-Type": "application/json"})
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, body
print("wrote ${KEYS}")
`;

describe('hardway rebuild (lab, root)', () => {
  const cluster = `rb${randomBytes(3).toString('hex')}`;
  let dir = '';
  let artifacts = '';
  let prefix = '';
  let built = false;
  const ip = (offset: number) => `${prefix}.${offset}`;
  const etcdIPs = () => [20, 21, 22].map(ip);

  const cli = (args: string[], timeoutMs = 240_000): Promise<CliResult> => hardway(args, { cwd: dir, timeoutMs });
  const rebuild = (node: string) => cli(['rebuild', node, '--yes', '--artifacts-dir', artifacts]);

  /** An etcdctl command line run on a node with that node's certificate. */
  const etcdctlLine = (args: string, endpoints = etcdIPs().map((address) => `https://${address}:2379`)) =>
    `env ETCDCTL_API=3 /usr/local/bin/etcdctl --endpoints=${endpoints.join(',')} --cacert=/etc/etcd/ca.pem --cert=/etc/etcd/server.pem --key=/etc/etcd/server-key.pem ${args}`;

  /** etcdctl on a node, as a person runs it through `hardway ssh`. */
  const etcdctl = (node: string, args: string): Promise<CliResult> => cli(['ssh', node, '--', etcdctlLine(args)]);

  async function members(through = 'etcd-0'): Promise<EtcdMember[]> {
    const result = await etcdctl(through, 'member list -w simple');
    expect(result.code, result.stderr).toBe(0);
    return parseMemberList(result.stdout);
  }

  async function memberId(name: string): Promise<string | undefined> {
    return (await members(name === 'etcd-0' ? 'etcd-1' : 'etcd-0')).find((member) => member.name === name)?.id;
  }

  /** The keys a member holds itself (serializable reads of its own endpoint, on its node): count and digest. */
  async function keysOn(member: string): Promise<{ count: number; digest: string }> {
    const own = [`https://${ip(20 + Number(member.split('-')[1]))}:2379`];
    const get = (flags: string) => etcdctlLine(`get ${PREFIX} --prefix --consistency=s ${flags}`, own);
    const result = await cli(['ssh', member, '--', `${get('')} | sha256sum && ${get('--keys-only')} | grep -c .`]);
    expect(result.code, result.stderr).toBe(0);
    const [digest = '', count = ''] = result.stdout.trim().split('\n');
    return { count: Number(count), digest: digest.split(' ')[0]! };
  }

  async function expectHealthyCluster(): Promise<EtcdMember[]> {
    const health = await etcdctl('etcd-0', 'endpoint health');
    expect(health.code, `${health.stdout}${health.stderr}`).toBe(0);
    expect(health.stdout.match(/is healthy/g)).toHaveLength(3);
    const list = await members();
    expect(list.map((member) => [member.name, member.status, member.learner]).sort()).toEqual([
      ['etcd-0', 'started', false],
      ['etcd-1', 'started', false],
      ['etcd-2', 'started', false],
    ]);
    return list;
  }

  let written = { count: 0, digest: '' };

  beforeAll(async () => {
    requireRoot();
    artifacts = await artifactsDir();
    prefix = await freeSubnet('10.243');
    dir = await mkdtemp(join(tmpdir(), 'hardway-rebuild-'));
    const example = await readFile(new URL('../../examples/lab/cluster.yaml', import.meta.url), 'utf8');
    await writeFile(join(dir, 'cluster.yaml'), example.replace(/^name: lab$/m, `name: ${cluster}`).replaceAll('10.240.0.', `${prefix}.`));
    const up = await cli(['up', '--artifacts-dir', artifacts], 600_000);
    built = true;
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);

    const script = Buffer.from(WRITER).toString('base64');
    const write = await cli(['ssh', 'etcd-0', '--', `echo ${script} | base64 -d | python3`]);
    expect(write.stdout + write.stderr).toContain(`wrote ${KEYS}`);
    written = await keysOn('etcd-0');
    expect(written.count).toBe(KEYS);
  }, 900_000);

  afterAll(async () => {
    if (built) {
      const destroyed = await cli(['destroy', '--yes', '--purge'], 300_000);
      expect(destroyed.code, destroyed.stderr).toBe(0);
      expect(await labLeftovers(cluster)).toEqual([]);
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 300_000);

  it('rebuilds etcd-1 with a new member ID and every key still there, read from the new member', async () => {
    const oldId = await memberId('etcd-1');
    expect(oldId).toMatch(/^[0-9a-f]+$/);

    const result = await rebuild('etcd-1');
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain(`removed member ${oldId} (etcd-1) via`);
    expect(result.stdout).toMatch(/added member [0-9a-f]+ for etcd-1 at https:\/\/[\d.]+:2380 as a learner/);

    const list = await expectHealthyCluster();
    const newId = list.find((member) => member.name === 'etcd-1')!.id;
    expect(newId).not.toBe(oldId);
    expect(result.stdout).toContain(`etcd member ${newId} replaces ${oldId}`);
    expect(await keysOn('etcd-1')).toEqual(written);

    // The rebuilt member stays converged: its unit keeps --initial-cluster-state=existing.
    const again = await cli(['up', '--artifacts-dir', artifacts]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/ 0 changed, 0 failed/);
    const unit = await cli(['ssh', 'etcd-1', '--', 'cat /etc/systemd/system/etcd.service']);
    expect(unit.stdout.match(/^\s+--initial-cluster-state=\S+/gm)?.map((flag) => flag.trim())).toEqual(['--initial-cluster-state=existing']);
  });

  it('refuses to rebuild etcd-0 while etcd-2 is stopped, naming it, and changes nothing', async () => {
    const before = await memberId('etcd-0');
    expect((await cli(['ssh', 'etcd-2', '--', 'systemctl stop etcd'])).code).toBe(0);
    try {
      const result = await rebuild('etcd-0');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('refusing to rebuild etcd-0');
      expect(result.stderr).toContain('another member is already unhealthy: etcd-2');
      expect(result.stderr).toContain('removing etcd-0 (a healthy member) would lose quorum: 1 of the 2 remaining voting members are healthy, quorum needs 2');
      expect(await memberId('etcd-0')).toBe(before);
    } finally {
      expect((await cli(['ssh', 'etcd-2', '--', 'systemctl start etcd'])).code).toBe(0);
    }
    await expectHealthyCluster();
  });

  it('rebuilds controller-0 while /healthz through the load balancer never fails', async () => {
    const ca = await readFile(join(dir, 'pki/ca.pem'));
    const url = `https://${ip(30)}:6443/healthz`;
    const failures: string[] = [];
    let polls = 0;
    let polling = true;
    const poll = () =>
      new Promise<void>((resolve) => {
        const req = request(url, { ca, agent: false, timeout: 5000 }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.on('end', () => {
            if (res.statusCode !== 200) failures.push(`HTTP ${res.statusCode}: ${body}`);
            resolve();
          });
        });
        req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
        req.on('error', (error) => {
          failures.push(error.message);
          resolve();
        });
        req.end();
      });
    const poller = (async () => {
      while (polling) {
        await poll();
        polls++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    const result = await rebuild('controller-0');
    polling = false;
    await poller;
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('disabled kube-apiserver/controller-0 on lb-0 (drained)');
    expect(result.stdout).toContain('enabled kube-apiserver/controller-0 on lb-0 (UP)');
    expect(polls).toBeGreaterThan(10);
    expect(failures).toEqual([]);
  });

  it('rebuilds etcd-2 after its machine was killed outright', async () => {
    const { spec } = await loadSpecFile(join(dir, 'cluster.yaml'), 'cluster.yaml');
    const state = await StateStore.open(dir, spec.name);
    const ctx = { spec, clusterDir: dir, state, inventory: deriveInventory(spec, state.data.providerFacts), log: () => undefined, signal: new AbortController().signal };
    expect(await createLabProvider().stopNode(ctx, 'etcd-2', { hard: true })).toBe(true);

    const result = await rebuild('etcd-2');
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('etcd-2 UNHEALTHY [rebuilt]');
    expect(result.stdout).toMatch(/removed member [0-9a-f]+ \(etcd-2\) via etcd-[01]/);
    await expectHealthyCluster();
    expect(await keysOn('etcd-2')).toEqual(written);
  });

  it('finishes a rebuild interrupted by SIGTERM after the member was removed', async () => {
    const child = spawn(process.execPath, [hardwayBin, 'rebuild', 'etcd-0', '--yes', '--artifacts-dir', artifacts], { cwd: dir, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('removed member') && child.exitCode === null && !child.killed) child.kill('SIGTERM');
    });
    const code = await exited;
    // Interrupted by SIGTERM: 128 + 15, as a shell reports it.
    expect(code, `${stdout}\n${stderr}`).toBe(143);
    expect(stderr).toMatch(/the rebuild of etcd-0 was interrupted in phase (replace|prepare)/);
    expect(stderr).toContain('Run `hardway rebuild etcd-0` again to finish it');
    const state = JSON.parse(await readFile(join(dir, '.hardway/state.json'), 'utf8')) as { operations: { rebuild?: { node: string; done: string[] } } };
    expect(state.operations.rebuild).toMatchObject({ node: 'etcd-0', done: expect.arrayContaining(['remove-member']) });
    expect((await members('etcd-1')).map((member) => member.name).sort()).toEqual(['etcd-1', 'etcd-2']);

    const resumed = await rebuild('etcd-0');
    expect(resumed.code, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
    expect(resumed.stdout).toContain('continuing an interrupted rebuild (done: remove-member');
    expect(resumed.stdout).toContain('(continued an interrupted rebuild)');
    await expectHealthyCluster();
    expect(await keysOn('etcd-0')).toEqual(written);
    const after = JSON.parse(await readFile(join(dir, '.hardway/state.json'), 'utf8')) as { operations: { rebuild?: unknown; etcdJoined?: Record<string, string> } };
    expect(after.operations.rebuild).toBeUndefined();
    expect(after.operations.etcdJoined).toEqual({ 'etcd-0': 'existing', 'etcd-1': 'existing', 'etcd-2': 'existing' });
  });
});
