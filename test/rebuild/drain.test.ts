// What a drain moves and how it asks: the pods a worker's drain evicts, and the Eviction API
// version its API server knows. The drain itself runs against a real cluster in test/e2e/lab-workers.test.ts.
import { describe, expect, it } from 'vitest';
import { evictionApiVersion, podsToMove } from '../../src/rebuild/drain.ts';

describe('drain', () => {
  it('moves controller-owned and bare pods, leaves DaemonSet pods and static pods (mirrors) where they are', () => {
    const pods = [
      { metadata: { namespace: 'default', name: 'web-1', ownerReferences: [{ kind: 'ReplicaSet' }] } },
      { metadata: { namespace: 'default', name: 'bare' } },
      { metadata: { namespace: 'kube-system', name: 'proxy-x', ownerReferences: [{ kind: 'DaemonSet' }] } },
      { metadata: { namespace: 'kube-system', name: 'static-worker-1', annotations: { 'kubernetes.io/config.mirror': 'abc' } } },
    ];
    expect(podsToMove(pods)).toEqual([
      { namespace: 'default', name: 'web-1' },
      { namespace: 'default', name: 'bare' },
    ]);
  });

  it('asks for evictions in the API version the cluster serves (policy/v1 from 1.22)', () => {
    expect(evictionApiVersion('1.20.2')).toBe('policy/v1beta1');
    expect(evictionApiVersion('1.21.14')).toBe('policy/v1beta1');
    expect(evictionApiVersion('1.22.0')).toBe('policy/v1');
    expect(evictionApiVersion('1.32.3')).toBe('policy/v1');
  });
});
