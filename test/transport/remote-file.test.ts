import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fileFactsCommand,
  finalizeUploadCommand,
  normalizeMode,
  parseFileFacts,
  planUpload,
  sudoWrap,
  uploadTempPath,
  type FileFacts,
} from '../../src/transport/remote-file.ts';
import { shellQuote } from '../../src/transport/shell.ts';

const run = promisify(execFile);
const sh = async (command: string) => (await run('sh', ['-c', command])).stdout;

const present = (overrides: Partial<FileFacts> = {}): FileFacts => ({ state: 'present', type: 'regular file', size: 6, mode: '0644', owner: 'root', group: 'root', sha256: 'a'.repeat(64), ...overrides });

describe('planUpload (pure)', () => {
  const wanted = { mode: '0644', owner: 'root', group: 'root' };
  it('skips when content, mode and owner match', () => {
    expect(planUpload('/etc/x', present(), { size: 6, sha256: 'a'.repeat(64) }, wanted)).toEqual({ action: 'skip', reason: 'sha256 matches, mode 0644, owner root:root' });
  });
  it('transfers when missing, sized differently, or hashed differently', () => {
    expect(planUpload('/etc/x', { state: 'missing' }, { size: 6 }, wanted).action).toBe('transfer');
    expect(planUpload('/etc/x', present({ size: 7, sha256: undefined }), { size: 6 }, wanted)).toEqual({ action: 'transfer', reason: 'upload (content differs: 7 -> 6 bytes)' });
    expect(planUpload('/etc/x', present(), { size: 6, sha256: 'b'.repeat(64) }, wanted).reason).toBe('upload (content differs: sha256)');
  });
  it('fixes only mode and owner when the content matches', () => {
    expect(planUpload('/etc/x', present({ mode: '0600', owner: 'etcd' }), { size: 6, sha256: 'a'.repeat(64) }, wanted)).toEqual({ action: 'metadata', reason: 'set mode 0600 -> 0644, owner etcd -> root' });
  });
  it('leaves the owner alone when none is asked for', () => {
    expect(planUpload('/etc/x', present({ owner: 'etcd' }), { size: 6, sha256: 'a'.repeat(64) }, { mode: '644' }).action).toBe('skip');
  });
  it('refuses a missing directory or a non-file target', () => {
    expect(() => planUpload('/etc/etcd/ca.pem', { state: 'nodir' }, { size: 1 }, wanted)).toThrow('the directory /etc/etcd does not exist');
    expect(() => planUpload('/etc', present({ type: 'directory' }), { size: 1 }, wanted)).toThrow('is a directory');
  });
  it('normalizes modes and rejects non-octal ones', () => {
    expect(normalizeMode('644')).toBe('0644');
    expect(normalizeMode('4755')).toBe('4755');
    expect(() => normalizeMode('0999')).toThrow('not an octal file mode');
  });
});

describe('remote file commands (run by the local sh)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hardway rf '"));
    await writeFile(join(dir, 'file'), 'hello\n');
    await chmod(join(dir, 'file'), 0o640);
    await mkdir(join(dir, 'sub'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reports present, missing and nodir, hashing only when the size matches', async () => {
    const hashed = parseFileFacts(await sh(fileFactsCommand(join(dir, 'file'), { hashIfSize: 6 })));
    expect(hashed).toMatchObject({ state: 'present', type: 'regular file', size: 6, mode: '0640', owner: 'root' });
    expect(hashed.sha256).toBe('5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03');
    expect(parseFileFacts(await sh(fileFactsCommand(join(dir, 'file'), { hashIfSize: 7 }))).sha256).toBeUndefined();
    expect(parseFileFacts(await sh(fileFactsCommand(join(dir, 'sub'))))).toMatchObject({ state: 'present', type: 'directory' });
    expect(parseFileFacts(await sh(fileFactsCommand(join(dir, 'nope'))))).toEqual({ state: 'missing' });
    expect(parseFileFacts(await sh(fileFactsCommand(join(dir, 'no/such/file'))))).toEqual({ state: 'nodir' });
  });

  it('stamps a file, skips its hash while the stamp is the known one, and a write of the same size and mtime changes the stamp', async () => {
    const path = join(dir, 'stamped');
    await writeFile(path, 'abcdef');
    const first = parseFileFacts(await sh(fileFactsCommand(path, { hashIfSize: 6, stamp: true })));
    expect(first.stamp).toMatch(/^\d+\|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [+-]\d{4}$/);
    expect(first.sha256).toBe('bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721');
    const known = parseFileFacts(await sh(fileFactsCommand(path, { hashIfSize: 6, hashUnlessStamp: first.stamp! })));
    expect(known).toMatchObject({ stamp: first.stamp, size: 6 });
    expect(known.sha256).toBeUndefined();
    // Same size, mtime put back: only the change time tells, and it does.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sh(`printf 'ABCDEF' > ${shellQuote(path)} && touch -r ${shellQuote(join(dir, 'file'))} ${shellQuote(path)}`);
    const changed = parseFileFacts(await sh(fileFactsCommand(path, { hashIfSize: 6, hashUnlessStamp: first.stamp! })));
    await rm(path);
    expect(changed.stamp).not.toBe(first.stamp);
    expect(changed.sha256).toBe('e9c0f8b575cbfcb42ab3b78ecc87efa3b011d9a5d10b09fa4e96f240bf6a82f5');
  });

  it('finalizes a temp file into place and removes stale temps of the same target', async () => {
    const dest = join(dir, 'target');
    const stale = uploadTempPath(dest, 'old');
    const temp = uploadTempPath(dest, 'new');
    await writeFile(stale, 'partial');
    await writeFile(temp, 'complete');
    await sh(finalizeUploadCommand(temp, dest, { mode: '0600', group: 'root' }));
    expect(await sh(`cat ${shellQuote(dest)}; stat -c %a ${shellQuote(dest)}; ls -A ${shellQuote(dir)}`)).toBe('complete600\nfile\nsub\ntarget\n');
  });

  it('wraps in sudo only for other users', () => {
    expect(sudoWrap('cat /etc/x', 'root')).toBe('cat /etc/x');
    expect(sudoWrap("echo 'a b'", 'admin')).toBe(`sudo -n -- sh -c 'echo '\\''a b'\\'''`);
    expect(sudoWrap('id', 'admin', false)).toBe('id');
  });
});
