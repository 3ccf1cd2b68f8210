import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PrerequisiteError } from '../../../src/errors.ts';
import { countRootInotify, inotifyNeeded, inotifyShortfall, readProcessFds, type ProcessFds } from '../../../src/providers/lab/inotify.ts';

// A machine with one lab node up: its systemd, journald and logind, root's sshd, a user's editor.
const PROCESSES: ProcessFds[] = [
  { pid: 1, euid: 0, fdTargets: ['/dev/null', 'anon_inode:inotify', 'anon_inode:inotify', 'socket:[1234]'] },
  { pid: 310, euid: 0, fdTargets: ['anon_inode:inotify', 'anon_inode:[eventpoll]'] },
  { pid: 311, euid: 0, fdTargets: ['anon_inode:inotify'] },
  { pid: 900, euid: 1000, fdTargets: ['anon_inode:inotify', 'anon_inode:inotify'] },
  { pid: 901, euid: 0, fdTargets: ['/var/log/x', 'anon_inode:[signalfd]'] },
];

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = '';
});

describe('inotify instances before booting nodes', () => {
  it('counts root\'s inotify fds only', () => {
    expect(countRootInotify(PROCESSES)).toBe(4);
    expect(countRootInotify([])).toBe(0);
  });

  it('costs about 10 per node and 14 per worker', () => {
    expect(inotifyNeeded({ plain: 6, workers: 0 })).toBe(60);
    expect(inotifyNeeded({ plain: 6, workers: 2 })).toBe(88);
  });

  it('lets nodes boot when they fit, exactly up to the limit', () => {
    expect(inotifyShortfall({ limit: 128, inUse: 30, plain: 6, workers: 2 })).toBeUndefined();
    expect(inotifyShortfall({ limit: 128, inUse: 40, plain: 6, workers: 2 })).toBeUndefined();
    expect(inotifyShortfall({ limit: 128, inUse: 200, plain: 0, workers: 0 })).toBeUndefined();
  });

  it('refuses with exit 3, naming the sysctl, the numbers and the command to raise it', () => {
    const error = inotifyShortfall({ limit: 128, inUse: 100, plain: 2, workers: 1 });
    expect(error).toBeInstanceOf(PrerequisiteError);
    expect(error!.exitCode).toBe(3);
    expect(error!.message).toBe(
      'fs.inotify.max_user_instances is 128 and root already uses 100 inotify instances; booting 2 nodes and 1 worker needs about 34 more (10 per node, 14 per worker), so a node would fail to boot',
    );
    expect(error!.hint).toContain('`sysctl fs.inotify.max_user_instances=512`');
    // A limit already past 512 is raised to the next power of two that fits.
    expect(inotifyShortfall({ limit: 512, inUse: 600, plain: 0, workers: 3 })!.hint).toContain('max_user_instances=1024`');
  });

  it('reads uids and fd targets from a /proc, skipping processes that are gone', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-proc-'));
    const proc = async (pid: number, uids: string, fds: string[]) => {
      await mkdir(join(dir, String(pid), 'fd'), { recursive: true });
      await writeFile(join(dir, String(pid), 'status'), `Name:\tx\nUid:\t${uids}\nGid:\t0\t0\t0\t0\n`);
      for (const [index, target] of fds.entries()) await symlink(target, join(dir, String(pid), 'fd', String(index)));
    };
    await proc(1, '0\t0\t0\t0', ['anon_inode:inotify', '/dev/null']);
    // Real uid 1000 made root by setuid: counted as root's, like the kernel charges it.
    await proc(42, '1000\t0\t0\t0', ['anon_inode:inotify']);
    await proc(77, '0\t1000\t1000\t1000', ['anon_inode:inotify']);
    await mkdir(join(dir, '99'));
    await mkdir(join(dir, 'self'));
    const found = await readProcessFds(dir);
    expect(found.map(({ pid, euid }) => [pid, euid]).sort()).toEqual([[1, 0], [42, 0], [77, 1000]]);
    expect(countRootInotify(found)).toBe(2);
  });
});
