import { describe, expect, it } from 'vitest';
import { parseEndpointHealth } from '../../src/rebuild/endpoint-health.ts';

describe('parseEndpointHealth', () => {
  it('reads healthy and unhealthy endpoints from stdout and stderr together', () => {
    const stdout = 'https://10.243.77.20:2379 is healthy: successfully committed proposal: took = 6.515255ms\n';
    const stderr = [
      '{"level":"warn","ts":"2026-11-22T03:20:26.629755Z","msg":"retrying of unary invoker failed"}',
      'https://10.243.77.22:2379 is unhealthy: failed to commit proposal: context deadline exceeded',
      'Error: unhealthy cluster',
    ].join('\n');
    const health = parseEndpointHealth(`${stdout}\n${stderr}`);
    expect([...health]).toEqual([
      ['https://10.243.77.20:2379', { healthy: true, detail: 'successfully committed proposal: took = 6.515255ms' }],
      ['https://10.243.77.22:2379', { healthy: false, detail: 'failed to commit proposal: context deadline exceeded' }],
    ]);
  });
});
