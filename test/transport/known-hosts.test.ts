import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint, forgetCommand, hostKeyFromWire, hostPattern, KnownHosts, parseKnownHosts, patternsMatch, verdictFor } from '../../src/transport/known-hosts.ts';

const run = promisify(execFile);

const keyA = { type: 'ssh-ed25519', data: 'AAAAC3NzaC1lZDI1NTE5AAAAIMiqBlKxcKG6XIfyWWjqWIgD9dsLu7j4GzSlklA9xJfz' };
const keyB = { type: 'ssh-ed25519', data: 'AAAAC3NzaC1lZDI1NTE5AAAAINKGY7ZADrQXF2NRZc5U7kqCeyM6URXNMfH8rGbl6Nz/' };

describe('known_hosts format', () => {
  it('names hosts the way OpenSSH looks them up', () => {
    expect(hostPattern('10.0.0.5', 22)).toBe('10.0.0.5');
    expect(hostPattern('10.0.0.5', 2222)).toBe('[10.0.0.5]:2222');
  });

  it('matches plain, globbed, negated and hashed patterns', () => {
    expect(patternsMatch('a.example,10.0.0.5', '10.0.0.5')).toBe(true);
    expect(patternsMatch('*.example', 'node.example')).toBe(true);
    expect(patternsMatch('*.example,!bad.example', 'bad.example')).toBe(false);
    expect(patternsMatch('[10.0.0.5]:2222', '10.0.0.5')).toBe(false);
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[10.0.0.5]:2222').digest('base64')}`;
    expect(patternsMatch(hashed, '[10.0.0.5]:2222')).toBe(true);
    expect(patternsMatch(hashed, '10.0.0.5')).toBe(false);
  });

  it('decides match, unknown, mismatch and revoked', () => {
    const entries = parseKnownHosts(
      ['# comment', '', `10.0.0.5 ${keyA.type} ${keyA.data}`, `@revoked * ${keyB.type} ${keyB.data}`, `@cert-authority * ${keyB.type} ${keyB.data}`].join('\n'),
    );
    expect(verdictFor(entries, '10.0.0.5', keyA)).toEqual({ status: 'match' });
    expect(verdictFor(entries, '10.0.0.6', keyA)).toEqual({ status: 'unknown' });
    expect(verdictFor(entries, '10.0.0.5', keyB)).toEqual({ status: 'revoked' });
    const withoutRevoked = parseKnownHosts(`10.0.0.5 ${keyA.type} ${keyA.data}\n`);
    expect(verdictFor(withoutRevoked, '10.0.0.5', keyB)).toEqual({ status: 'mismatch', known: [keyA] });
  });

  it('computes the fingerprint ssh-keygen prints', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hardway-kh-'));
    try {
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
      const [type, data] = (await readFile(join(dir, 'k.pub'), 'utf8')).split(' ') as [string, string];
      const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'k.pub')]);
      expect(stdout.split(' ')[1]).toBe(fingerprint({ type, data }));
      expect(hostKeyFromWire(Buffer.from(data, 'base64'))).toEqual({ type, data });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('KnownHosts file', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-kh-'));
    path = join(dir, 'known_hosts');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('pins on first contact, once, even when many connections race', async () => {
    const knownHosts = new KnownHosts(path);
    const verdicts = await Promise.all([
      knownHosts.verifyOrPin('10.0.0.5', 22, keyA),
      knownHosts.verifyOrPin('10.0.0.5', 22, keyA),
      knownHosts.verifyOrPin('10.0.0.6', 2222, keyB),
    ]);
    expect(verdicts.map((verdict) => verdict.status).sort()).toEqual(['match', 'pinned', 'pinned']);
    expect(await readFile(path, 'utf8')).toBe(`10.0.0.5 ${keyA.type} ${keyA.data}\n[10.0.0.6]:2222 ${keyB.type} ${keyB.data}\n`);
    expect(await knownHosts.verifyOrPin('10.0.0.5', 22, keyB)).toEqual({ status: 'mismatch', known: [keyA] });
  });

  it('forgets a host the way ssh-keygen -R does, and the printed command works', async () => {
    const knownHosts = new KnownHosts(path);
    await knownHosts.verifyOrPin('127.0.0.1', 2222, keyA);
    await knownHosts.verifyOrPin('127.0.0.2', 2222, keyB);
    expect(await knownHosts.forget('127.0.0.1', 2222)).toBe(1);
    expect(await readFile(path, 'utf8')).toBe(`[127.0.0.2]:2222 ${keyB.type} ${keyB.data}\n`);

    await knownHosts.verifyOrPin('127.0.0.1', 2222, keyA);
    const command = forgetCommand(path, '127.0.0.2', 2222);
    expect(command).toBe(`ssh-keygen -R '[127.0.0.2]:2222' -f ${path}`);
    await run('sh', ['-c', command]);
    expect(await knownHosts.keysFor('127.0.0.2', 2222)).toEqual([]);
    expect(await knownHosts.keysFor('127.0.0.1', 2222)).toEqual([keyA]);
  });

  it('keeps lines it does not understand', async () => {
    await writeFile(path, `# mine\n@cert-authority *.corp ${keyB.type} ${keyB.data}\n`);
    await new KnownHosts(path).verifyOrPin('10.0.0.5', 22, keyA);
    expect(await readFile(path, 'utf8')).toBe(`# mine\n@cert-authority *.corp ${keyB.type} ${keyB.data}\n10.0.0.5 ${keyA.type} ${keyA.data}\n`);
  });
});
