// Kubernetes' version-skew policy and etcd's upgrade rules, applied to a change of `versions` in
// the spec: the control plane moves one minor at a time and never back, etcd never goes back a
// minor (its data format moves forward only). The versions a cluster runs are recorded after each
// successful run that installed the binaries everywhere (`operations.deployedVersions`).

export interface DeployedVersions {
  kubernetes: string;
  etcd: string;
}

function minorOf(version: string): [number, number] | undefined {
  const match = /^v?(\d+)\.(\d+)/.exec(version.trim());
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/** Why: a refused upgrade says so before anything changes, with what to do instead. */
export function versionSkewProblems(deployed: DeployedVersions | undefined, wanted: DeployedVersions): string[] {
  if (!deployed) return [];
  const problems: string[] = [];
  const [fromK8s, toK8s] = [minorOf(deployed.kubernetes), minorOf(wanted.kubernetes)];
  if (fromK8s && toK8s) {
    const steps = (toK8s[0] - fromK8s[0]) * 1000 + (toK8s[1] - fromK8s[1]);
    if (steps > 1) {
      problems.push(
        `versions.kubernetes: ${deployed.kubernetes} -> ${wanted.kubernetes} skips ${steps - 1} minor version${steps > 2 ? 's' : ''}; Kubernetes upgrades the control plane one minor at a time (${deployed.kubernetes} -> ${fromK8s[0]}.${fromK8s[1] + 1}.x first)`,
      );
    }
    if (steps < 0) problems.push(`versions.kubernetes: ${deployed.kubernetes} -> ${wanted.kubernetes} is a downgrade of the control plane, which Kubernetes does not support; restore a backup taken before the upgrade instead`);
  }
  const [fromEtcd, toEtcd] = [minorOf(deployed.etcd), minorOf(wanted.etcd)];
  if (fromEtcd && toEtcd && (toEtcd[0] < fromEtcd[0] || (toEtcd[0] === fromEtcd[0] && toEtcd[1] < fromEtcd[1]))) {
    problems.push(`versions.etcd: ${deployed.etcd} -> ${wanted.etcd} is a downgrade; etcd's data moves forward only (restore a snapshot taken before the upgrade instead)`);
  }
  return problems;
}
