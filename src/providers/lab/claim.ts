// One lab cluster name per machine: the runtime dir records which cluster directory owns it, so
// two checkouts using the same name never boot, replace or destroy each other's nodes.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SpecError } from '../../errors.ts';
import { clusterRuntimeDir, machineName } from './names.ts';
import type { LabSite } from './node.ts';
import { nspawnPidsByMachine } from './processes.ts';

function ownerFile(site: LabSite): string {
  return join(clusterRuntimeDir(site.root, site.cluster), 'owner');
}

/** Node names that have a runtime directory (leftovers included). */
export async function nodeDirs(site: LabSite): Promise<string[]> {
  const entries = await readdir(clusterRuntimeDir(site.root, site.cluster), { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}

/** Why: refuse to touch a running lab that another cluster directory created under the same name. */
export async function checkClusterOwner(site: LabSite, clusterDir: string): Promise<void> {
  const owner = await readOwner(site);
  if (!owner || owner === clusterDir) return;
  const pidsByMachine = await nspawnPidsByMachine();
  const running = (await nodeDirs(site)).filter((name) => pidsByMachine.has(machineName(site.cluster, name)));
  if (running.length) {
    throw new SpecError(`a lab cluster named ${site.cluster} from ${owner} is running on this machine (nodes ${running.join(', ')})`, { field: 'name' }, {
      hint: `Give this cluster another name, or destroy that one first (hardway destroy -c ${join(owner, 'cluster.yaml')}).`,
    });
  }
  site.log(`the lab cluster ${site.cluster} left by ${owner} is stopped; this cluster directory takes it over`);
}

/** Record this cluster directory as the owner of the cluster's runtime dir. */
export async function recordClusterOwner(site: LabSite, clusterDir: string): Promise<void> {
  if ((await readOwner(site)) === clusterDir) return;
  await mkdir(clusterRuntimeDir(site.root, site.cluster), { recursive: true, mode: 0o700 });
  await writeFile(ownerFile(site), `${clusterDir}\n`);
}

async function readOwner(site: LabSite): Promise<string> {
  return (await readFile(ownerFile(site), 'utf8').catch(() => '')).trim();
}
