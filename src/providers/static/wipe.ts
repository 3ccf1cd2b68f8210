// Exactly what hardway installs on a node, so `destroy --wipe` (and `rebuild --wipe`) remove that
// and nothing else.

export const HARDWAY_UNITS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];
export const HARDWAY_BINARIES = ['etcd', 'etcdctl', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((name) => `/usr/local/bin/${name}`);
export const HARDWAY_DIRECTORIES = ['/etc/etcd', '/var/lib/etcd', '/etc/kubernetes', '/var/lib/kubernetes', '/var/log/kubernetes'];

/** Why: one shell line a person can read in the transcript and run by hand. */
export const WIPE_COMMAND = [
  `systemctl disable --now ${HARDWAY_UNITS.map((unit) => `${unit}.service`).join(' ')} 2>/dev/null || true`,
  `rm -f ${HARDWAY_UNITS.map((unit) => `/etc/systemd/system/${unit}.service`).join(' ')}`,
  `rm -f ${HARDWAY_BINARIES.join(' ')}`,
  `rm -rf ${HARDWAY_DIRECTORIES.join(' ')}`,
  'systemctl daemon-reload',
].join(' && ');
