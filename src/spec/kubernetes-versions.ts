// What differs between the Kubernetes minors hardway supports, in one table read by the unit and
// config templates (as `it.k8s`) and by `validate`. A template never compares versions itself: a
// flag or an API version that changed between minors is a row here, tested per minor.

/** The supported range, inclusive, by minor. 1.20 is what builds offline here (ENVIRONMENT.md). */
export const SUPPORTED_KUBERNETES = { oldest: '1.20', newest: '1.32' } as const;

/** The version users get when the spec names none: a current upstream release. */
export const DEFAULT_KUBERNETES_VERSION = '1.32.3';

interface Row {
  /** First minor (inclusive) this row applies to. */
  from: number;
  /** Last minor (inclusive), if the row stops applying. */
  until?: number;
}

/** `KubeSchedulerConfiguration` API versions: 1.20-1.21 need v1beta1, v1 exists from 1.25. */
const SCHEDULER_CONFIG_API: (Row & { apiVersion: string })[] = [
  { from: 20, until: 21, apiVersion: 'kubescheduler.config.k8s.io/v1beta1' },
  { from: 22, until: 24, apiVersion: 'kubescheduler.config.k8s.io/v1beta2' },
  { from: 25, apiVersion: 'kubescheduler.config.k8s.io/v1' },
];

/**
 * Flags per component that exist only in some minors. Before 1.23 kube-controller-manager and
 * kube-scheduler also serve plain, unauthenticated HTTP on every address (--port 10252/10251)
 * unless told `--port=0`; the flag is gone in later releases.
 */
const EXTRA_FLAGS: (Row & { component: Component; flags: string[] })[] = [
  { from: 20, until: 22, component: 'kube-controller-manager', flags: ['--port=0'] },
  { from: 20, until: 22, component: 'kube-scheduler', flags: ['--port=0'] },
  // dockershim went in 1.24: before it the kubelet must be told to use a CRI runtime and CNI.
  { from: 20, until: 23, component: 'kubelet', flags: ['--container-runtime=remote', '--network-plugin=cni'] },
];

export type Component = 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubelet';

/** What templates read as `it.k8s`. */
export interface KubernetesFeatures {
  version: string;
  minor: number;
  schedulerConfigAPI: string;
  /** Version-specific flags per component, already formatted (`--port=0`). */
  flags: Record<Component, string[]>;
}

/** `1.20.2` -> 20; undefined when not a 1.x.y version. */
export function kubernetesMinor(version: string): number | undefined {
  const match = /^1\.(\d+)\.\d+$/.exec(version);
  return match ? Number(match[1]) : undefined;
}

/** Why: `validate` refuses what the table does not cover, naming the range. */
export function unsupportedKubernetesVersion(version: string): string | undefined {
  const minor = kubernetesMinor(version);
  const oldest = Number(SUPPORTED_KUBERNETES.oldest.split('.')[1]);
  const newest = Number(SUPPORTED_KUBERNETES.newest.split('.')[1]);
  if (minor !== undefined && minor >= oldest && minor <= newest) return undefined;
  return `Kubernetes ${version} is not supported: hardway supports ${SUPPORTED_KUBERNETES.oldest}.x to ${SUPPORTED_KUBERNETES.newest}.x`;
}

const applies = (row: Row, minor: number) => minor >= row.from && (row.until === undefined || minor <= row.until);

/** Why: the one lookup templates use; throws on a version validate would have refused. */
export function kubernetesFeatures(version: string): KubernetesFeatures {
  const problem = unsupportedKubernetesVersion(version);
  if (problem) throw new RangeError(problem);
  const minor = kubernetesMinor(version)!;
  const schedulerConfigAPI = SCHEDULER_CONFIG_API.find((row) => applies(row, minor))!.apiVersion;
  const flags: Record<Component, string[]> = { 'kube-apiserver': [], 'kube-controller-manager': [], 'kube-scheduler': [], kubelet: [] };
  for (const row of EXTRA_FLAGS) if (applies(row, minor)) flags[row.component].push(...row.flags);
  return { version, minor, schedulerConfigAPI, flags };
}
