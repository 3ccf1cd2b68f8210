// The pki module through a RunContext, task by task as playbooks/20-pki.yaml lists them.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkiModule } from '../../src/modules/pki.ts';
import { catalog } from '../../src/pki/catalog.ts';
import { labSpecInput, testRunContext, testTaskContext } from '../helpers/context.ts';
import { makeTempDir, openssl, removeDir, snapshot } from '../pki/fixture.ts';
import { runLocalPlaybook, type StepOutcome } from './local-steps.ts';
import { describedText } from '../../src/modules/described.ts';

let dir: string;
let first: StepOutcome[];

beforeAll(async () => {
  dir = await makeTempDir();
  first = await runLocalPlaybook(testRunContext({ clusterDir: dir }), '20-pki.yaml');
});
afterAll(() => removeDir(dir));

describe('pki module', () => {
  it('makes the whole catalogue through the playbook tasks, each reporting what it made and why', () => {
    expect(first.every((outcome) => outcome.changed)).toBe(true);
    expect(first[0]!.reason).toBe('ca: create: missing; etcd-ca: create: missing');
    expect(first[1]!.reason).toContain('write pki/ca-config.json');
    expect(first[1]!.reason).toContain('etcd-server-etcd-2: issue: missing');
    expect(first[5]!.reason).toBe('service-account: create: missing');
    expect(first[4]!.lines).toContain('admin: issued: missing');
  });

  it('leaves files openssl accepts: every leaf verifies against its CA', async () => {
    const files = await readdir(join(dir, 'pki'));
    const leaves = files.filter((file) => file.endsWith('.pem') && !file.endsWith('-key.pem') && !file.includes('ca') && !file.startsWith('service-account'));
    expect(leaves).toHaveLength(13);
    for (const leaf of leaves) {
      const ca = leaf.startsWith('etcd-') || leaf.startsWith('apiserver-etcd') ? 'etcd-ca.pem' : 'ca.pem';
      expect(openssl(['verify', '-CAfile', join(dir, 'pki', ca), join(dir, 'pki', leaf)]), leaf).toContain(': OK');
    }
  });

  it('reports 0 changed on a second run and writes nothing', async () => {
    const before = await snapshot(dir);
    const second = await runLocalPlaybook(testRunContext({ clusterDir: dir }), '20-pki.yaml');
    expect(second.filter((outcome) => outcome.changed)).toEqual([]);
    expect(second[4]!.reason).toBe('using existing admin, kube-controller-manager, kube-scheduler');
    const after = await snapshot(dir);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [file, bytes] of before) expect(after.get(file)!.equals(bytes), file).toBe(true);
  });

  it('check reads only: a fresh directory stays empty after check', async () => {
    const empty = await makeTempDir();
    try {
      const run = testRunContext({ clusterDir: empty });
      const result = await pkiModule.check(testTaskContext(run, undefined), { certs: ['admin'] });
      expect(result).toMatchObject({ changed: true, reason: 'write pki/ca-config.json; admin: issue: its CA ca is not created yet' });
      expect(await readdir(empty)).toEqual([]);
    } finally {
      await removeDir(empty);
    }
  });

  it('refuses to issue a leaf whose CA does not exist when applying', async () => {
    const empty = await makeTempDir();
    try {
      const ctx = testTaskContext(testRunContext({ clusterDir: empty }), undefined);
      const check = await pkiModule.check(ctx, { certs: ['admin'] });
      if (!check.changed) throw new Error('expected a change');
      await expect(pkiModule.apply(ctx, { certs: ['admin'] }, check)).rejects.toThrow(/cannot issue admin: its CA pki\/ca.pem does not exist yet/);
    } finally {
      await removeDir(empty);
    }
  });

  it('describes the cfssl commands a person would type, never a key', () => {
    const ctx = testTaskContext(testRunContext({ clusterDir: dir }), undefined);
    const lines = describedText(pkiModule.describe(ctx, { certs: ['ca', 'admin', 'service-account'] }), undefined).flatMap((line) => line.split('\n'));
    expect(lines).toContain('cfssl gencert -initca pki/ca-csr.json | cfssljson -bare pki/ca');
    expect(lines).toContain('cfssl gencert -ca=pki/ca.pem -ca-key=pki/ca-key.pem -config=pki/ca-config.json -profile=client pki/admin-csr.json | cfssljson -bare pki/admin');
    expect(lines).toContain('openssl genrsa -out pki/service-account-key.pem 2048');
    expect(lines).toContain("[ -f pki/ca-config.json ] || cat > pki/ca-config.json <<'EOF'");
    expect(JSON.parse(lines[lines.indexOf("cat > pki/admin-csr.json <<'EOF'") + 1]!)).toMatchObject({ CN: 'admin', names: [{ O: 'system:masters' }] });
    expect(lines.join('\n')).not.toContain('PRIVATE KEY');
  });

  it('validates its arguments', () => {
    expect(pkiModule.args.safeParse({ certs: ['admin'] }).success).toBe(true);
    expect(pkiModule.args.safeParse({}).success).toBe(true);
    expect(pkiModule.args.safeParse({ certs: [] }).success).toBe(false);
    expect(pkiModule.args.safeParse({ cert: 'admin' }).success).toBe(false);
  });

  it('writes CSR JSON a person can read', async () => {
    const csr = JSON.parse(await readFile(join(dir, 'pki/etcd-peer-etcd-1-csr.json'), 'utf8'));
    expect(csr).toEqual({ CN: 'etcd-1', hosts: ['etcd-1', '10.240.0.21', '127.0.0.1', 'localhost'], key: { algo: 'rsa', size: 2048 }, names: [{ C: 'US', ST: 'Oregon', L: 'Portland', O: 'Kubernetes', OU: 'CA' }] });
  });

  it('with workers, the playbook issues every certificate of the catalogue: each kubelet pair and kube-proxy too', async () => {
    const withWorkers = await makeTempDir();
    try {
      const run = testRunContext({ clusterDir: withWorkers, spec: { ...labSpecInput, nodes: { ...labSpecInput.nodes, workers: { count: 2 } } } });
      const outcomes = await runLocalPlaybook(run, '20-pki.yaml');
      expect(outcomes.map((outcome) => outcome.task)).toContain("Issue each worker's kubelet client (system:node:NAME) and serving certificates");
      const files = new Set(await readdir(join(withWorkers, 'pki')));
      const entries = catalog(run.spec, run.inventory);
      expect(entries.map((entry) => entry.name)).toEqual(expect.arrayContaining(['kubelet-client-worker-1', 'kubelet-server-worker-0', 'kube-proxy']));
      for (const entry of entries) expect(files.has(`${entry.name}.pem`), entry.name).toBe(true);
      const subject = openssl(['x509', '-noout', '-subject', '-in', join(withWorkers, 'pki/kubelet-client-worker-1.pem')]);
      expect(subject).toMatch(/O = system:nodes, OU = .*CN = system:node:worker-1$/m);
      expect(openssl(['x509', '-noout', '-ext', 'subjectAltName', '-in', join(withWorkers, 'pki/kubelet-server-worker-0.pem')])).toMatch(/DNS:worker-0, IP Address:10\.240\.0\.40/);
    } finally {
      await removeDir(withWorkers);
    }
  });
});
