// The stand-ins read kubeconfigs and configs with their own small YAML reader (minbase python3
// has no yaml module). Documents written by the `yaml` package, as hardway writes them, must read
// back to the same data; malformed ones must fail, not half-parse.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { python, standinDir } from './fixtures.ts';


const READER = `
import importlib.util, json, sys
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location("standin", ${JSON.stringify(join(standinDir, 'kube-standin.py'))})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
try:
    print(json.dumps(module.parse_yaml(sys.stdin.read())))
except module.YamlError as exc:
    print(json.dumps({"error": str(exc)}))
`;

async function readBack(text: string): Promise<unknown> {
  const child = execFile(python, ['-c', READER]);
  child.stdin?.end(text);
  const output = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`python exited ${code}`))));
  });
  return JSON.parse(output);
}

describe('the stand-ins\' YAML reader', () => {
  const documents: Record<string, unknown> = {
    kubeconfig: {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lab', cluster: { 'certificate-authority-data': 'LS0t'.repeat(400), server: 'https://127.0.0.1:6443' } }],
      users: [{ name: 'system:kube-scheduler', user: { 'client-certificate-data': 'QUJD'.repeat(300), 'client-key-data': 'REVG'.repeat(300) } }],
      contexts: [{ name: 'default', context: { cluster: 'lab', user: 'system:kube-scheduler' } }],
      'current-context': 'default',
      preferences: {},
    },
    encryption: {
      kind: 'EncryptionConfiguration',
      apiVersion: 'apiserver.config.k8s.io/v1',
      resources: [{ resources: ['secrets', 'configmaps'], providers: [{ aescbc: { keys: [{ name: 'key1', secret: 'c2VjcmV0+/=' }] } }, { identity: {} }] }],
    },
    scalars: {
      yes: true,
      no: false,
      count: 3,
      negative: -7,
      nothing: null,
      quotedTrue: 'true',
      quotedNumber: '0755',
      colon: 'a: b',
      hash: 'a #not a comment',
      quotes: 'it\'s "quoted"',
      long: 'word '.repeat(40).trim(),
      multiline: 'line one\nline two\n',
      empty: '',
      emptyList: [],
      nested: [[1, 2], { a: [{ b: 'c' }] }],
    },
  };

  for (const [name, value] of Object.entries(documents)) {
    it(`reads a ${name} written by the yaml package back to the same data`, async () => {
      expect(await readBack(stringify(value))).toEqual(value);
    });
  }

  it('reads kubectl-style YAML (sequences not indented under their key, comments, document marker)', async () => {
    const text = '---\n# a comment\nclusters:\n- cluster:\n    server: "https://10.0.0.1:6443"  # trailing\n  name: c\ncurrent-context: \'x\'\n';
    expect(await readBack(text)).toEqual({ clusters: [{ cluster: { server: 'https://10.0.0.1:6443' }, name: 'c' }], 'current-context': 'x' });
  });

  it('reads JSON, which is YAML too', async () => {
    expect(await readBack(JSON.stringify(documents.encryption))).toEqual(documents.encryption);
  });

  it('fails on malformed documents instead of guessing', async () => {
    expect(await readBack('a: 1\n  b: 2\n')).toHaveProperty('error');
    expect(await readBack('a: 1\na: 2\n')).toMatchObject({ error: expect.stringContaining('already defined') });
    expect(await readBack('a: "unterminated\n')).toMatchObject({ error: expect.stringContaining('unterminated') });
    expect(await readBack('a:\n\t- b\n')).toHaveProperty('error');
  });
});
