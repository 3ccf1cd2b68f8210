import { describe, expect, it } from 'vitest';
import { deriveInventory } from '../../src/inventory/derive.ts';
import { parseCaConfig, renderCaConfig, resolveProfile } from '../../src/pki/ca-config.ts';
import { catalog } from '../../src/pki/catalog.ts';
import { parseCsrJson, renderCsrJson } from '../../src/pki/csr-json.ts';
import { parseDuration } from '../../src/pki/duration.ts';
import { SpecError } from '../../src/errors.ts';
import { clusterSpecSchema } from '../../src/spec/schema.ts';

const spec = clusterSpecSchema.parse({ name: 'json', provider: 'lab', nodes: { controllers: { count: 1 }, etcd: { count: 1 } }, pki: { keySize: 3072 } });
const entries = catalog(spec, deriveInventory(spec));
const entry = (name: string) => entries.find((item) => item.name === name)!;

function specErrorOf(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  throw new Error('expected a SpecError');
}

describe('CSR JSON', () => {
  it('renders the cfssl fields and reads them back unchanged', () => {
    const text = renderCsrJson(entry('admin'), spec);
    expect(JSON.parse(text)).toEqual({
      CN: 'admin',
      hosts: [],
      key: { algo: 'rsa', size: 3072 },
      names: [{ C: 'US', ST: 'Oregon', L: 'Portland', O: 'system:masters', OU: 'CA' }],
    });
    expect(parseCsrJson(text, 'pki/admin-csr.json', 2048)).toEqual({
      cn: 'admin',
      hosts: [],
      keySize: 3072,
      names: [{ C: 'US', ST: 'Oregon', L: 'Portland', O: 'system:masters', OU: 'CA' }],
    });
  });

  it('gives a CA its expiry in the "ca" object, as cfssl gencert -initca reads it', () => {
    const text = renderCsrJson(entry('ca'), spec);
    expect(JSON.parse(text).ca).toEqual({ expiry: '87600h' });
    expect(parseCsrJson(text, 'pki/ca-csr.json', 2048).caExpiryMs).toBe(87_600 * 3_600_000);
  });

  it('reads a cfssl-made CSR JSON (Kubernetes the Hard Way style, no key, extra fields)', () => {
    const kthw = JSON.stringify({
      CN: 'system:kube-scheduler',
      key: undefined,
      names: [{ C: 'US', L: 'Portland', O: 'system:kube-scheduler', OU: 'Kubernetes The Hard Way', ST: 'Oregon' }],
      comment: 'ignored by cfssl',
    });
    expect(parseCsrJson(kthw, 'pki/kube-scheduler-csr.json', 2048)).toEqual({
      cn: 'system:kube-scheduler',
      hosts: [],
      keySize: 2048,
      names: [{ C: 'US', L: 'Portland', O: 'system:kube-scheduler', OU: 'Kubernetes The Hard Way', ST: 'Oregon' }],
    });
  });

  it.each([
    ['{"CN": "admin", hosts: []}', 'pki/admin-csr.json: invalid JSON', undefined],
    ['{"hosts": []}', 'pki/admin-csr.json CN:', 'CN'],
    ['{"CN": "admin", "hosts": ["ok", 7]}', 'pki/admin-csr.json hosts[1]:', 'hosts[1]'],
    ['{"CN": "admin", "hosts": ["bad host!"]}', 'pki/admin-csr.json hosts[0]: "bad host!" is neither', 'hosts[0]'],
    ['{"CN": "admin", "key": {"algo": "ecdsa", "size": 256}}', 'pki/admin-csr.json key.algo: must be "rsa"', 'key.algo'],
    ['{"CN": "admin", "key": {"algo": "rsa", "size": 1024}}', 'pki/admin-csr.json key.size: must be at least 2048', 'key.size'],
    ['{"CN": "admin", "names": [{"O": 5}]}', 'pki/admin-csr.json names[0].O:', 'names[0].O'],
    ['{"CN": "x", "ca": {"expiry": "ten years"}}', '"ten years" is not a duration', 'ca.expiry'],
  ])('rejects %s naming the file and field', (text, message, field) => {
    const error = specErrorOf(() => parseCsrJson(text, 'pki/admin-csr.json', 2048));
    expect(error.message).toContain(message);
    expect(error.exitCode).toBe(2);
    expect(error.where.file).toBe('pki/admin-csr.json');
    expect(error.where.field).toBe(field);
  });
});

describe('ca-config.json', () => {
  it('renders server, client and peer profiles with the spec expiry, and resolves them back', () => {
    const config = parseCaConfig(renderCaConfig(spec), 'pki/ca-config.json');
    expect(resolveProfile(config, 'server', 'f')).toEqual({ usages: ['signing', 'key encipherment', 'server auth'], expiryMs: 8760 * 3_600_000 });
    expect(resolveProfile(config, 'client', 'f').usages).toEqual(['signing', 'key encipherment', 'client auth']);
    expect(resolveProfile(config, 'peer', 'f').usages).toEqual(['signing', 'key encipherment', 'server auth', 'client auth']);
  });

  it('takes a profile without expiry from signing.default, as cfssl does', () => {
    const config = parseCaConfig(JSON.stringify({ signing: { default: { expiry: '48h' }, profiles: { client: { usages: ['signing', 'client auth'] } } } }), 'f');
    expect(resolveProfile(config, 'client', 'f')).toEqual({ usages: ['signing', 'client auth'], expiryMs: 48 * 3_600_000 });
  });

  it.each([
    ['{"signing": {"profiles": {"server": {"usages": ["server auth", "flying"]}}}}', 'signing.profiles.server.usages[1]: must be a cfssl usage'],
    ['{"signing": {"default": {"expiry": "1 year"}}}', '"1 year" is not a duration'],
    ['{"signing": ', 'invalid JSON'],
  ])('rejects %s', (text, message) => {
    expect(specErrorOf(() => parseCaConfig(text, 'pki/ca-config.json')).message).toContain(message);
  });

  it('names a profile the catalogue needs but the file lacks', () => {
    const config = parseCaConfig('{"signing": {"default": {"expiry": "1h"}, "profiles": {}}}', 'pki/ca-config.json');
    expect(specErrorOf(() => resolveProfile(config, 'peer', 'pki/ca-config.json')).message).toContain('has no "peer" profile');
  });
});

describe('parseDuration', () => {
  it.each([
    ['8760h', 8760 * 3_600_000],
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['250ms', 250],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it('rejects "1y"', () => {
    expect(() => parseDuration('1y', { file: 'cluster.yaml', field: 'pki.caExpiry' })).toThrow(SpecError);
  });
});
