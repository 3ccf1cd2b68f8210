// The runtime API command against a real haproxy on 127.0.0.1 with an admin socket in a temporary
// directory: show stat is parsed by column name, disable puts the server in MAINT, enable brings
// it back UP once its health check passes.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haproxyAdminCommand, parseShowStat, serverStat } from '../../src/rebuild/haproxy-admin.ts';
import { freePort, start, waitFor, type Started } from '../standins/fixtures.ts';

function sh(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

describe('parseShowStat', () => {
  it('finds columns by name in the header', () => {
    const csv = '# pxname,svname,qcur,qmax,scur,smax,slim,stot,status\nkube-apiserver,FRONTEND,,,0,1,4096,5,OPEN\nkube-apiserver,controller-0,0,0,3,4,,9,MAINT\n';
    expect(parseShowStat(csv)).toEqual([
      { proxy: 'kube-apiserver', server: 'FRONTEND', status: 'OPEN', sessions: 0 },
      { proxy: 'kube-apiserver', server: 'controller-0', status: 'MAINT', sessions: 3 },
    ]);
    expect(parseShowStat('No such backend.\n')).toEqual([]);
  });
});

const haproxy = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((path) => existsSync(path));

describe.skipIf(!haproxy)('the haproxy runtime API command (real haproxy)', () => {
  let dir = '';
  let socket = '';
  let proxy: Started | undefined;
  const backends: Server[] = [];
  const admin = (command: string) => sh(haproxyAdminCommand(command, socket));
  const status = async (server: string) => serverStat(parseShowStat((await admin('show stat')).stdout), server)?.status;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-haproxy-'));
    socket = join(dir, 'admin.sock');
    const ports = [];
    for (let index = 0; index < 2; index++) {
      const server = createServer((connection) => connection.end());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      backends.push(server);
      ports.push((server.address() as { port: number }).port);
    }
    const config = [
      'global',
      `  stats socket ${socket} mode 600 level admin`,
      'defaults',
      '  mode tcp',
      '  timeout connect 1s',
      '  timeout client 5s',
      '  timeout server 5s',
      'frontend kube-apiserver',
      `  bind 127.0.0.1:${await freePort()}`,
      '  default_backend kube-apiserver',
      'backend kube-apiserver',
      ...ports.map((port, index) => `  server controller-${index} 127.0.0.1:${port} check inter 200ms fall 2 rise 2`),
      '',
    ].join('\n');
    await writeFile(join(dir, 'haproxy.cfg'), config);
    proxy = start(haproxy!, ['-f', join(dir, 'haproxy.cfg'), '-db']);
    await waitFor('haproxy to report controller-0 UP', 10_000, async () => (await status('controller-0')) === 'UP');
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    for (const server of backends) server.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('disables and enables a server of the kube-apiserver backend', async () => {
    expect(await admin('disable server kube-apiserver/controller-0')).toMatchObject({ code: 0 });
    expect(await status('controller-0')).toBe('MAINT');
    expect(await status('controller-1')).toBe('UP');
    expect(await admin('enable server kube-apiserver/controller-0')).toMatchObject({ code: 0 });
    await waitFor('controller-0 to be UP again', 10_000, async () => (await status('controller-0')) === 'UP');
  });

  it('answers an unknown server with haproxy\'s own message', async () => {
    const result = await admin('disable server kube-apiserver/controller-9');
    expect(result.stdout).toMatch(/No such server/);
  });

  it('says which sockets it tried when none answers', async () => {
    const result = await sh(haproxyAdminCommand('show stat', join(dir, 'missing.sock')));
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`no haproxy admin socket answers: ${join(dir, 'missing.sock')}`);
  });
});
