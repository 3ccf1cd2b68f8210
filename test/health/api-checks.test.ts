// Reading leader Leases: who holds one, and whether a holder still renews it (a stopped
// controller-manager leaves a lease that looks held but has lapsed).
import { describe, expect, it } from 'vitest';
import { judgeLease, leaseHolderNode } from '../../src/health/api-checks.ts';

const now = new Date('2026-12-01T12:00:00Z');
const lease = (holderIdentity: string | undefined, renewTime: string | undefined, leaseDurationSeconds = 15) => ({ spec: { holderIdentity, renewTime, leaseDurationSeconds } });

describe('leader leases', () => {
  it('takes the node name from leader election\'s hostname_uuid identity', () => {
    expect(leaseHolderNode('controller-0_5f1c2d3e-0000-4000-8000-000000000000')).toBe('controller-0');
    expect(leaseHolderNode('my_host_5f1c')).toBe('my_host');
    expect(leaseHolderNode(undefined)).toBeUndefined();
  });

  it('accepts a lease held by a controller and renewed recently', () => {
    expect(judgeLease(lease('controller-1_abc', '2026-12-01T11:59:58.000000Z'), ['controller-0', 'controller-1'], now)).toEqual({ ok: true, detail: 'leader controller-1' });
  });

  it('refuses a lease nobody holds, one held by a stranger, and one that lapsed', () => {
    expect(judgeLease(lease(undefined, undefined), ['controller-0'], now)).toEqual({ ok: false, detail: 'no holder' });
    expect(judgeLease(lease('laptop_abc', '2026-12-01T11:59:58Z'), ['controller-0'], now)).toEqual({ ok: false, detail: 'held by laptop, which is not a controller of this cluster' });
    expect(judgeLease(lease('controller-0_abc', '2026-12-01T11:58:00Z'), ['controller-0'], now)).toEqual({ ok: false, detail: 'held by controller-0 but not renewed for 120s' });
    expect(judgeLease(lease('controller-0_abc', undefined), ['controller-0'], now)).toEqual({ ok: false, detail: 'held by controller-0 but never renewed' });
  });
});
