// `hardway explain backup` and `explain restore`: the day-two operations as the commands a person
// types, built from the same entries the --transcript of `hardway backup` and `restore` holds.
import { describe, expect, it } from 'vitest';
import { explainOperation } from '../../src/cli/explain.ts';
import { deriveInventory } from '../../src/inventory/derive.ts';
import { clusterSpecSchema } from '../../src/spec/schema.ts';
import { labSpecInput } from '../helpers/context.ts';

const spec = clusterSpecSchema.parse(labSpecInput);
const cluster = { spec, inventory: deriveInventory(spec) };

describe('explain backup and restore', () => {
  it('backup: the snapshot on the first member, the copy, the archive of mode 0600 with its checksum', () => {
    const text = explainOperation(cluster, 'backup');
    const at = (needle: string) => text.indexOf(needle);
    expect(at('snapshot save /var/lib/hardway-backup/snapshot.db')).toBeGreaterThan(0);
    expect(at('snapshot status /var/lib/hardway-backup/snapshot.db -w json')).toBeGreaterThan(at('snapshot save'));
    expect(at("'cat /var/lib/hardway-backup/snapshot.db' > etcd/snapshot.db")).toBeGreaterThan(at('snapshot status'));
    expect(at('(umask 077 && tar -czf')).toBeGreaterThan(at('> etcd/snapshot.db'));
  });

  it('restore: the keys first, the steps up to binaries, every member from the snapshot with one new token, then every step', () => {
    const text = explainOperation(cluster, 'restore');
    const members = deriveInventory(spec).nodes.filter((node) => node.roles.includes('etcd'));
    expect(text.indexOf('cp -R restore/pki .')).toBeLessThan(text.indexOf('then the steps infra, pki, kubeconfigs, encryption, hosts, binaries'));
    for (const member of members) {
      expect(text).toContain(`--name=${member.name} --initial-cluster=${members.map((node) => `${node.name}=https://${node.internalIP}:2380`).join(',')} --initial-cluster-token=${spec.name}-etcd-restored-TOKEN`);
    }
    expect(text.trimEnd().endsWith('then every step (hardway up)')).toBe(true);
  });
});
