// `hardway pki inspect` and `hardway pki renew` run in-process, on a cluster directory with a
// real catalogue, through the same program definition and error mapping as bin/hardway.js.
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/common.ts';
import { buildProgram, reportError } from '../../src/cli/main.ts';
import { registerPkiCommand } from '../../src/cli/pki.ts';
import type { ClusterSpecInput } from '../../src/spec/schema.ts';
import { copyCluster, ensure, envFor, makeTempDir, openssl, removeDir, snapshot } from '../pki/fixture.ts';

const input: ClusterSpecInput = { name: 'clitest', provider: 'lab', nodes: { controllers: { count: 2 }, etcd: { count: 3 } } };
const specYaml = 'name: clitest\nprovider: lab\nnodes:\n  controllers: { count: 2 }\n  etcd: { count: 3 }\n';

let base: string;
const dirs: string[] = [];

beforeAll(async () => {
  base = await makeTempDir();
  await writeFile(join(base, 'cluster.yaml'), specYaml);
  await ensure(envFor(base, input));
});
afterAll(async () => {
  for (const dir of [base, ...dirs]) await removeDir(dir);
});

async function copy(): Promise<string> {
  const dir = await copyCluster(base);
  dirs.push(dir);
  return dir;
}

async function hardway(dir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), isTTY: false, env: {} };
  const program = await buildProgram(io);
  if (!program.commands.some((command) => command.name() === 'pki')) registerPkiCommand(program, io);
  const pki = program.commands.find((command) => command.name() === 'pki')!;
  for (const command of [pki, ...pki.commands]) command.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  let code = 0;
  try {
    await program.parseAsync(['node', 'hardway', '-c', join(dir, 'cluster.yaml'), ...args]);
  } catch (error) {
    code = reportError(error, io, false);
  }
  return { code, stdout, stderr };
}

describe('hardway pki inspect', () => {
  it('prints a table of every certificate with CN, O, issuer, not-after, days left and SANs', async () => {
    const { code, stdout, stderr } = await hardway(base, 'pki', 'inspect');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+CN\s+O\s+ISSUER\s+NOT AFTER\s+DAYS\s+SANS$/);
    expect(lines).toHaveLength(17);
    expect(lines.find((line) => line.startsWith('admin '))).toMatch(/^admin\s+admin\s+system:masters\s+Kubernetes\s+\d{4}-\d\d-\d\d\s+36[45]$/);
    expect(lines.find((line) => line.startsWith('etcd-server-etcd-0 '))).toMatch(/etcd-0\s+Kubernetes\s+etcd-ca\s+\S+\s+36[45]\s+etcd-0,localhost,10\.240\.0\.20,127\.0\.0\.1$/);
    expect(lines.find((line) => line.startsWith('ca '))).toMatch(/\s364\d\s*$/);
    expect(lines.find((line) => line.startsWith('service-account '))).toMatch(/^service-account\s+\(key pair\)$/);
  });

  it('--json gives the same rows as data', async () => {
    const { stdout } = await hardway(base, 'pki', 'inspect', '--json');
    const report = JSON.parse(stdout);
    expect(report.rows).toHaveLength(16);
    const apiserver = report.rows.find((row: { name: string }) => row.name === 'kube-apiserver');
    expect(apiserver).toMatchObject({ kind: 'leaf', status: 'ok', cn: 'kube-apiserver', issuer: 'Kubernetes', organizations: ['Kubernetes'] });
    expect(apiserver.sans).toEqual(expect.arrayContaining(['kubernetes.default.svc.cluster.local', '10.32.0.1', '10.240.0.30']));
    expect(report.warnings).toEqual([]);
  });

  it('warns about certificates inside the renew window, and lists certificates the catalogue no longer has', async () => {
    const dir = await copy();
    await writeFile(join(dir, 'cluster.yaml'), `${specYaml}pki:\n  renewBefore: 9000h\n`);
    await cp(join(dir, 'pki/admin.pem'), join(dir, 'pki/etcd-server-etcd-9.pem'));
    const { code, stdout, stderr } = await hardway(dir, 'pki', 'inspect');
    expect(code).toBe(0);
    expect(stderr).toMatch(/^warning: admin expires on \d{4}-\d\d-\d\d, in 36\d days \(inside the 375-day renew window\): run `hardway pki renew admin`$/m);
    expect(stderr.match(/^warning:/gm)).toHaveLength(14);
    expect(stdout).toMatch(/^etcd-server-etcd-9\s+admin\s/m);
    expect(stdout).toMatch(/^admin .* 36\d !/m);
  });

  it('marks missing certificates', async () => {
    const dir = await makeTempDir();
    dirs.push(dir);
    await writeFile(join(dir, 'cluster.yaml'), specYaml);
    const { stdout, stderr } = await hardway(dir, 'pki', 'inspect');
    expect(stdout).toMatch(/^kube-apiserver\s+\(missing\)$/m);
    expect(stderr).toBe('warning: every certificate is missing: run `hardway provision --step pki`\n');
  });
});

