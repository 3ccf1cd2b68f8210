// The one table of what differs between Kubernetes minors: every supported minor gets a scheduler
// config API its kube-scheduler accepts and the flags its components need; validate refuses the rest.
import { describe, expect, it } from 'vitest';
import { DEFAULT_KUBERNETES_VERSION, kubernetesFeatures, SUPPORTED_KUBERNETES, unsupportedKubernetesVersion } from '../../src/spec/kubernetes-versions.ts';

describe('kubernetesFeatures', () => {
  it('gives 1.20 the v1beta1 scheduler config and turns off the insecure ports', () => {
    const features = kubernetesFeatures('1.20.2');
    expect(features.schedulerConfigAPI).toBe('kubescheduler.config.k8s.io/v1beta1');
    expect(features.flags['kube-scheduler']).toEqual(['--port=0']);
    expect(features.flags['kube-controller-manager']).toEqual(['--port=0']);
  });

  it('gives 1.25 and later the v1 scheduler config and no removed flags', () => {
    for (const version of ['1.25.0', '1.32.3']) {
      const features = kubernetesFeatures(version);
      expect(features.schedulerConfigAPI).toBe('kubescheduler.config.k8s.io/v1');
      expect(Object.values(features.flags).flat()).toEqual([]);
    }
  });

  it('covers every minor of the supported range, in order, with no gap', () => {
    const oldest = Number(SUPPORTED_KUBERNETES.oldest.split('.')[1]);
    const newest = Number(SUPPORTED_KUBERNETES.newest.split('.')[1]);
    const apis: string[] = [];
    for (let minor = oldest; minor <= newest; minor++) apis.push(kubernetesFeatures(`1.${minor}.0`).schedulerConfigAPI);
    expect(apis[0]).toContain('v1beta1');
    expect(apis.at(-1)).toBe('kubescheduler.config.k8s.io/v1');
    expect(kubernetesFeatures(DEFAULT_KUBERNETES_VERSION).version).toBe(DEFAULT_KUBERNETES_VERSION);
  });

  it('refuses versions outside the range, naming the range', () => {
    expect(unsupportedKubernetesVersion('1.19.16')).toBe('Kubernetes 1.19.16 is not supported: hardway supports 1.20.x to 1.32.x');
    expect(unsupportedKubernetesVersion('1.33.0')).toContain('supports 1.20.x to 1.32.x');
    expect(unsupportedKubernetesVersion('2.0.0')).toContain('not supported');
    expect(unsupportedKubernetesVersion('1.20.2')).toBeUndefined();
    expect(() => kubernetesFeatures('1.18.0')).toThrow('hardway supports 1.20.x to 1.32.x');
  });
});
