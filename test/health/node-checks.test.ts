import { describe, expect, it } from 'vitest';
import { judgeNode } from '../../src/health/node-checks.ts';

describe('a worker as the API server sees it', () => {
  it('Ready True is ok and names the kubelet version', () => {
    expect(judgeNode({ status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.20.2' } } })).toEqual({ ok: true, detail: 'Ready (kubelet v1.20.2)' });
  });

  it('not Ready gives the reason and message', () => {
    expect(judgeNode({ status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'network plugin is not ready: cni config uninitialized' }] } })).toEqual({
      ok: false,
      detail: 'not Ready: KubeletNotReady: network plugin is not ready: cni config uninitialized',
    });
  });

  it('a node that never registered says so', () => {
    expect(judgeNode(undefined)).toEqual({ ok: false, detail: 'not registered with the API server' });
  });
});
