import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hardway } from '../helpers/cli.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-cli-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const examples = new URL('../../examples/', import.meta.url).pathname;

describe('hardway CLI', () => {
  it('prints its version and help with examples, exit 0', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await hardway(['--version'])).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const help = await hardway(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Commands:[\s\S]*init[\s\S]*validate[\s\S]*plan[\s\S]*provision/);
    for (const command of ['init', 'validate', 'plan', 'provision', 'up']) {
      const result = await hardway([command, '--help']);
      expect(result.code, command).toBe(0);
      expect(result.stdout, command).toMatch(/Examples?:\n  (sudo )?hardway /);
    }
  });

  it('exits 2 on an unknown option or command', async () => {
    expect((await hardway(['provision', '--bogus'])).code).toBe(2);
    expect((await hardway(['frobnicate'])).code).toBe(2);
    expect((await hardway(['--concurrency', '0', 'validate'])).code).toBe(2);
  });

  it('init writes a commented, valid cluster.yaml per provider and a .gitignore for keys', async () => {
    for (const provider of ['lab', 'aws', 'static']) {
      const target = join(dir, provider);
      const result = await hardway(['init', target, '--provider', provider]);
      expect(result.code, result.stderr).toBe(0);
      const text = await readFile(join(target, 'cluster.yaml'), 'utf8');
      expect(text).toMatch(new RegExp(`^name: ${provider}$`, 'm'));
      expect(text).toMatch(/^# /m);
      expect(await readFile(join(target, '.gitignore'), 'utf8')).toMatch(/pki\/\*-key\.pem/);
      expect((await stat(target)).mode & 0o777).toBe(0o700);
      const validation = await hardway(['validate', '-c', join(target, 'cluster.yaml')]);
      expect(validation.code, validation.stderr).toBe(0);
    }
    const again = await hardway(['init', join(dir, 'lab')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/cluster.yaml exists; pass --force/);
  });

  it('validate: an invalid spec exits 2 with file:line field and no stack trace', async () => {
    const text = (await readFile(join(examples, 'lab/cluster.yaml'), 'utf8')).replace(/count: 3 .*/, 'count: 2 # even');
    await writeFile(join(dir, 'cluster.yaml'), text);
    const result = await hardway(['validate'], { cwd: dir });
    expect(result.code).toBe(2);
    const line = text.split('\n').findIndex((row) => row.includes('count: 2 # even')) + 1;
    expect(result.stderr).toBe(`error: ./cluster.yaml:${line} nodes.etcd.count: must be an odd number >= 1\n`);
    const verbose = await hardway(['validate', '--verbose'], { cwd: dir });
    expect(verbose.stderr).toMatch(/at .*\.ts:\d+/);
  });

  it('validate --json prints the inventory', async () => {
    const result = await hardway(['validate', '--json', '-c', join(examples, 'lab/cluster.yaml')]);
    expect(result.code).toBe(0);
    const data = JSON.parse(result.stdout) as { valid: boolean; inventory: { nodes: { name: string }[] } };
    expect(data.valid).toBe(true);
    expect(data.inventory.nodes.map((node) => node.name)).toEqual(['controller-0', 'controller-1', 'etcd-0', 'etcd-1', 'etcd-2', 'lb-0']);
  });

  it('a missing spec exits 2 and says how to make one', async () => {
    const result = await hardway(['validate', '-c', join(dir, 'nope.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/nope.yaml: no such file\nCreate one with `hardway init --provider lab`/);
  });
});
