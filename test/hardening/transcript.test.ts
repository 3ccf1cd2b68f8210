// A transcript of a spec full of hostile (yet valid) strings: quotes, `$(...)`, backticks, `$HOME`
// and `&` in subject names and the key path. The transcript must stay valid, shellcheck-clean
// bash in which every such string is a literal: replaying a piece of it never runs what it holds.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardway } from '../helpers/cli.ts';

const run = promisify(execFile);
const HOSTILE = `O'Brien; $(touch PWNED) \`touch PWNED\` "x" & y`;
const KEY_PATH = "keys/it's $HOME `touch PWNED` key";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hardway-hostile-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('transcripts of hostile strings', () => {
  it('quote every spec string as a literal, pass bash -n and shellcheck, and run nothing they hold', async () => {
    await mkdir(join(dir, 'evil'));
    await writeFile(
      join(dir, 'evil/cluster.yaml'),
      [
        'name: evil',
        'provider: aws',
        'nodes: { controllers: { count: 2 }, etcd: { count: 3 } }',
        'loadBalancer: { type: nlb, dnsName: "api-0.Example-Corp.example.com" }',
        `ssh: { user: "ops_user.1", keyPath: ${JSON.stringify(KEY_PATH)} }`,
        `pki: { extraSANs: ["*.example.com", "2001:db8::1"], names: { C: "US", L: ${JSON.stringify(HOSTILE)}, O: "Acme \\\\ Co $HOME", OU: "CA", ST: "New York" } }`,
        'aws: { region: us-east-1, adminCidrs: [203.0.113.0/24] }',
        '',
      ].join('\n'),
    );
    // A cluster that was never built: the dry run connects nowhere (AWS is a closed local port).
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' };
    const transcript = join(dir, 'evil.sh');
    const dry = await hardway(['provision', '--dry-run', '--transcript', transcript, '-c', 'evil/cluster.yaml'], { cwd: dir, env });
    expect(dry.code, `${dry.stdout}\n${dry.stderr}`).toBe(0);
    const script = await readFile(transcript, 'utf8');
    expect(script).toContain('O\'Brien');
    await run('bash', ['-n', transcript]);
    await run('shellcheck', [transcript]);
    // Every line that carries a hostile value, run by bash with ssh, scp and cfssl as stubs that
    // only print their argv: the values come out verbatim and nothing was executed.
    const stubs = join(dir, 'bin');
    await mkdir(stubs);
    for (const tool of ['ssh', 'scp', 'cfssl', 'cfssljson', 'kubectl', 'curl']) {
      await writeFile(join(stubs, tool), '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
    }
    const lines = script.split('\n').filter((line) => line.includes('it\'\\\'\'s') && /^\s*(ssh|scp) /.test(line)).slice(0, 3);
    expect(lines.length).toBeGreaterThan(0);
    const sandbox = join(dir, 'sandbox');
    await mkdir(sandbox);
    const { stdout } = await run('bash', ['-c', `set -eu\n${lines.join('\n')}`], { cwd: sandbox, env: { PATH: `${stubs}:/usr/bin:/bin`, HOME: '/nonexistent-home', HARDWAY_ADDR_CONTROLLER_0: 'a', HARDWAY_ADDR_CONTROLLER_1: 'b', HARDWAY_ADDR_ETCD_0: 'c', HARDWAY_ADDR_ETCD_1: 'd', HARDWAY_ADDR_ETCD_2: 'e' } });
    expect(stdout).toContain(KEY_PATH);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(sandbox)).toEqual([]);
  });
});
