import { describe, expect, it } from 'vitest';
import { conditionUnmet, describeCondition } from '../../src/engine/when.ts';

const run = (provider: 'lab' | 'aws' | 'static', roles: string[][]) => ({ spec: { provider, loadBalancer: { port: 6443 } }, inventory: { nodes: roles.map((nodeRoles, index) => ({ name: `n${index}`, roles: nodeRoles })) as never } });

describe('when: on a task', () => {
  it('holds with no condition, and for a listed provider', () => {
    expect(conditionUnmet(undefined, run('lab', []))).toBeUndefined();
    expect(conditionUnmet({ provider: ['aws', 'static'] }, run('static', []))).toBeUndefined();
  });

  it('says why not for another provider', () => {
    expect(conditionUnmet({ provider: ['aws', 'static'] }, run('lab', []))).toBe('only with provider aws or static (this is lab)');
  });

  it('exists: worker holds only when a worker exists', () => {
    expect(conditionUnmet({ exists: 'worker' }, run('lab', [['controller'], ['etcd']]))).toBe('only when the cluster has a worker node');
    expect(conditionUnmet({ exists: 'worker' }, run('lab', [['controller'], ['worker']]))).toBeUndefined();
  });

  it('explain names both parts', () => {
    expect(describeCondition({ provider: 'aws', exists: 'worker' })).toBe('provider aws and a worker node');
  });
  it('holds for the cluster\'s kind of load balancer only', () => {
    expect(conditionUnmet({ loadBalancer: 'nlb' }, run('aws', []))).toBeUndefined();
    expect(conditionUnmet({ loadBalancer: 'haproxy' }, run('aws', []))).toBe('only with load balancer haproxy (this cluster has nlb)');
    expect(conditionUnmet({ loadBalancer: 'nlb' }, run('lab', []))).toBe('only with load balancer nlb (this cluster has haproxy)');
    expect(describeCondition({ loadBalancer: 'nlb' })).toBe('load balancer nlb');
  });
});
