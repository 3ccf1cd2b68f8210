// Mount bookkeeping for overlays and image builds, read from /proc/self/mountinfo so leftovers
// of a crashed run are found even when no state says they exist.
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { runCommand } from './exec.ts';

/** Mount points listed in a mountinfo text (octal escapes such as \040 decoded). */
export function parseMountPoints(mountinfo: string): string[] {
  const points: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const point = fields[4];
    if (point) points.push(point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
  }
  return points;
}

/** Mount points at or below `path`, deepest first (the order to unmount them). */
export function mountsBelow(points: readonly string[], path: string): string[] {
  const root = resolve(path);
  const inside = points.filter((point) => point === root || point.startsWith(root.endsWith(sep) ? root : `${root}${sep}`));
  return [...new Set(inside)].sort((a, b) => b.length - a.length);
}

export async function currentMountPoints(): Promise<string[]> {
  return parseMountPoints(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** Why: a directory is only safe to delete once nothing is mounted inside it (an image build mounts /proc). */
export async function unmountBelow(path: string, signal?: AbortSignal): Promise<string[]> {
  const done: string[] = [];
  // A point can be stacked (mounted twice); repeat until none is left, bounded.
  for (let round = 0; round < 5; round++) {
    const points = mountsBelow(await currentMountPoints(), path);
    if (!points.length) return done;
    for (const point of points) {
      const result = await runCommand('umount', [point], { signal, allowFailure: true });
      if (result.exitCode !== 0) await runCommand('umount', ['--lazy', point], { signal, purpose: `unmount ${point}` });
      done.push(point);
    }
  }
  const left = mountsBelow(await currentMountPoints(), path);
  if (left.length) throw new Error(`still mounted after unmounting: ${left.join(', ')}`);
  return done;
}

/** Delete a directory tree without crossing into another filesystem, after unmounting what is inside. */
export async function removeTree(path: string, signal?: AbortSignal): Promise<void> {
  await unmountBelow(path, signal);
  await runCommand('rm', ['-rf', '--one-file-system', '--', path], { signal, purpose: `remove ${path}` });
}

/** The overlay that gives a node its own writable root over the shared read-only image. */
export function overlayMountArgs(image: string, upper: string, work: string, merged: string): string[] {
  return ['-t', 'overlay', 'overlay', '-o', `lowerdir=${image},upperdir=${upper},workdir=${work}`, merged];
}
