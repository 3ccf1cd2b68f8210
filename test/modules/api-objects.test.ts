import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { differingFields, parseManifest } from '../../src/modules/api-objects.ts';

const manifest = await readFile(new URL('../../units/apiserver-to-kubelet.yaml', import.meta.url), 'utf8');

describe('api-objects: the kubelet RBAC manifest', () => {
  it('parses into a ClusterRole and a ClusterRoleBinding with their API paths', () => {
    expect(parseManifest(manifest, 'units/apiserver-to-kubelet.yaml').map((item) => [item.kind, item.path])).toEqual([
      ['ClusterRole', '/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Akube-apiserver-to-kubelet'],
      ['ClusterRoleBinding', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system%3Akube-apiserver'],
    ]);
  });

  it('a kind hardway does not write is an error naming the file', () => {
    expect(() => parseManifest('apiVersion: v1\nkind: Pod\nmetadata: { name: x }\n', 'units/x.yaml')).toThrow(/units\/x\.yaml: v1 Pod is not a kind hardway writes/);
  });

  it('what the API server adds is not a difference; a changed rule or label is', () => {
    const [role] = parseManifest(manifest, 'm');
    const stored: Record<string, any> = { ...structuredClone(role!.object), metadata: { ...role!.object.metadata, uid: 'u', resourceVersion: '7', creationTimestamp: 'now' } };
    expect(differingFields(role!.object, stored)).toEqual([]);
    stored.rules[0].verbs = ['get'];
    stored.metadata.labels = {};
    expect(differingFields(role!.object, stored)).toEqual(['rules', 'metadata.labels.kubernetes.io/bootstrapping']);
  });
});
