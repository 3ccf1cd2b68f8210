// Waits are made by the node through its SSH connection; here the "node" is a local sshd, so the
// probed ports are on 127.0.0.1. TLS material is made with the real openssl CLI.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskError } from '../../src/errors.ts';
import { waitArgs, waitModule } from '../../src/modules/wait.ts';
import { testRunContext } from '../helpers/context.ts';
import { freePort } from '../helpers/sshd.ts';
import { converge, remoteNode, type RemoteNode } from './remote-node.ts';

const run = promisify(execFile);

async function issue(dir: string, name: string, extensions: string): Promise<void> {
  const key = join(dir, `${name}-key.pem`);
  await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', join(dir, `${name}.csr`), '-subj', `/CN=${name}`]);
  await writeFile(join(dir, `${name}.ext`), extensions);
  await run('openssl', ['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca-key.pem'), '-CAcreateserial', '-days', '1', '-out', join(dir, `${name}.pem`), '-extfile', join(dir, `${name}.ext`)]);
}

describe('wait (real sshd, real TLS)', () => {
  let remote: RemoteNode;
  let server: Server;
  let port: number;
  beforeAll(async () => {
    remote = await remoteNode();
    const pki = join(remote.clusterDir, 'pki');
    await mkdir(pki);
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(pki, 'ca-key.pem'), '-out', join(pki, 'ca.pem'), '-days', '1', '-subj', '/CN=test-ca']);
    await issue(pki, 'server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    await issue(pki, 'admin', 'extendedKeyUsage=clientAuth\n');
    const read = (name: string) => import('node:fs/promises').then((fs) => fs.readFile(join(pki, name)));
    server = createServer({ key: await read('server-key.pem'), cert: await read('server.pem'), ca: await read('ca.pem'), requestCert: true, rejectUnauthorized: true }, (request, response) => {
      if (request.url === '/healthz') response.end('ok');
      else {
        response.statusCode = 503;
        response.end('etcd not ready');
      }
    });
    port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await remote.stop();
  });

  it('is a probe: check says what it waits for, apply reports ok', async () => {
    const outcome = await converge(waitModule, remote.context(), { tcp: `127.0.0.1:${remote.sshd.port}` });
    expect(outcome.check).toEqual({ changed: true, probe: true, reason: `wait for TCP 127.0.0.1:${remote.sshd.port}` });
    expect(outcome.applied).toMatchObject({ changed: false, reason: expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:${remote.sshd.port} ready after `)) });
  });

  it('times out naming the port it waited for and the last failure', async () => {
    const closed = await freePort();
    const error = await converge(waitModule, remote.context(), { tcp: `127.0.0.1:${closed}`, timeout: '1s' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).message).toMatch(new RegExp(`^timed out after 1 s waiting for TCP 127\\.0\\.0\\.1:${closed} \\(last: 127\\.0\\.0\\.1:${closed}: .+\\)$`));
    expect((error as TaskError).where.node).toBe('controller-0');
  });

  it('waits for an HTTPS URL with the CA and a client certificate from the cluster directory', async () => {
    const outcome = await converge(waitModule, remote.context(), { url: `https://127.0.0.1:${port}/healthz`, ca: 'pki/ca.pem', cert: 'pki/admin.pem', key: 'pki/admin-key.pem' });
    expect(outcome.applied).toMatchObject({ changed: false, reason: expect.stringContaining('ready after') });
  });

  it('reports a wrong status and a refused client certificate in the timeout error', async () => {
    const status = await converge(waitModule, remote.context(), { url: `https://127.0.0.1:${port}/readyz`, ca: 'pki/ca.pem', cert: 'pki/admin.pem', key: 'pki/admin-key.pem', timeout: '1s' }).catch((caught: unknown) => caught);
    expect((status as Error).message).toBe(`timed out after 1 s waiting for https://127.0.0.1:${port}/readyz to answer 200 (last: HTTP 503: etcd not ready)`);
    const noClientCert = await converge(waitModule, remote.context(), { url: `https://127.0.0.1:${port}/healthz`, ca: 'pki/ca.pem', timeout: '1s' }).catch((caught: unknown) => caught);
    expect((noClientCert as Error).message).toBe(`timed out after 1 s waiting for https://127.0.0.1:${port}/healthz to answer 200 (last: TLS: tlsv13 alert certificate required)`);
    const wrongCA = await converge(waitModule, remote.context(), { url: `https://127.0.0.1:${port}/healthz`, ca: 'pki/admin.pem', cert: 'pki/admin.pem', key: 'pki/admin-key.pem', timeout: '1s' }).catch((caught: unknown) => caught);
    expect((wrongCA as Error).message).toBe(`timed out after 1 s waiting for https://127.0.0.1:${port}/healthz to answer 200 (last: self-signed certificate in certificate chain)`);
  });

  it('with passes: N, ends only after N passes in a row, 1 s apart; a failure starts the count again, by hand too', async () => {
    const counter = join(remote.root, 'attempts');
    // Passes, except the third attempt: the count starts again, so six attempts in all.
    const command = `n=$(( $(cat ${counter} 2>/dev/null || echo 0) + 1 )); echo "$n" > ${counter}; [ "$n" -ne 3 ]`;
    const ctx = remote.context();
    const started = performance.now();
    const outcome = await converge(waitModule, ctx, { command, passes: 3, timeout: '30s' });
    expect(outcome.applied).toMatchObject({ changed: false, reason: expect.stringMatching(/^command ready after .* \(3 passes in a row\)$/) });
    expect((await readFile(counter, 'utf8')).trim()).toBe('6');
    expect(performance.now() - started).toBeGreaterThan(3_500);
    expect(ctx.lines).toContainEqual(expect.stringContaining('failed again after 2 passes in a row'));
    // The transcript's loop counts the same way.
    await writeFile(counter, '0\n');
    const [loop] = waitModule.describe({ run: remote.run, node: remote.node, vars: {} }, waitArgs.parse({ command, passes: 3, timeout: '30s' }));
    expect(loop).toContain('passes=0; while :;');
    await run('bash', ['-c', loop as string]);
    expect((await readFile(counter, 'utf8')).trim()).toBe('6');
  });

  it('waits for a command to succeed', async () => {
    const flag = join(remote.root, 'ready');
    setTimeout(() => void writeFile(flag, ''), 700);
    const outcome = await converge(waitModule, remote.context(), { command: `test -e ${flag}`, timeout: '20s' });
    expect(outcome.applied).toMatchObject({ changed: false, reason: expect.stringMatching(/^command ready after /) });
    await expect(converge(waitModule, remote.context(), { command: 'echo not yet >&2; false', timeout: '1s' })).rejects.toThrow(
      'timed out after 1 s waiting for `echo not yet >&2; false` to succeed (last: exit 1: not yet)',
    );
  });

  it('describes each form as a shell loop', () => {
    const ctx = { run: testRunContext(), node: undefined, vars: {} };
    expect(waitModule.describe(ctx, waitArgs.parse({ tcp: '127.0.0.1:2379' }))).toEqual([`timeout 90 sh -c 'until bash -c '\\''</dev/tcp/127.0.0.1/2379'\\''; do sleep 1; done'`]);
    // The CA is a workstation file: by hand, it goes to the node for curl and is removed after.
    expect(waitModule.describe(ctx, waitArgs.parse({ url: 'https://127.0.0.1:6443/healthz', ca: 'pki/ca.pem', timeout: '2m' }))).toEqual([
      { upload: { source: 'pki/ca.pem', dest: '/tmp/hardway-wait-ca.pem' } },
      `timeout 120 sh -c 'until curl -fsS -o /dev/null --cacert /tmp/hardway-wait-ca.pem https://127.0.0.1:6443/healthz; do sleep 1; done'`,
      'rm -f /tmp/hardway-wait-ca.pem',
    ]);
  });
});
