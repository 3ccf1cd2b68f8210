// What a drain moves and how it asks: the pods a worker's drain evicts, the Eviction API version
// its API server knows, and when the drain and uncordon tasks have something to do (fixtures of
// what the API answers). The drain itself runs against a real cluster in test/e2e/lab-workers.test.ts.
import { describe, expect, it } from 'vitest';
import { decideDrain, decideUncordon, evictionApiVersion, podsToMove, unschedulablePatch } from '../../src/modules/drain.ts';

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

  it('cordons and uncordons with a merge patch of spec.unschedulable alone, so a kubelet updating its Node meanwhile is no conflict', () => {
    // A PUT of the whole Node read before would carry its resourceVersion and get HTTP 409 when the
    // restarted kubelet wrote its status in between (seen in CI under load).
    expect(unschedulablePatch(true)).toEqual({ method: 'PATCH', contentType: 'application/merge-patch+json', json: { spec: { unschedulable: true } } });
    expect(unschedulablePatch(false)).toEqual({ method: 'PATCH', contentType: 'application/merge-patch+json', json: { spec: { unschedulable: null } } });
    expect(JSON.stringify(unschedulablePatch(false).json)).not.toContain('resourceVersion');
  });
});

describe('the drain and uncordon tasks', () => {
  const web = { namespace: 'default', name: 'web-1' };

  it('drain: a schedulable worker is cordoned and drained; a cordoned one with pods left is drained; cordoned and empty is done', () => {
    expect(decideDrain('worker-1', { registered: true, unschedulable: false, movable: [web] })).toEqual({ changed: true, reason: 'cordon and evict 1 pod from worker-1' });
    expect(decideDrain('worker-1', { registered: true, unschedulable: false, movable: [] })).toEqual({ changed: true, reason: 'cordon and evict 0 pods from worker-1' });
    expect(decideDrain('worker-1', { registered: true, unschedulable: true, movable: [web, web] })).toEqual({ changed: true, reason: 'evict 2 pods from worker-1' });
    expect(decideDrain('worker-1', { registered: true, unschedulable: true, movable: [] })).toMatchObject({ changed: false });
  });

  it('a worker the API does not know yet (its first build) has nothing to drain or uncordon', () => {
    expect(decideDrain('worker-2', { registered: false, unschedulable: false, movable: [] })).toMatchObject({ changed: false, reason: 'worker-2 is not registered with the API server: nothing to drain' });
    expect(decideUncordon('worker-2', { registered: false, unschedulable: false, movable: [] })).toMatchObject({ changed: false });
  });

  it('uncordon: only a cordoned worker changes', () => {
    expect(decideUncordon('worker-1', { registered: true, unschedulable: true, movable: [] })).toEqual({ changed: true, reason: 'uncordon worker-1' });
    expect(decideUncordon('worker-1', { registered: true, unschedulable: false, movable: [web] })).toEqual({ changed: false, reason: 'worker-1 is schedulable' });
  });
});
