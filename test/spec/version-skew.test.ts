// The version-skew rules a change of `versions` must pass before anything is installed.
import { describe, expect, it } from 'vitest';
import { versionSkewProblems } from '../../src/spec/version-skew.ts';

const deployed = { kubernetes: '1.20.2', etcd: '3.5.16' };

describe('version skew', () => {
  it('lets a new cluster, a patch and a one-minor upgrade through', () => {
    expect(versionSkewProblems(undefined, { kubernetes: '1.32.3', etcd: '3.4.23' })).toEqual([]);
    expect(versionSkewProblems(deployed, { kubernetes: '1.20.15', etcd: '3.5.17' })).toEqual([]);
    expect(versionSkewProblems(deployed, { kubernetes: '1.21.14', etcd: '3.6.0' })).toEqual([]);
    expect(versionSkewProblems({ kubernetes: '1.20.2', etcd: '3.4.23' }, { kubernetes: '1.20.2', etcd: '3.5.16' })).toEqual([]);
  });

  it('refuses skipping a control-plane minor, a control-plane downgrade and an etcd downgrade, saying what to do', () => {
    expect(versionSkewProblems(deployed, { kubernetes: '1.22.0', etcd: '3.5.16' })).toEqual([
      'versions.kubernetes: 1.20.2 -> 1.22.0 skips 1 minor version; Kubernetes upgrades the control plane one minor at a time (1.20.2 -> 1.21.x first)',
    ]);
    expect(versionSkewProblems(deployed, { kubernetes: '1.19.16', etcd: '3.4.23' })).toEqual([
      'versions.kubernetes: 1.20.2 -> 1.19.16 is a downgrade of the control plane, which Kubernetes does not support; restore a backup taken before the upgrade instead',
      "versions.etcd: 3.5.16 -> 3.4.23 is a downgrade; etcd's data moves forward only (restore a snapshot taken before the upgrade instead)",
    ]);
  });
});
