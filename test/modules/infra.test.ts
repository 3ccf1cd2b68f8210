// The infra step's check in a dry run: the provider's typed plan as the task's result, counted by
// what ensure would do with each resource, never by reading the printed line.
import { describe, expect, it } from 'vitest';
import { summarizePlan } from '../../src/modules/infra.ts';

describe('summarizePlan', () => {
  it('counts a found security group whose rules ensure changes as a change, and marks it in the diff', () => {
    const result = summarizePlan([
      { action: 'found', text: 'found vpc vpc-1' },
      { action: 'change', text: 'found security-group sg-1 (sg-nodes)', details: ['allow tcp/6443 from 10.0.0.0/8'] },
    ]);
    expect(result).toEqual({
      changed: true,
      reason: '1 to create or change: found security-group sg-1 (sg-nodes)   allow tcp/6443 from 10.0.0.0/8',
      diff: '  found vpc vpc-1\n+ found security-group sg-1 (sg-nodes)\n+   allow tcp/6443 from 10.0.0.0/8',
    });
  });

  it('says what only the user can make, and finds all when everything is there', () => {
    const missing = summarizePlan([{ action: 'missing', text: 'missing ssh key /keys/k: create it first' }, { action: 'found', text: 'found vpc vpc-1' }]);
    expect(missing).toMatchObject({ changed: true, reason: 'missing ssh key /keys/k: create it first', diff: '! missing ssh key /keys/k: create it first\n  found vpc vpc-1' });
    expect(summarizePlan([{ action: 'create', text: 'create node etcd-0 (10.240.0.20)' }])).toMatchObject({ changed: true, reason: '1 to create: create node etcd-0 (10.240.0.20)' });
    expect(summarizePlan([{ action: 'found', text: 'found node etcd-0', existingNode: 'etcd-0' }])).toEqual({ changed: false, reason: 'found all: 1 resources' });
  });
});