describe('hardway pki renew', () => {
  it('reissues the named leaf from the same CA and nothing else', async () => {
    const dir = await copy();
    const before = await snapshot(dir);
    const { code, stdout } = await hardway(dir, 'pki', 'renew', 'kube-scheduler');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^renewed kube-scheduler: serial [0-9a-f]{40}, not after \d{4}-\d\d-\d\d$/m);
    const after = await snapshot(dir);
    const changed = [...after.keys()].filter((file) => !before.get(file)?.equals(after.get(file)!));
    expect(changed.sort()).toEqual(['pki/kube-scheduler-key.pem', 'pki/kube-scheduler.csr', 'pki/kube-scheduler.pem']);
    expect(openssl(['verify', '-CAfile', join(dir, 'pki/ca.pem'), join(dir, 'pki/kube-scheduler.pem')])).toContain(': OK');
  });

  it('reissues every leaf when no name is given, never the CAs or the service-account key', async () => {
    const dir = await copy();
    const before = await snapshot(dir);
    const { stdout } = await hardway(dir, 'pki', 'renew');
    expect(stdout.match(/^renewed /gm)).toHaveLength(13);
    const after = await snapshot(dir);
    for (const file of ['pki/ca.pem', 'pki/ca-key.pem', 'pki/etcd-ca.pem', 'pki/etcd-ca-key.pem', 'pki/service-account-key.pem']) expect(after.get(file)!.equals(before.get(file)!), file).toBe(true);
    expect(after.get('pki/admin.pem')!.equals(before.get('pki/admin.pem')!)).toBe(false);
  });

  it.each([
    [['ca'], 'error: ca is a CA: hardway never renews a CA'],
    [['service-account'], 'error: service-account is a key pair without expiry'],
    [['kube-apiservr'], 'error: no certificate named "kube-apiservr"; leaves are: etcd-server-etcd-0'],
  ])('refuses %j with exit 2', async (names, message) => {
    const dir = await copy();
    const before = await readFile(join(dir, 'pki/ca.pem'));
    const { code, stderr } = await hardway(dir, 'pki', 'renew', ...names);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(await readFile(join(dir, 'pki/ca.pem'))).toEqual(before);
  });

  it('exits 2 without writing anything when there is no CA yet', async () => {
    const dir = await makeTempDir();
    dirs.push(dir);
    await writeFile(join(dir, 'cluster.yaml'), specYaml);
    const { code, stderr } = await hardway(dir, 'pki', 'renew', 'admin');
    expect(code).toBe(2);
    expect(stderr).toContain('error: nothing to renew from: the CA pki/ca.pem does not exist yet');
    expect([...(await snapshot(dir)).keys()]).toEqual(['cluster.yaml']);
  });

  it('exits 2 naming the file when the CA key does not match', async () => {
    const dir = await copy();
    await cp(join(dir, 'pki/etcd-ca-key.pem'), join(dir, 'pki/ca-key.pem'));
    const { code, stderr } = await hardway(dir, 'pki', 'renew', 'admin');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: .*pki\/ca-key\.pem does not match .*pki\/ca\.pem/m);
  });
});
