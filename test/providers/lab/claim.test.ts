import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkClusterOwner, nodeDirs, recordClusterOwner } from '../../../src/providers/lab/claim.ts';
import type { LabSite } from '../../../src/providers/lab/node.ts';

let root = '';
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function site(lines: string[]): Promise<LabSite> {
  root = await mkdtemp(join(tmpdir(), 'hardway-labroot-'));
  return { root, cluster: `claim-${process.pid}`, bridge: 'hw000000-br', prefixLength: 24, serviceCIDR: '10.32.0.0/24', log: (line) => lines.push(line) };
}

describe('lab cluster ownership', () => {
  it('records the owning cluster directory once and accepts it again silently', async () => {
    const lines: string[] = [];
    const lab = await site(lines);
    await checkClusterOwner(lab, '/home/a/lab');
    await recordClusterOwner(lab, '/home/a/lab');
    expect((await readFile(join(root, lab.cluster, 'owner'), 'utf8')).trim()).toBe('/home/a/lab');
    await checkClusterOwner(lab, '/home/a/lab');
    expect(lines).toEqual([]);
  });

  it('lets another directory take over a cluster whose nodes are all stopped, saying so', async () => {
    const lines: string[] = [];
    const lab = await site(lines);
    await recordClusterOwner(lab, '/home/a/lab');
    await mkdir(join(root, lab.cluster, 'etcd-0'));
    expect(await nodeDirs(lab)).toEqual(['etcd-0']);
    await checkClusterOwner(lab, '/home/b/lab');
    expect(lines).toEqual([`the lab cluster ${lab.cluster} left by /home/a/lab is stopped; this cluster directory takes it over`]);
    await recordClusterOwner(lab, '/home/b/lab');
    expect((await readFile(join(root, lab.cluster, 'owner'), 'utf8')).trim()).toBe('/home/b/lab');
  });
});
